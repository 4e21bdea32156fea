/* Tests of certificate verification against https_server.py, an HTTPS server
 * on 127.0.0.1 that presents the test certificate from tests/data/tls/. That
 * certificate is signed by a test CA that no system trust store contains. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hwai/hwai.h"

/* Made-up credentials: the server checks no signature. */
#define TEST_AK "TLSTESTAK00000000001"
#define TEST_SK "tls-test-sk-0123456789abcdef"
#define TEST_PROJECT_ID "0123456789abcdef0123456789abcdef"

typedef struct https_server {
    pid_t pid;
    int port;
    char ca_file[512];
} https_server;

static const char *env_or(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

static void stop_server(https_server *srv)
{
    if (srv->pid > 0) {
        kill(srv->pid, SIGTERM);
        waitpid(srv->pid, NULL, 0);
        srv->pid = 0;
    }
}

/* Runs `$HWAI_PYTHON $HWAI_HTTPS_SERVER --port 0 --tls-dir <data>/tls` and reads
 * the port from its "listening on" line. */
static bool start_server(https_server *srv)
{
    memset(srv, 0, sizeof(srv[0]));
    const char *python = env_or("HWAI_PYTHON", "python3");
    const char *script = env_or("HWAI_HTTPS_SERVER", "tests/transport/https_server.py");
    const char *data_dir = env_or("HWAI_TEST_DATA_DIR", "tests/data");
    char tls_dir[512];
    snprintf(tls_dir, sizeof(tls_dir), "%s/tls", data_dir);
    snprintf(srv->ca_file, sizeof(srv->ca_file), "%s/tls/ca.pem", data_dir);

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
        execlp(python, python, script, "--port", "0", "--tls-dir", tls_dir, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    srv->pid = pid;
    FILE *stream = fdopen(out[0], "r");
    char line[256] = { 0 };
    bool ok = stream && fgets(line, sizeof(line), stream) &&
              sscanf(line, "listening on https://127.0.0.1:%d", &srv->port) == 1;
    if (stream) {
        fclose(stream);
    } else {
        close(out[0]);
    }
    if (!ok) {
        fprintf(stderr, "%s did not start (first line: '%s')\n", script, line);
        stop_server(srv);
    }
    return ok;
}

/* Counts what the client logged. */
typedef struct log_counts {
    int warnings;
    int verification_warnings;
    int lines_with_secret;
} log_counts;

static void count_log_line(hwai_log_level level, const char *message, void *user_data)
{
    log_counts *counts = user_data;
    if (level == HWAI_LOG_WARN) {
        counts->warnings++;
        counts->verification_warnings += strstr(message, "verification is OFF") != NULL;
    }
    counts->lines_with_secret += strstr(message, TEST_SK) != NULL;
}

typedef struct tls_setup {
    const char *ca_file;
    int insecure_skip_tls_verify;
    log_counts *log;
} tls_setup;

static hwai_client *new_client(const char *endpoint, const tls_setup *setup)
{
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, TEST_AK, TEST_SK, NULL, NULL), HWAI_OK);
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = endpoint;
    opts.project_id = TEST_PROJECT_ID;
    opts.credentials = creds;
    opts.timeout_ms = 10000;
    opts.ca_file = setup->ca_file;
    opts.insecure_skip_tls_verify = setup->insecure_skip_tls_verify;
    if (setup->log) {
        opts.log_cb = count_log_line;
        opts.log_user_data = setup->log;
        opts.log_level = HWAI_LOG_DEBUG;
    }
    hwai_client *client = NULL;
    hwai_error *err = NULL;
    hwai_status status = hwai_client_new(&client, &opts, &err);
    if (status != HWAI_OK) {
        print_error("hwai_client_new: %s\n", hwai_error_message(err));
    }
    assert_int_equal(status, HWAI_OK);
    hwai_credentials_free(creds);
    return client;
}

/* Makes one sentiment call and, on success, checks the server's fixed result. */
static hwai_status call_sentiment(hwai_client *client, hwai_error **err)
{
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = "text to analyse";
    hwai_sentiment_result *result = NULL;
    hwai_status status = hwai_nlp_sentiment(&result, client, &req, err);
    if (status == HWAI_OK) {
        assert_int_equal(result->label, 1);
        assert_string_equal(result->request_id, "req-tls");
    }
    hwai_sentiment_result_free(result);
    return status;
}

