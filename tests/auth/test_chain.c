/* The credential chain: environment, profile file and instance metadata.
 *
 * Explicit credentials (hwai_credentials_new_aksk) are not part of the chain:
 * a caller that has them never calls hwai_credentials_new_from_chain, so
 * their precedence over the chain is the caller's choice rather than
 * something the chain decides. test_chain_explicit_ignores_environment only
 * checks that explicit credentials do not read the environment.
 *
 * Every test runs with a fresh temporary HOME and with the HUAWEICLOUD_SDK_*
 * variables unset. The metadata tests talk to tests/auth/metadata_server.py
 * on 127.0.0.1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/credentials_internal.h"
#include "hwai/credentials.h"

#ifndef METADATA_SERVER_SCRIPT
#define METADATA_SERVER_SCRIPT "tests/auth/metadata_server.py"
#endif

#define ENV_AK "HWENVAK0000000000001"
#define ENV_SK "env-secret-key-do-not-print"
#define FILE_AK "HWFILEAK000000000001"
#define FILE_SK "file-secret-key-do-not-print"
#define GLOBAL_AK "HWGLOBALAK0000000001"
#define GLOBAL_SK "global-secret-key-do-not-print"

static const char *const sdk_variables[] = {
    "HUAWEICLOUD_SDK_AK",         "HUAWEICLOUD_SDK_SK",        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "HUAWEICLOUD_SDK_PROJECT_ID", "HUAWEICLOUD_SDK_DOMAIN_ID", "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
};

typedef struct chain_fixture {
    char home[256];
    char default_profile[300];
} chain_fixture;

/* ---- helpers ---- */

static void write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

/* Writes the profile at $HOME/.huaweicloud/credentials. */
static void write_default_profile(chain_fixture *fx, const char *text)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/.huaweicloud", fx->home);
    mkdir(dir, 0700);
    write_file(fx->default_profile, text);
}

static void remove_tree(const char *path)
{
    /* The fixture only ever creates these names below HOME. */
    char child[400];
    const char *names[] = {
        "/.huaweicloud/credentials",
        "/.huaweicloud",
        "/other-profile",
        "/env-profile",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(child, sizeof(child), "%s%s", path, names[i]);
        (void)remove(child);
    }
    rmdir(path);
}

static int setup(void **state)
{
    chain_fixture *fx = calloc(1, sizeof(*fx));
    if (!fx) {
        return -1;
    }
    snprintf(fx->home, sizeof(fx->home), "/tmp/hwai-chain-XXXXXX");
    if (!mkdtemp(fx->home)) {
        free(fx);
        return -1;
    }
    snprintf(
        fx->default_profile, sizeof(fx->default_profile), "%s/.huaweicloud/credentials", fx->home);
    setenv("HOME", fx->home, 1);
    for (size_t i = 0; i < sizeof(sdk_variables) / sizeof(sdk_variables[0]); i++) {
        unsetenv(sdk_variables[i]);
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    chain_fixture *fx = *state;
    remove_tree(fx->home);
    free(fx);
    return 0;
}

static hwai_status
chain(hwai_credentials **out, const hwai_credentials_chain_options *opts, hwai_error **err)
{
    return hwai_credentials_new_from_chain(out, opts, err);
}

static void assert_no_secret(const char *message)
{
    assert_null(strstr(message, ENV_SK));
    assert_null(strstr(message, FILE_SK));
    assert_null(strstr(message, GLOBAL_SK));
    assert_null(strstr(message, "meta-secret"));
    assert_null(strstr(message, "meta-security-token"));
    assert_null(strstr(message, "metadata-session-token"));
}

/* Starts metadata_server.py; returns its pid and writes its base URL. */
typedef struct metadata_server {
    pid_t pid;
    char url[64];
} metadata_server;

static void metadata_server_start(metadata_server *server)
{
    const char *python = getenv("HWAI_PYTHON");
    if (!python || !*python) {
        python = "python3";
    }
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execlp(python, python, METADATA_SERVER_SCRIPT, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *stream = fdopen(out[0], "r");
    assert_non_null(stream);
    char line[128] = "";
    int port = 0;
    bool ok = fgets(line, sizeof(line), stream) &&
              sscanf(line, "listening on http://127.0.0.1:%d", &port) == 1;
    fclose(stream);
    server->pid = pid;
    if (!ok) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        fail_msg("metadata server did not start; first line: '%s'", line);
    }
    snprintf(server->url, sizeof(server->url), "http://127.0.0.1:%d", port);
}

static void metadata_server_stop(metadata_server *server)
{
    if (server->pid > 0) {
        kill(server->pid, SIGTERM);
        waitpid(server->pid, NULL, 0);
        server->pid = 0;
    }
}

static size_t collect(char *data, size_t size, size_t count, void *user)
{
    return fwrite(data, size, count, (FILE *)user) * size;
}

/* Sends a control request to the metadata server and returns the body. */
static char *metadata_control(const metadata_server *server, const char *path, const char *post)
{
    char url[128];
    snprintf(url, sizeof(url), "%s%s", server->url, path);
    char *body = NULL;
    size_t body_len = 0;
    FILE *sink = open_memstream(&body, &body_len);
    CURL *easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, sink);
    if (post) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, post);
    }
    CURLcode rc = curl_easy_perform(easy);
    curl_easy_cleanup(easy);
    fclose(sink);
    assert_int_equal(rc, CURLE_OK);
    return body;
}

