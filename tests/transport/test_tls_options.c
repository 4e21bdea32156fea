/* Tests of the client's TLS and proxy options, all on 127.0.0.1:
 * - mutual TLS against https_server.py started with --client-ca, which
 *   requires a client certificate signed by tests/data/tls/client-ca.pem;
 * - ca_path against https_server.py without a client certificate check;
 * - proxy_url with proxy credentials through proxy_server.py, a forward proxy
 *   that requires Basic proxy authentication, in front of the emulator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emulator.h"
#include "hwai/hwai.h"

#define PROXY_USER "hwai-proxy-user"
#define PROXY_PASSWORD "proxy-password-never-printed"
#define WRONG_PROXY_PASSWORD "wrong-proxy-password-never-printed"
/* The proxy reads its expected password from this variable, so the password
 * never appears in a process listing. */
#define PROXY_PASSWORD_VARIABLE "HWAI_TEST_PROXY_PASSWORD"

/* A helper server run as a child process. */
typedef struct helper_server {
    pid_t pid;
    int port;
} helper_server;

typedef struct servers {
    helper_server https;
    helper_server mutual_tls;
    helper_server proxy;
    test_emulator emulator;
    char tls_dir[512];
} servers;

static servers all;

static const char *env_or(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

static void stop_helper(helper_server *server)
{
    if (server->pid > 0) {
        kill(server->pid, SIGTERM);
        waitpid(server->pid, NULL, 0);
        server->pid = 0;
    }
}

/* Runs `$HWAI_PYTHON script args...` and reads the port from its first
 * stdout line, "listening on <scheme>://127.0.0.1:PORT". */
static bool
start_helper(helper_server *server, const char *script, const char *scheme, const char *const *args)
{
    memset(server, 0, sizeof(*server));
    const char *python = env_or("HWAI_PYTHON", "python3");
    const char *argv[16] = { python, script };
    size_t argc = 2;
    for (size_t i = 0; args[i] && argc < 15; i++) {
        argv[argc++] = args[i];
    }
    argv[argc] = NULL;
    int out[2];
    if (pipe(out) != 0) {
        return false;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(out[0]);
        close(out[1]);
        return false;
    }
    if (pid == 0) {
        /* The server must not outlive a test program that crashes. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    server->pid = pid;
    FILE *stream = fdopen(out[0], "r");
    char line[256] = { 0 };
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "listening on %s://127.0.0.1:", scheme);
    size_t prefix_len = strlen(prefix);
    bool ok = stream && fgets(line, sizeof(line), stream) && strncmp(line, prefix, prefix_len) == 0;
    if (ok) {
        server->port = atoi(line + prefix_len);
        ok = server->port > 0;
    }
    if (stream) {
        fclose(stream);
    } else {
        close(out[0]);
    }
    if (!ok) {
        fprintf(stderr, "%s did not start (first line: '%s')\n", script, line);
        stop_helper(server);
    }
    return ok;
}

static void tls_file(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", all.tls_dir, name);
}

static int start_servers(void **state)
{
    (void)state;
    snprintf(
        all.tls_dir, sizeof(all.tls_dir), "%s/tls", env_or("HWAI_TEST_DATA_DIR", "tests/data"));
    const char *https_script = env_or("HWAI_HTTPS_SERVER", "tests/transport/https_server.py");
    const char *proxy_script = env_or("HWAI_PROXY_SERVER", "tests/transport/proxy_server.py");
    char client_ca[600];
    tls_file(client_ca, sizeof(client_ca), "client-ca.pem");

    const char *const https_args[] = { "--port", "0", "--tls-dir", all.tls_dir, NULL };
    const char *const mutual_args[] = {
        "--port", "0", "--tls-dir", all.tls_dir, "--client-ca", client_ca, NULL,
    };
    const char *const proxy_args[] = {
        "--port", "0", "--user", PROXY_USER, "--password-env", PROXY_PASSWORD_VARIABLE, NULL,
    };
    /* The proxy inherits the variable; the test itself never reads it. */
    if (setenv(PROXY_PASSWORD_VARIABLE, PROXY_PASSWORD, 1) != 0) {
        return -1;
    }
    bool ok = start_helper(&all.https, https_script, "https", https_args) &&
              start_helper(&all.mutual_tls, https_script, "https", mutual_args) &&
              start_helper(&all.proxy, proxy_script, "http", proxy_args) &&
              test_emulator_start(&all.emulator, NULL);
    unsetenv(PROXY_PASSWORD_VARIABLE);
    return ok ? 0 : -1;
}

static int stop_servers(void **state)
{
    (void)state;
    stop_helper(&all.https);
    stop_helper(&all.mutual_tls);
    stop_helper(&all.proxy);
    test_emulator_stop(&all.emulator);
    return 0;
}

/* ---- clients and calls ---- */

/* Every log line, to check that no proxy password is logged. */
static char log_text[64 * 1024];
static size_t log_len;

static void collect_log(hwai_log_level level, const char *message, void *user_data)
{
    (void)level;
    (void)user_data;
    int written = snprintf(log_text + log_len, sizeof(log_text) - log_len, "%s\n", message);
    if (written > 0 && (size_t)written < sizeof(log_text) - log_len) {
        log_len += (size_t)written;
    } else {
        log_text[log_len] = '\0';
    }
}

/* Options with AK/SK credentials, the emulator's project id, one attempt per
 * call and the log collected; the caller sets the endpoint and what it tests. */
static hwai_client_options base_options(hwai_credentials *creds, const hwai_retry_policy *retry)
{
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.project_id = EMU_PROJECT_ID;
    opts.credentials = creds;
    opts.timeout_ms = 10000;
    opts.retry = retry;
    opts.log_cb = collect_log;
    opts.log_level = HWAI_LOG_DEBUG;
    return opts;
}

static hwai_credentials *emulator_credentials(void)
{
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, EMU_AK, EMU_SK, NULL, NULL), HWAI_OK);
    return creds;
}