static void endpoint_for(const https_server *srv, const char *host, char *out, size_t size)
{
    snprintf(out, size, "https://%s:%d", host, srv->port);
}

/* The certificate names both hosts, as an IP address and as a DNS name. */
static const char *const hosts[] = { "127.0.0.1", "localhost" };

/* Variants: the IP address and the DNS name of the certificate, with the
 * system trust store, which lacks the test CA. */
static void test_tls_untrusted_ca_rejected(void **state)
{
    const https_server *srv = *state;
    for (size_t i = 0; i < 2; i++) {
        char endpoint[96];
        endpoint_for(srv, hosts[i], endpoint, sizeof(endpoint));
        tls_setup setup = { NULL, 0, NULL };
        hwai_client *client = new_client(endpoint, &setup);
        hwai_error *err = NULL;
        hwai_status status = call_sentiment(client, &err);
        if (status != HWAI_E_TLS) {
            print_error("%s: %s\n", endpoint, hwai_error_message(err));
        }
        assert_int_equal(status, HWAI_E_TLS);
        assert_int_equal(hwai_error_http_status(err), 0);
        hwai_error_free(err);
        hwai_client_free(client);
    }
}

/* Variants: the IP address and the DNS name of the certificate, with the
 * test CA given as ca_file. */
static void test_tls_ca_file_trusted(void **state)
{
    const https_server *srv = *state;
    for (size_t i = 0; i < 2; i++) {
        char endpoint[96];
        endpoint_for(srv, hosts[i], endpoint, sizeof(endpoint));
        tls_setup setup = { srv->ca_file, 0, NULL };
        hwai_client *client = new_client(endpoint, &setup);
        hwai_error *err = NULL;
        hwai_status status = call_sentiment(client, &err);
        if (status != HWAI_OK) {
            print_error("%s: %s\n", endpoint, hwai_error_message(err));
        }
        assert_int_equal(status, HWAI_OK);
        hwai_client_free(client);
    }
}

/* Variants: a ca_file path that does not exist. */
static void test_tls_missing_ca_file(void **state)
{
    const https_server *srv = *state;
    char endpoint[96];
    endpoint_for(srv, "127.0.0.1", endpoint, sizeof(endpoint));
    char missing[600];
    snprintf(missing, sizeof(missing), "%s.missing", srv->ca_file);
    /* An unreadable CA file is rejected when the client is made, naming it,
     * rather than surfacing later as a TLS failure. */
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = endpoint;
    opts.ca_file = missing;
    hwai_client *client = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, &err), HWAI_E_INVALID_ARG);
    assert_null(client);
    assert_non_null(strstr(hwai_error_message(err), "ca_file"));
    assert_non_null(strstr(hwai_error_message(err), ".missing"));
    hwai_error_free(err);
}

/* Variants: two clients with verification off, each making two calls. The
 * warning comes once per client, when it is created, and no log line
 * contains the secret key. */
static void test_tls_skip_verify_warns_once(void **state)
{
    const https_server *srv = *state;
    char endpoint[96];
    endpoint_for(srv, "127.0.0.1", endpoint, sizeof(endpoint));
    for (int round = 0; round < 2; round++) {
        log_counts counts = { 0, 0, 0 };
        tls_setup setup = { NULL, 1, &counts };
        hwai_client *client = new_client(endpoint, &setup);
        assert_int_equal(counts.verification_warnings, 1);
        for (int call = 0; call < 2; call++) {
            hwai_error *err = NULL;
            hwai_status status = call_sentiment(client, &err);
            if (status != HWAI_OK) {
                print_error("call %d: %s\n", call, hwai_error_message(err));
            }
            assert_int_equal(status, HWAI_OK);
        }
        hwai_client_free(client);
        assert_int_equal(counts.verification_warnings, 1);
        assert_int_equal(counts.warnings, 1);
        assert_int_equal(counts.lines_with_secret, 0);
    }
}

static int setup_server(void **state)
{
    static https_server srv;
    if (!start_server(&srv)) {
        return -1;
    }
    *state = &srv;
    return 0;
}

static int teardown_server(void **state)
{
    stop_server(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_untrusted_ca_rejected),
        cmocka_unit_test(test_tls_ca_file_trusted),
        cmocka_unit_test(test_tls_missing_ca_file),
        cmocka_unit_test(test_tls_skip_verify_warns_once),
    };
    return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