static long metadata_stat(const metadata_server *server, const char *name)
{
    char *body = metadata_control(server, "/_stats", NULL);
    json_t *root = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(root);
    json_t *value = json_object_get(root, name);
    long result = json_is_integer(value) ? (long)json_integer_value(value)
                  : json_is_true(value)  ? 1
                                         : 0;
    json_decref(root);
    return result;
}

static void metadata_config(const metadata_server *server, const char *json)
{
    free(metadata_control(server, "/_config", json));
}

static hwai_credentials_chain_options metadata_options(const metadata_server *server)
{
    hwai_credentials_chain_options opts = HWAI_CREDENTIALS_CHAIN_OPTIONS_INIT;
    opts.use_metadata = 1;
    opts.metadata_url = server->url;
    opts.metadata_timeout_ms = 2000;
    return opts;
}

/* ---- environment ---- */

/* Covers: AK, SK, security token, project id and domain id from the
 * environment, with a profile file present that the environment overrides. */
static void test_chain_env_over_profile(void **state)
{
    chain_fixture *fx = *state;
    write_default_profile(fx, "[basic]\nak = " FILE_AK "\nsk = " FILE_SK "\n");
    setenv("HUAWEICLOUD_SDK_AK", ENV_AK, 1);
    setenv("HUAWEICLOUD_SDK_SK", ENV_SK, 1);
    setenv("HUAWEICLOUD_SDK_SECURITY_TOKEN", "env-security-token", 1);
    setenv("HUAWEICLOUD_SDK_PROJECT_ID", "env-project", 1);
    setenv("HUAWEICLOUD_SDK_DOMAIN_ID", "env-domain", 1);

    hwai_credentials *creds = NULL;
    assert_int_equal(chain(&creds, NULL, NULL), HWAI_OK);
    assert_string_equal(hwai_credentials_source(creds), "environment");
    assert_int_equal(hwai_credentials_get_kind(creds), HWAI_CREDENTIALS_AKSK);
    assert_string_equal(hwai_credentials_access_key_id(creds), ENV_AK);
    assert_string_equal(hwai_credentials_project_id(creds), "env-project");
    assert_string_equal(creds->domain_id, "env-domain");
    hwai__aksk_snapshot snap = HWAI__AKSK_SNAPSHOT_INIT;
    assert_int_equal(hwai__credentials_snapshot(creds, &snap, NULL), HWAI_OK);
    assert_string_equal(snap.ak, ENV_AK);
    assert_string_equal(snap.sk, ENV_SK);
    assert_string_equal(snap.security_token, "env-security-token");
    hwai__aksk_snapshot_cleanup(&snap);
    hwai_credentials_free(creds);
}