static const hwai_retry_policy single_attempt = { HWAI_RETRY_POLICY_VERSION, 1, 0, 0 };

static hwai_client *new_client(const hwai_client_options *opts)
{
    hwai_client *client = NULL;
    hwai_error *err = NULL;
    hwai_status status = hwai_client_new(&client, opts, &err);
    if (status != HWAI_OK) {
        fail_msg("hwai_client_new failed with status %d: %s", (int)status, hwai_error_message(err));
    }
    return client;
}

/* Sends one sentiment request. https_server.py and the emulator both return
 * label 1 for it. */
static hwai_status call_sentiment(hwai_client *client, hwai_error **err)
{
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = "I love this good product";
    req.lang = "en";
    hwai_sentiment_result *result = NULL;
    hwai_status status = hwai_nlp_sentiment(&result, client, &req, err);
    if (status == HWAI_OK) {
        assert_int_equal(result->label, 1);
    }
    hwai_sentiment_result_free(result);
    return status;
}

static void endpoint_of(const helper_server *server, const char *scheme, char *out, size_t size)
{
    snprintf(out, size, "%s://127.0.0.1:%d", scheme, server->port);
}

/* ---- mutual TLS ---- */

/* A client of the mutual TLS server that trusts the test CA and presents the
 * given certificate and key, either of which may be NULL. */
static hwai_client *mutual_tls_client(const char *cert_name, const char *key_name)
{
    char endpoint[96];
    char ca_file[600];
    char cert[600];
    char key[600];
    endpoint_of(&all.mutual_tls, "https", endpoint, sizeof(endpoint));
    tls_file(ca_file, sizeof(ca_file), "ca.pem");
    tls_file(cert, sizeof(cert), cert_name ? cert_name : "");
    tls_file(key, sizeof(key), key_name ? key_name : "");
    hwai_credentials *creds = emulator_credentials();
    hwai_client_options opts = base_options(creds, &single_attempt);
    opts.endpoint = endpoint;
    opts.ca_file = ca_file;
    opts.client_cert_file = cert_name ? cert : NULL;
    opts.client_key_file = key_name ? key : NULL;
    hwai_client *client = new_client(&opts);
    hwai_credentials_free(creds);
    return client;
}

/* With the client certificate and its key, calls succeed, twice on one
 * client so the second one reuses the connection or the TLS session. */
static void test_mutual_tls_with_certificate(void **state)
{
    (void)state;
    hwai_client *client = mutual_tls_client("client.pem", "client.key");
    for (int call = 0; call < 2; call++) {
        hwai_error *err = NULL;
        hwai_status status = call_sentiment(client, &err);
        if (status != HWAI_OK) {
            fail_msg(
                "call %d failed with status %d: %s", call, (int)status, hwai_error_message(err));
        }
        assert_null(err);
    }
    hwai_client_free(client);
}