/* Empty variables count as unset, so the profile file is used. */
static void test_chain_env_empty_is_unset(void **state)
{
    chain_fixture *fx = *state;
    write_default_profile(fx, "[basic]\nak = " FILE_AK "\nsk = " FILE_SK "\n");
    setenv("HUAWEICLOUD_SDK_AK", "", 1);
    setenv("HUAWEICLOUD_SDK_SK", "", 1);

    hwai_credentials *creds = NULL;
    assert_int_equal(chain(&creds, NULL, NULL), HWAI_OK);
    assert_string_equal(hwai_credentials_access_key_id(creds), FILE_AK);
    hwai_credentials_free(creds);
}

/* Covers: AK without SK, SK without AK, and SK set with an empty AK. The
 * message names the missing variable and never the SK. */
static void test_chain_env_half_set(void **state)
{
    (void)state;
    struct {
        const char *ak;
        const char *sk;
        const char *missing;
    } cases[] = {
        { ENV_AK, NULL, "HUAWEICLOUD_SDK_SK is missing" },
        { NULL, ENV_SK, "HUAWEICLOUD_SDK_AK is missing" },
        { "", ENV_SK, "HUAWEICLOUD_SDK_AK is missing" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsetenv("HUAWEICLOUD_SDK_AK");
        unsetenv("HUAWEICLOUD_SDK_SK");
        if (cases[i].ak) {
            setenv("HUAWEICLOUD_SDK_AK", cases[i].ak, 1);
        }
        if (cases[i].sk) {
            setenv("HUAWEICLOUD_SDK_SK", cases[i].sk, 1);
        }
        hwai_credentials *creds = NULL;
        hwai_error *err = NULL;
        assert_int_equal(chain(&creds, NULL, &err), HWAI_E_INVALID_ARG);
        assert_null(creds);
        assert_non_null(strstr(hwai_error_message(err), cases[i].missing));
        assert_no_secret(hwai_error_message(err));
        hwai_error_free(err);
    }
}

/* An AK from the environment with a CR LF is rejected like an explicit one. */
static void test_chain_env_malformed_ak(void **state)
{
    (void)state;
    setenv("HUAWEICLOUD_SDK_AK", "AK\r\nX-Injected: 1", 1);
    setenv("HUAWEICLOUD_SDK_SK", ENV_SK, 1);
    hwai_credentials *creds = NULL;
    hwai_error *err = NULL;
    assert_int_equal(chain(&creds, NULL, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "HUAWEICLOUD_SDK_AK"));
    assert_null(strstr(hwai_error_message(err), "X-Injected"));
    assert_no_secret(hwai_error_message(err));
    hwai_error_free(err);
}

/* Explicit credentials do not consult the environment. */
static void test_chain_explicit_ignores_environment(void **state)
{
    (void)state;
    setenv("HUAWEICLOUD_SDK_AK", ENV_AK, 1);
    setenv("HUAWEICLOUD_SDK_SK", ENV_SK, 1);
    setenv("HUAWEICLOUD_SDK_PROJECT_ID", "env-project", 1);
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, FILE_AK, FILE_SK, NULL, NULL), HWAI_OK);
    assert_string_equal(hwai_credentials_source(creds), "explicit");
    assert_string_equal(hwai_credentials_access_key_id(creds), FILE_AK);
    assert_null(hwai_credentials_project_id(creds));
    hwai_credentials_free(creds);
}

/* ---- profile file ---- */

/* [basic] wins over [global] even when [global] comes first in the file. */
static void test_chain_profile_basic_over_global(void **state)
{
    chain_fixture *fx = *state;
    write_default_profile(
        fx, "[global]\nak = " GLOBAL_AK "\nsk = " GLOBAL_SK "\ndomain_id = global-domain\n"
            "[basic]\nak = " FILE_AK "\nsk = " FILE_SK "\nproject_id = basic-project\n"
            "security_token = file-security-token\niam_endpoint = https://iam.example.test\n");

    hwai_credentials *creds = NULL;
    assert_int_equal(chain(&creds, NULL, NULL), HWAI_OK);
    char expected[400];
    snprintf(expected, sizeof(expected), "profile file %s", fx->default_profile);
    assert_string_equal(hwai_credentials_source(creds), expected);
    assert_string_equal(hwai_credentials_access_key_id(creds), FILE_AK);
    assert_string_equal(hwai_credentials_project_id(creds), "basic-project");
    assert_null(creds->domain_id);
    assert_string_equal(creds->iam_endpoint, "https://iam.example.test");
    hwai__aksk_snapshot snap = HWAI__AKSK_SNAPSHOT_INIT;
    assert_int_equal(hwai__credentials_snapshot(creds, &snap, NULL), HWAI_OK);
    assert_string_equal(snap.sk, FILE_SK);
    assert_string_equal(snap.security_token, "file-security-token");
    hwai__aksk_snapshot_cleanup(&snap);
    hwai_credentials_free(creds);
}

/* [global] is used when [basic] is absent or has no keys. */
static void test_chain_profile_global_only(void **state)
{
    chain_fixture *fx = *state;
    write_default_profile(
        fx, "[basic]\nproject_id = unused\n[global]\nak = " GLOBAL_AK "\nsk = " GLOBAL_SK
            "\ndomain_id = global-domain\n");
    hwai_credentials *creds = NULL;
    assert_int_equal(chain(&creds, NULL, NULL), HWAI_OK);
    assert_string_equal(hwai_credentials_access_key_id(creds), GLOBAL_AK);
    assert_string_equal(creds->domain_id, "global-domain");
    assert_null(hwai_credentials_project_id(creds));
    hwai_credentials_free(creds);
}

/* Covers: '#' and ';' comments, blank lines, indentation and spaces around
 * '=', CRLF line ends, "key: value", upper-case keys, a UTF-8 byte order
 * mark, unknown keys and sections, a value with '=' and '#' in it, a repeated
 * key (the later one wins), and a last line without a newline. */
static void test_chain_profile_syntax(void **state)
{
    chain_fixture *fx = *state;
    write_default_profile(
        fx, "\xef\xbb\xbf# credentials for tests\r\n"
            "; another comment\r\n"
            "\r\n"
            "[other]\r\n"
            "ak = HWOTHERAK00000000001\r\n"
            "  [ basic ]  \r\n"
            "   AK   =   HWSTALEAK00000000001   \r\n"
            "ak=" FILE_AK "\r\n"
            "sk: a=b#c;d\r\n"
            "idp_id = ignored\r\n"
            "\tproject_id\t=\tspaced-project\t\r\n"
            "domain_id = last-line-domain");
    hwai_credentials *creds = NULL;
    hwai_error *err = NULL;
    assert_int_equal(chain(&creds, NULL, &err), HWAI_OK);
    assert_string_equal(hwai_credentials_access_key_id(creds), FILE_AK);
    assert_string_equal(hwai_credentials_project_id(creds), "spaced-project");
    assert_string_equal(creds->domain_id, "last-line-domain");
    hwai__aksk_snapshot snap = HWAI__AKSK_SNAPSHOT_INIT;
    assert_int_equal(hwai__credentials_snapshot(creds, &snap, NULL), HWAI_OK);
    assert_string_equal(snap.sk, "a=b#c;d");
    assert_null(snap.security_token);
    hwai__aksk_snapshot_cleanup(&snap);
    hwai_credentials_free(creds);
}

/* Covers: a line without '=', a section header without ']', a key before
 * any section, and an empty key. The message names the file and line but
 * never the line's text, which may hold a secret. */