typedef struct rejected_pair {
    const char *name;
    const char *cert;
    const char *key;
} rejected_pair;

/* Each fails with HWAI_E_TLS or HWAI_E_TRANSPORT and no HTTP status. With
 * TLS 1.3 the client finishes its side of the handshake before the server
 * checks the certificate, so the server's alert can arrive as a failed read.
 * Variants:
 * - no client certificate;
 * - a certificate signed by a CA that the server does not trust for clients
 *   (the server certificate and its key);
 * - the client certificate with a key that does not belong to it. */
static void test_mutual_tls_rejected_pairs(void **state)
{
    (void)state;
    const rejected_pair pairs[] = {
        { "no certificate", NULL, NULL },
        { "certificate from an untrusted CA", "server.pem", "server.key" },
        { "key of another certificate", "client.pem", "server.key" },
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        hwai_client *client = mutual_tls_client(pairs[i].cert, pairs[i].key);
        hwai_error *err = NULL;
        hwai_status status = call_sentiment(client, &err);
        if (status != HWAI_E_TLS && status != HWAI_E_TRANSPORT) {
            fail_msg(
                "%s: status %d, expected HWAI_E_TLS or HWAI_E_TRANSPORT: %s", pairs[i].name,
                (int)status, hwai_error_message(err));
        }
        print_message(
            "%s: %s (%s)\n", pairs[i].name, hwai_status_str(status), hwai_error_message(err));
        assert_int_equal(hwai_error_http_status(err), 0);
        assert_int_equal(hwai_error_attempts(err), 1);
        hwai_error_free(err);
        hwai_client_free(client);
    }
}

typedef struct invalid_pair_case {
    const char *name;
    const char *cert;
    const char *key;
    /* Texts the message must contain. */
    const char *expected_parts[2];
} invalid_pair_case;

/* Each is HWAI_E_INVALID_ARG from hwai_client_new. Variants:
 * - client_cert_file without client_key_file;
 * - client_key_file without client_cert_file;
 * - a client_cert_file that does not exist (the message names the path). */
static void test_mutual_tls_invalid_options(void **state)
{
    (void)state;
    char cert[600];
    char key[600];
    char missing[600];
    tls_file(cert, sizeof(cert), "client.pem");
    tls_file(key, sizeof(key), "client.key");
    tls_file(missing, sizeof(missing), "missing-client.pem");
    const invalid_pair_case cases[] = {
        { "certificate only", cert, NULL, { "client_cert_file", "client_key_file" } },
        { "key only", NULL, key, { "client_cert_file", "client_key_file" } },
        { "missing certificate file", missing, key, { "client_cert_file", "missing-client.pem" } },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
        opts.endpoint = "https://127.0.0.1:1";
        opts.client_cert_file = cases[i].cert;
        opts.client_key_file = cases[i].key;
        hwai_client *client = NULL;
        hwai_error *err = NULL;
        hwai_status status = hwai_client_new(&client, &opts, &err);
        if (status != HWAI_E_INVALID_ARG) {
            fail_msg("%s: status %d, expected HWAI_E_INVALID_ARG", cases[i].name, (int)status);
        }
        assert_null(client);
        for (size_t j = 0; j < 2; j++) {
            if (!strstr(hwai_error_message(err), cases[i].expected_parts[j])) {
                fail_msg(
                    "%s: message '%s' lacks '%s'", cases[i].name, hwai_error_message(err),
                    cases[i].expected_parts[j]);
            }
        }
        hwai_error_free(err);
    }
}

/* ---- ca_path ---- */