static void test_chain_profile_malformed(void **state)
{
    chain_fixture *fx = *state;
    struct {
        const char *text;
        const char *line;
    } cases[] = {
        { "[basic]\nak = " FILE_AK "\n" FILE_SK "\n", "line 3" },
        { "# comment\n[basic\nsk = " FILE_SK "\n", "line 2" },
        { "sk = " FILE_SK "\n[basic]\n", "line 1" },
        { "[basic]\r\n\r\n = " FILE_SK "\r\n", "line 3" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_default_profile(fx, cases[i].text);
        hwai_credentials *creds = NULL;
        hwai_error *err = NULL;
        assert_int_equal(chain(&creds, NULL, &err), HWAI_E_INVALID_ARG);
        assert_null(creds);
        const char *message = hwai_error_message(err);
        assert_non_null(strstr(message, fx->default_profile));
        assert_non_null(strstr(message, cases[i].line));
        assert_no_secret(message);
        hwai_error_free(err);
    }
}

/* Covers: [basic] with an AK but no SK, and [global] with an SK but no AK. */
static void test_chain_profile_half_keys(void **state)
{
    chain_fixture *fx = *state;
    write_default_profile(fx, "[basic]\nak = " FILE_AK "\n");
    hwai_credentials *creds = NULL;
    hwai_error *err = NULL;
    assert_int_equal(chain(&creds, NULL, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "[basic] has ak but no sk"));
    hwai_error_free(err);
    err = NULL;

    write_default_profile(fx, "[global]\nsk = " GLOBAL_SK "\n");
    assert_int_equal(chain(&creds, NULL, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "[global] has sk but no ak"));
    assert_no_secret(hwai_error_message(err));
    hwai_error_free(err);
}

/* Covers the path order: the option, then HUAWEICLOUD_SDK_CREDENTIALS_FILE,
 * then $HOME/.huaweicloud/credentials. */
static void test_chain_profile_path_order(void **state)
{
    chain_fixture *fx = *state;
    char option_path[300];
    char env_path[300];
    snprintf(option_path, sizeof(option_path), "%s/other-profile", fx->home);
    snprintf(env_path, sizeof(env_path), "%s/env-profile", fx->home);
    write_default_profile(fx, "[basic]\nak = HWHOMEAK000000000001\nsk = home-sk\n");
    write_file(env_path, "[basic]\nak = HWENVFILEAK000000001\nsk = env-file-sk\n");
    write_file(option_path, "[basic]\nak = HWOPTIONAK0000000001\nsk = option-sk\n");

    hwai_credentials *creds = NULL;
    assert_int_equal(chain(&creds, NULL, NULL), HWAI_OK);
    assert_string_equal(hwai_credentials_access_key_id(creds), "HWHOMEAK000000000001");
    hwai_credentials_free(creds);

    setenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE", env_path, 1);
    assert_int_equal(chain(&creds, NULL, NULL), HWAI_OK);
    assert_string_equal(hwai_credentials_access_key_id(creds), "HWENVFILEAK000000001");
    hwai_credentials_free(creds);

    hwai_credentials_chain_options opts = HWAI_CREDENTIALS_CHAIN_OPTIONS_INIT;
    opts.profile_path = option_path;
    assert_int_equal(chain(&creds, &opts, NULL), HWAI_OK);
    assert_string_equal(hwai_credentials_access_key_id(creds), "HWOPTIONAK0000000001");
    char expected[400];
    snprintf(expected, sizeof(expected), "profile file %s", option_path);
    assert_string_equal(hwai_credentials_source(creds), expected);
    hwai_credentials_free(creds);
}

/* A profile path that names a directory cannot be read: that is an error,
 * not "not found". */
static void test_chain_profile_unreadable(void **state)
{
    chain_fixture *fx = *state;
    hwai_credentials_chain_options opts = HWAI_CREDENTIALS_CHAIN_OPTIONS_INIT;
    opts.profile_path = fx->home;
    hwai_credentials *creds = NULL;
    hwai_error *err = NULL;
    hwai_status status = chain(&creds, &opts, &err);
    assert_int_equal(status, HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), fx->home));
    hwai_error_free(err);
}

/* ---- nothing found ---- */

/* The message lists what each provider tried: both variable names, the
 * profile path checked, and that metadata was off. */
static void test_chain_nothing_found(void **state)
{
    chain_fixture *fx = *state;
    hwai_credentials *creds = NULL;
    hwai_error *err = NULL;
    assert_int_equal(chain(&creds, NULL, &err), HWAI_E_AUTH);
    assert_null(creds);
    const char *message = hwai_error_message(err);
    assert_non_null(strstr(message, "HUAWEICLOUD_SDK_AK"));
    assert_non_null(strstr(message, "HUAWEICLOUD_SDK_SK"));
    assert_non_null(strstr(message, fx->default_profile));
    assert_non_null(strstr(message, "not found"));
    assert_non_null(strstr(message, "instance metadata: off"));
    hwai_error_free(err);
}

/* A profile file without [basic] or [global] keys is "nothing found" too. */
static void test_chain_profile_without_keys(void **state)
{
    chain_fixture *fx = *state;
    write_default_profile(fx, "[other]\nak = HWOTHERAK00000000001\nsk = other-sk\n");
    hwai_credentials *creds = NULL;
    hwai_error *err = NULL;
    assert_int_equal(chain(&creds, NULL, &err), HWAI_E_AUTH);
    assert_non_null(strstr(hwai_error_message(err), "no [basic] or [global] section"));
    assert_null(strstr(hwai_error_message(err), "other-sk"));
    hwai_error_free(err);
}

/* Covers: NULL out, an unknown options version, use_metadata without a URL,
 * and a metadata URL that is not http(s). */
static void test_chain_invalid_options(void **state)
{
    (void)state;
    hwai_error *err = NULL;
    assert_int_equal(chain(NULL, NULL, &err), HWAI_E_INVALID_ARG);
    hwai_error_free(err);
    err = NULL;

    hwai_credentials *creds = NULL;
    hwai_credentials_chain_options opts = HWAI_CREDENTIALS_CHAIN_OPTIONS_INIT;
    opts.version = 99;
    assert_int_equal(chain(&creds, &opts, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "version 99"));
    hwai_error_free(err);
    err = NULL;

    opts = (hwai_credentials_chain_options)HWAI_CREDENTIALS_CHAIN_OPTIONS_INIT;
    opts.use_metadata = 1;
    assert_int_equal(chain(&creds, &opts, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "metadata_url"));
    hwai_error_free(err);
    err = NULL;

    opts.metadata_url = "ftp://127.0.0.1:1";
    assert_int_equal(chain(&creds, &opts, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "metadata_url"));
    hwai_error_free(err);
    assert_null(creds);
}

/* ---- instance metadata ---- */

/* Keys come from the metadata service: a session token PUT with the 6-hour
 * TTL header, then a GET that carries the token. */
static void test_chain_metadata_found(void **state)
{
    (void)state;
    metadata_server server;
    metadata_server_start(&server);
    hwai_credentials_chain_options opts = metadata_options(&server);

    hwai_credentials *creds = NULL;
    hwai_error *err = NULL;
    hwai_status status = chain(&creds, &opts, &err);
    assert_int_equal(status, HWAI_OK);
    char expected[128];
    snprintf(expected, sizeof(expected), "instance metadata %s", server.url);
    assert_string_equal(hwai_credentials_source(creds), expected);
    assert_string_equal(hwai_credentials_access_key_id(creds), "METAAK0001");
    hwai__aksk_snapshot snap = HWAI__AKSK_SNAPSHOT_INIT;
    assert_int_equal(hwai__credentials_snapshot(creds, &snap, NULL), HWAI_OK);
    assert_string_equal(snap.ak, "METAAK0001");
    assert_string_equal(snap.sk, "meta-secret-0001");
    assert_string_equal(snap.security_token, "meta-security-token-0001");
    hwai__aksk_snapshot_cleanup(&snap);

    assert_int_equal(metadata_stat(&server, "token_put"), 1);
    assert_int_equal(metadata_stat(&server, "securitykey_get"), 1);
    assert_int_equal(metadata_stat(&server, "last_key_had_token"), 1);
    char *stats = metadata_control(&server, "/_stats", NULL);
    assert_non_null(strstr(stats, "\"last_ttl_header\": \"21600\""));
    free(stats);
    hwai_credentials_free(creds);
    metadata_server_stop(&server);
}

/* With use_metadata off, nothing contacts the metadata URL, even though one
 * is given and no other provider finds keys. */
static void test_chain_metadata_off_sends_nothing(void **state)
{
    (void)state;
    metadata_server server;
    metadata_server_start(&server);
    hwai_credentials_chain_options opts = metadata_options(&server);
    opts.use_metadata = 0;

    hwai_credentials *creds = NULL;
    hwai_error *err = NULL;
    assert_int_equal(chain(&creds, &opts, &err), HWAI_E_AUTH);
    assert_non_null(strstr(hwai_error_message(err), "instance metadata: off"));
    hwai_error_free(err);
    assert_int_equal(metadata_stat(&server, "total"), 0);
    metadata_server_stop(&server);
}

/* Metadata comes last: with keys in the environment it is not contacted
 * even when turned on. */