/* Runs a command with its output discarded; true when it exits with 0. */
static bool run_quietly(const char *const *argv)
{
    pid_t pid = fork();
    if (pid < 0) {
        return false;
    }
    if (pid == 0) {
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) {
            dup2(null_fd, STDOUT_FILENO);
            dup2(null_fd, STDERR_FILENO);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int wait_status = 0;
    if (waitpid(pid, &wait_status, 0) != pid) {
        return false;
    }
    return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

/* Adds the <hash>.0 links that OpenSSL's directory lookup reads, with
 * `openssl rehash`, or else the older c_rehash script. */
static bool rehash_directory(const char *dir)
{
    const char *const openssl[] = { "openssl", "rehash", dir, NULL };
    const char *const c_rehash[] = { "c_rehash", dir, NULL };
    return run_quietly(openssl) || run_quietly(c_rehash);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    FILE *out = fopen(to, "wb");
    assert_non_null(out);
    char buffer[4096];
    size_t count;
    while ((count = fread(buffer, 1, sizeof(buffer), in)) > 0) {
        assert_int_equal(fwrite(buffer, 1, count, out), count);
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/* Removes a directory that contains only files and links. */
static void remove_flat_directory(const char *path)
{
    DIR *dir = opendir(path);
    assert_non_null(dir);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
            continue;
        }
        char child[700];
        snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
        assert_int_equal(unlink(child), 0);
    }
    closedir(dir);
    assert_int_equal(rmdir(path), 0);
}

static void make_temp_dir(char *out, size_t size, const char *name)
{
    const char *tmp = env_or("TMPDIR", "/tmp");
    snprintf(out, size, "%s/%s-XXXXXX", tmp, name);
    assert_non_null(mkdtemp(out));
}

static hwai_status call_with_ca_path(const char *ca_path, hwai_error **err)
{
    char endpoint[96];
    endpoint_of(&all.https, "https", endpoint, sizeof(endpoint));
    hwai_credentials *creds = emulator_credentials();
    hwai_client_options opts = base_options(creds, &single_attempt);
    opts.endpoint = endpoint;
    opts.ca_path = ca_path;
    hwai_client *client = new_client(&opts);
    hwai_credentials_free(creds);
    hwai_status status = call_sentiment(client, err);
    hwai_client_free(client);
    return status;
}

/* Variants:
 * - a directory with the test CA and its hash link: the call succeeds;
 * - the same directory before the hash link is made: HWAI_E_TLS, because
 *   OpenSSL finds CAs in a directory by subject hash only;
 * - an empty directory: HWAI_E_TLS.
 * The test is skipped when neither `openssl rehash` nor c_rehash runs. */
static void test_ca_path_hashed_directory(void **state)
{
    (void)state;
    char empty_dir[512];
    char ca_dir[512];
    char ca_copy[600];
    char ca_file[600];
    make_temp_dir(empty_dir, sizeof(empty_dir), "hwai-ca-empty");
    make_temp_dir(ca_dir, sizeof(ca_dir), "hwai-ca-path");
    tls_file(ca_file, sizeof(ca_file), "ca.pem");
    snprintf(ca_copy, sizeof(ca_copy), "%s/hwai-test-ca.pem", ca_dir);
    copy_file(ca_file, ca_copy);

    hwai_error *err = NULL;
    assert_int_equal(call_with_ca_path(empty_dir, &err), HWAI_E_TLS);
    hwai_error_free(err);
    err = NULL;
    assert_int_equal(call_with_ca_path(ca_dir, &err), HWAI_E_TLS);
    hwai_error_free(err);

    bool rehashed = rehash_directory(ca_dir);
    if (rehashed) {
        err = NULL;
        hwai_status status = call_with_ca_path(ca_dir, &err);
        if (status != HWAI_OK) {
            fail_msg(
                "call with ca_path failed with status %d: %s", (int)status,
                hwai_error_message(err));
        }
    }
    remove_flat_directory(ca_dir);
    remove_flat_directory(empty_dir);
    if (!rehashed) {
        print_message("neither 'openssl rehash' nor c_rehash ran, so the hashed ca_path "
                      "case was not tested\n");
        skip();
    }
}

/* ---- proxy ---- */

/* Reads one counter of proxy_server.py: "forwarded", "rejected" or
 * "requests". */
static long proxy_stat(const char *name)
{
    test_emulator proxy_as_server = { 0 };
    endpoint_of(&all.proxy, "http", proxy_as_server.base_url, sizeof(proxy_as_server.base_url));
    char *body = test_emulator_control(&proxy_as_server, "/_proxy/stats", NULL);
    assert_non_null(body);
    json_t *root = json_loads(body, 0, NULL);
    free(body);
    json_t *value = json_object_get(root, name);
    assert_true(json_is_integer(value));
    long count = (long)json_integer_value(value);
    json_decref(root);
    return count;
}

/* A client of the emulator through proxy_url with the given credentials. */
static hwai_client *proxied_client(const char *proxy_url, const char *user, const char *password)
{
    hwai_credentials *creds = emulator_credentials();
    hwai_client_options opts = base_options(creds, &single_attempt);
    opts.endpoint = all.emulator.base_url;
    opts.proxy_url = proxy_url;
    opts.proxy_username = user;
    opts.proxy_password = password;
    hwai_client *client = new_client(&opts);
    hwai_credentials_free(creds);
    return client;
}

static void assert_log_lacks_proxy_passwords(void)
{
    assert_null(strstr(log_text, PROXY_PASSWORD));
    assert_null(strstr(log_text, WRONG_PROXY_PASSWORD));
}

/* With the right proxy credentials, signed calls pass through the proxy
 * unchanged: the emulator verifies the signature, and the proxy counts each
 * forwarded request. */
static void test_proxy_forwards_signed_calls(void **state)
{
    (void)state;
    assert_true(test_emulator_reset(&all.emulator));
    long forwarded_before = proxy_stat("forwarded");
    char proxy_url[96];
    endpoint_of(&all.proxy, "http", proxy_url, sizeof(proxy_url));
    hwai_client *client = proxied_client(proxy_url, PROXY_USER, PROXY_PASSWORD);
    for (int call = 0; call < 2; call++) {
        hwai_error *err = NULL;
        hwai_status status = call_sentiment(client, &err);
        if (status != HWAI_OK) {
            fail_msg(
                "call %d through the proxy failed with status %d: %s", call, (int)status,
                hwai_error_message(err));
        }
    }
    hwai_client_free(client);
    assert_int_equal(proxy_stat("forwarded"), forwarded_before + 2);
    assert_int_equal(test_emulator_stat(&all.emulator, "by_route.sentiment"), 2);
    assert_int_equal(test_emulator_stat(&all.emulator, "auth_failures"), 0);
    assert_log_lacks_proxy_passwords();
}

typedef struct proxy_credentials_case {
    const char *name;
    const char *user;
    const char *password;
} proxy_credentials_case;

/* Each is HTTP 407 from the proxy, reported as HWAI_E_SERVICE (or a transport
 * error), with no password in the message and nothing forwarded. Variants:
 * - a wrong proxy password;
 * - no proxy credentials at all. */
static void test_proxy_rejects_bad_credentials(void **state)
{
    (void)state;
    const proxy_credentials_case cases[] = {
        { "wrong password", PROXY_USER, WRONG_PROXY_PASSWORD },
        { "no credentials", NULL, NULL },
    };
    assert_true(test_emulator_reset(&all.emulator));
    char proxy_url[96];
    endpoint_of(&all.proxy, "http", proxy_url, sizeof(proxy_url));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long rejected_before = proxy_stat("rejected");
        long forwarded_before = proxy_stat("forwarded");
        hwai_client *client = proxied_client(proxy_url, cases[i].user, cases[i].password);
        hwai_error *err = NULL;
        hwai_status status = call_sentiment(client, &err);
        hwai_client_free(client);
        const char *message = hwai_error_message(err);
        if (status == HWAI_E_SERVICE) {
            assert_int_equal(hwai_error_http_status(err), 407);
        } else if (status != HWAI_E_TRANSPORT) {
            fail_msg(
                "%s: status %d, expected HWAI_E_SERVICE or HWAI_E_TRANSPORT: %s", cases[i].name,
                (int)status, message);
        }
        assert_null(strstr(message, WRONG_PROXY_PASSWORD));
        assert_null(strstr(message, PROXY_PASSWORD));
        hwai_error_free(err);
        assert_int_equal(proxy_stat("rejected"), rejected_before + 1);
        assert_int_equal(proxy_stat("forwarded"), forwarded_before);
    }
    assert_int_equal(test_emulator_stat(&all.emulator, "requests"), 0);
    assert_log_lacks_proxy_passwords();
}

/* Variants of a proxy_url without a scheme, each HWAI_E_INVALID_ARG from
 * hwai_client_new whose message lacks the URL's user and password:
 * - "user:password@127.0.0.1:port";
 * - "127.0.0.1:port". */
static void test_proxy_url_without_scheme(void **state)
{
    (void)state;
    char with_credentials[160];
    char without_credentials[96];
    snprintf(
        with_credentials, sizeof(with_credentials), "%s:%s@127.0.0.1:%d", PROXY_USER,
        PROXY_PASSWORD, all.proxy.port);
    snprintf(without_credentials, sizeof(without_credentials), "127.0.0.1:%d", all.proxy.port);
    const char *urls[] = { with_credentials, without_credentials };
    for (size_t i = 0; i < 2; i++) {
        hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
        opts.endpoint = all.emulator.base_url;
        opts.proxy_url = urls[i];
        hwai_client *client = NULL;
        hwai_error *err = NULL;
        assert_int_equal(hwai_client_new(&client, &opts, &err), HWAI_E_INVALID_ARG);
        assert_null(client);
        const char *message = hwai_error_message(err);
        assert_non_null(strstr(message, "proxy_url"));
        assert_null(strstr(message, PROXY_PASSWORD));
        assert_null(strstr(message, PROXY_USER ":"));
        hwai_error_free(err);
    }
}

/* Returns a loopback port that nothing listens on, found by binding port 0
 * and closing the socket again. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in address = { 0 };
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    socklen_t length = sizeof(address);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &length), 0);
    close(fd);
    return ntohs(address.sin_port);
}

/* Credentials written into proxy_url itself never reach an error message.
 * Variants:
 * - a proxy URL with a password whose port nothing listens on: HWAI_E_CONNECT;
 * - the test proxy with a wrong password in the URL: HTTP 407. */
static void test_proxy_url_credentials_hidden(void **state)
{
    (void)state;
    char unreachable[200];
    char wrong_password[200];
    snprintf(
        unreachable, sizeof(unreachable), "http://%s:%s@127.0.0.1:%d", PROXY_USER, PROXY_PASSWORD,
        closed_port());
    snprintf(
        wrong_password, sizeof(wrong_password), "http://%s:%s@127.0.0.1:%d", PROXY_USER,
        WRONG_PROXY_PASSWORD, all.proxy.port);

    hwai_client *client = proxied_client(unreachable, NULL, NULL);
    hwai_error *err = NULL;
    assert_int_equal(call_sentiment(client, &err), HWAI_E_CONNECT);
    assert_null(strstr(hwai_error_message(err), PROXY_PASSWORD));
    hwai_error_free(err);
    hwai_client_free(client);

    long rejected_before = proxy_stat("rejected");
    client = proxied_client(wrong_password, NULL, NULL);
    err = NULL;
    assert_int_equal(call_sentiment(client, &err), HWAI_E_SERVICE);
    assert_int_equal(hwai_error_http_status(err), 407);
    assert_null(strstr(hwai_error_message(err), WRONG_PROXY_PASSWORD));
    hwai_error_free(err);
    hwai_client_free(client);
    assert_int_equal(proxy_stat("rejected"), rejected_before + 1);
    assert_log_lacks_proxy_passwords();
}

/* Proxy variables in the environment are never used: with http_proxy,
 * HTTP_PROXY and ALL_PROXY naming the test proxy and no proxy_url, the call
 * goes straight to the emulator. */
static void test_proxy_environment_ignored(void **state)
{
    (void)state;
    const char *variables[] = { "http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy" };
    const size_t count = sizeof(variables) / sizeof(variables[0]);
    char proxy_url[96];
    endpoint_of(&all.proxy, "http", proxy_url, sizeof(proxy_url));
    assert_true(test_emulator_reset(&all.emulator));
    long requests_before = proxy_stat("requests");
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(setenv(variables[i], proxy_url, 1), 0);
    }
    hwai_client *client = proxied_client(NULL, NULL, NULL);
    hwai_error *err = NULL;
    hwai_status status = call_sentiment(client, &err);
    hwai_client_free(client);
    for (size_t i = 0; i < count; i++) {
        unsetenv(variables[i]);
    }
    if (status != HWAI_OK) {
        fail_msg("direct call failed with status %d: %s", (int)status, hwai_error_message(err));
    }
    assert_int_equal(proxy_stat("requests"), requests_before);
    assert_int_equal(test_emulator_stat(&all.emulator, "by_route.sentiment"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutual_tls_with_certificate),
        cmocka_unit_test(test_mutual_tls_rejected_pairs),
        cmocka_unit_test(test_mutual_tls_invalid_options),
        cmocka_unit_test(test_ca_path_hashed_directory),
        cmocka_unit_test(test_proxy_forwards_signed_calls),
        cmocka_unit_test(test_proxy_rejects_bad_credentials),
        cmocka_unit_test(test_proxy_url_without_scheme),
        cmocka_unit_test(test_proxy_url_credentials_hidden),
        cmocka_unit_test(test_proxy_environment_ignored),
    };
    return cmocka_run_group_tests(tests, start_servers, stop_servers);
}