static void test_chain_env_before_metadata(void **state)
{
    (void)state;
    metadata_server server;
    metadata_server_start(&server);
    hwai_credentials_chain_options opts = metadata_options(&server);
    setenv("HUAWEICLOUD_SDK_AK", ENV_AK, 1);
    setenv("HUAWEICLOUD_SDK_SK", ENV_SK, 1);
    hwai_credentials *creds = NULL;
    assert_int_equal(chain(&creds, &opts, NULL), HWAI_OK);
    assert_string_equal(hwai_credentials_source(creds), "environment");
    assert_int_equal(metadata_stat(&server, "total"), 0);
    hwai_credentials_free(creds);
    metadata_server_stop(&server);
}

/* Covers: a token PUT that gets 404, 405 or 503 is tolerated, and the GET is
 * then sent without a token. */
static void test_chain_metadata_without_session_token(void **state)
{
    (void)state;
    metadata_server server;
    metadata_server_start(&server);
    hwai_credentials_chain_options opts = metadata_options(&server);
    const char *configs[] = { "{\"token_status\": 404}", "{\"token_status\": 405}",
                              "{\"token_status\": 503}" };
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        metadata_config(&server, configs[i]);
        hwai_credentials *creds = NULL;
        hwai_error *err = NULL;
        assert_int_equal(chain(&creds, &opts, &err), HWAI_OK);
        assert_non_null(creds);
        assert_int_equal(metadata_stat(&server, "last_key_had_token"), 0);
        hwai_credentials_free(creds);
    }
    assert_int_equal(metadata_stat(&server, "token_put"), 3);
    assert_int_equal(metadata_stat(&server, "securitykey_get"), 3);
    metadata_server_stop(&server);
}

/* Covers: a token PUT that gets 500, a key GET that gets 500, and a key GET
 * slower than the timeout. Each makes the chain report HWAI_E_AUTH with the
 * metadata failure in the list, without any secret. */
static void test_chain_metadata_failures(void **state)
{
    (void)state;
    metadata_server server;
    metadata_server_start(&server);
    hwai_credentials_chain_options opts = metadata_options(&server);
    opts.metadata_timeout_ms = 300;
    struct {
        const char *config;
        const char *expected;
    } cases[] = {
        { "{\"token_status\": 500}", "failed with HTTP 500" },
        { "{\"token_status\": 200, \"key_status\": 500}", "failed with HTTP 500" },
        { "{\"key_status\": 200, \"key_delay_ms\": 1000}", "timed out" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        metadata_config(&server, cases[i].config);
        hwai_credentials *creds = NULL;
        hwai_error *err = NULL;
        assert_int_equal(chain(&creds, &opts, &err), HWAI_E_AUTH);
        const char *message = hwai_error_message(err);
        assert_non_null(strstr(message, "instance metadata: "));
        assert_non_null(strstr(message, cases[i].expected));
        assert_non_null(strstr(message, server.url));
        assert_no_secret(message);
        hwai_error_free(err);
    }
    metadata_server_stop(&server);
}

/* Keys that expire within 40 minutes are renewed by the next snapshot; keys
 * valid for longer are not. An AK pointer taken before a renewal stays
 * valid. */
static void test_chain_metadata_refresh(void **state)
{
    (void)state;
    metadata_server server;
    metadata_server_start(&server);
    metadata_config(&server, "{\"expires_in_s\": 600}");
    hwai_credentials_chain_options opts = metadata_options(&server);
    hwai_credentials *creds = NULL;
    assert_int_equal(chain(&creds, &opts, NULL), HWAI_OK);
    const char *first_ak = hwai_credentials_access_key_id(creds);
    assert_string_equal(first_ak, "METAAK0001");

    metadata_config(&server, "{\"expires_in_s\": 7200}");
    hwai__aksk_snapshot snap = HWAI__AKSK_SNAPSHOT_INIT;
    assert_int_equal(hwai__credentials_snapshot(creds, &snap, NULL), HWAI_OK);
    assert_string_equal(snap.ak, "METAAK0002");
    assert_string_equal(snap.sk, "meta-secret-0002");
    assert_string_equal(snap.security_token, "meta-security-token-0002");
    hwai__aksk_snapshot_cleanup(&snap);
    assert_string_equal(first_ak, "METAAK0001");
    assert_string_equal(hwai_credentials_access_key_id(creds), "METAAK0002");

    /* Valid for two hours now: no further request. */
    assert_int_equal(hwai__credentials_snapshot(creds, &snap, NULL), HWAI_OK);
    assert_string_equal(snap.ak, "METAAK0002");
    hwai__aksk_snapshot_cleanup(&snap);
    assert_int_equal(metadata_stat(&server, "securitykey_get"), 2);
    hwai_credentials_free(creds);
    metadata_server_stop(&server);
}

typedef struct snapshot_worker {
    hwai_credentials *creds;
    pthread_barrier_t *barrier;
    hwai_status status;
    char ak[32];
} snapshot_worker;

static void *snapshot_thread(void *arg)
{
    snapshot_worker *worker = arg;
    pthread_barrier_wait(worker->barrier);
    hwai__aksk_snapshot snap = HWAI__AKSK_SNAPSHOT_INIT;
    worker->status = hwai__credentials_snapshot(worker->creds, &snap, NULL);
    if (snap.ak) {
        snprintf(worker->ak, sizeof(worker->ak), "%s", snap.ak);
    }
    hwai__aksk_snapshot_cleanup(&snap);
    return NULL;
}

/* Eight threads that need a renewal at once cause one metadata request. */
static void test_chain_metadata_refresh_single_flight(void **state)
{
    (void)state;
    enum { THREADS = 8 };
    metadata_server server;
    metadata_server_start(&server);
    metadata_config(&server, "{\"expires_in_s\": 600}");
    hwai_credentials_chain_options opts = metadata_options(&server);
    hwai_credentials *creds = NULL;
    assert_int_equal(chain(&creds, &opts, NULL), HWAI_OK);
    metadata_config(&server, "{\"expires_in_s\": 7200, \"key_delay_ms\": 200}");

    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    pthread_t threads[THREADS];
    snapshot_worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (snapshot_worker){ creds, &barrier, HWAI_E_INTERNAL, "" };
        assert_int_equal(pthread_create(&threads[i], NULL, snapshot_thread, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].status, HWAI_OK);
        assert_string_equal(workers[i].ak, "METAAK0002");
    }
    pthread_barrier_destroy(&barrier);
    assert_int_equal(metadata_stat(&server, "securitykey_get"), 2);
    hwai_credentials_free(creds);
    metadata_server_stop(&server);
}

/* A failed renewal keeps the old keys while they are still valid, and
 * returns the error once they have expired. */
static void test_chain_metadata_refresh_failure(void **state)
{
    (void)state;
    metadata_server server;
    metadata_server_start(&server);
    hwai_credentials_chain_options opts = metadata_options(&server);

    metadata_config(&server, "{\"expires_in_s\": 600}");
    hwai_credentials *valid = NULL;
    assert_int_equal(chain(&valid, &opts, NULL), HWAI_OK);
    metadata_config(&server, "{\"expires_in_s\": -60}");
    hwai_credentials *expired = NULL;
    assert_int_equal(chain(&expired, &opts, NULL), HWAI_OK);

    metadata_config(&server, "{\"key_status\": 500}");
    hwai__aksk_snapshot snap = HWAI__AKSK_SNAPSHOT_INIT;
    assert_int_equal(hwai__credentials_snapshot(valid, &snap, NULL), HWAI_OK);
    assert_string_equal(snap.ak, "METAAK0001");
    hwai__aksk_snapshot_cleanup(&snap);

    hwai_error *err = NULL;
    assert_int_equal(hwai__credentials_snapshot(expired, &snap, &err), HWAI_E_AUTH);
    assert_null(snap.ak);
    assert_null(snap.sk);
    assert_non_null(strstr(hwai_error_message(err), "failed with HTTP 500"));
    assert_no_secret(hwai_error_message(err));
    hwai_error_free(err);

    hwai_credentials_free(valid);
    hwai_credentials_free(expired);
    metadata_server_stop(&server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain_env_over_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_env_empty_is_unset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_env_half_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_env_malformed_ak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_explicit_ignores_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_profile_basic_over_global, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_profile_global_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_profile_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_profile_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_profile_half_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_profile_path_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_profile_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_nothing_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_profile_without_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_invalid_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_metadata_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_metadata_off_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_env_before_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_metadata_without_session_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_metadata_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_metadata_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_metadata_refresh_single_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_metadata_refresh_failure, setup, teardown),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
