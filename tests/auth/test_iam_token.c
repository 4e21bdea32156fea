/* IAM user tokens against the emulator: caching, refresh before expiry with
 * an injected clock, one request for many threads, and the X-Subject-Token
 * header in the forms servers send it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/credentials_internal.h"
#include "auth/token_cache.h"
#include "emulator.h"
#include "hwai/client.h"
#include "util/str.h"

#define REGION "cn-north-4"
#define IAM_USER "hwai-user"
#define IAM_PASSWORD "hwai-password"
#define IAM_DOMAIN "hwai-domain"
#define WRONG_PASSWORD "wrong-password-do-not-print"
#define THREADS 8

/* 2030-01-02T03:04:05Z in seconds since the epoch. */
#define EXAMPLE_EXPIRES_AT INT64_C(1893553445)

static test_emulator emu;

/* Log lines of every client, to check that no token or password is logged. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[64 * 1024];
static size_t log_len;

static void collect_log(hwai_log_level level, const char *message, void *user_data)
{
    (void)level;
    (void)user_data;
    pthread_mutex_lock(&log_lock);
    int written = snprintf(log_text + log_len, sizeof(log_text) - log_len, "%s\n", message);
    if (written > 0 && (size_t)written < sizeof(log_text) - log_len) {
        log_len += (size_t)written;
    }
    pthread_mutex_unlock(&log_lock);
}

static bool log_contains(const char *text)
{
    pthread_mutex_lock(&log_lock);
    bool found = strstr(log_text, text) != NULL;
    pthread_mutex_unlock(&log_lock);
    return found;
}

/* The injected clock: 0 means the real time. */
static _Atomic time_t fake_now;

static time_t test_clock(void)
{
    time_t now = fake_now;
    return now ? now : time(NULL);
}

typedef struct token_fixture {
    hwai_credentials *creds;
    hwai_client *client;
    hwai__token_cache *cache;
} token_fixture;

static int start_emulator(void **state)
{
    (void)state;
    return test_emulator_start(&emu, NULL) ? 0 : -1;
}

static int stop_emulator(void **state)
{
    (void)state;
    test_emulator_stop(&emu);
    return 0;
}

static hwai_credentials *iam_credentials(const char *password)
{
    hwai_iam_password_options opts = HWAI_IAM_PASSWORD_OPTIONS_INIT;
    opts.user_name = IAM_USER;
    opts.password = password;
    opts.domain_name = IAM_DOMAIN;
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_iam_password(&creds, &opts, NULL), HWAI_OK);
    return creds;
}

static int setup(void **state)
{
    if (!test_emulator_reset(&emu)) {
        return -1;
    }
    fake_now = 0;
    token_fixture *fx = calloc(1, sizeof(*fx));
    if (!fx) {
        return -1;
    }
    fx->creds = iam_credentials(IAM_PASSWORD);
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.region = REGION;
    opts.endpoint = emu.base_url;
    opts.iam_endpoint = emu.base_url;
    opts.credentials = fx->creds;
    opts.log_cb = collect_log;
    opts.log_level = HWAI_LOG_DEBUG;
    if (hwai_client_new(&fx->client, &opts, NULL) != HWAI_OK ||
        hwai__token_cache_new(&fx->cache, NULL) != HWAI_OK) {
        return -1;
    }
    hwai__token_cache_set_clock(fx->cache, test_clock);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    token_fixture *fx = *state;
    hwai__token_cache_free(fx->cache);
    hwai_client_free(fx->client);
    hwai_credentials_free(fx->creds);
    free(fx);
    return 0;
}

static hwai_status get_token(
    token_fixture *fx, const char *project_id, char **token, int64_t *expires_at, hwai_error **err)
{
    return hwai__token_get(
        fx->cache, fx->client, fx->creds, REGION, project_id, token, expires_at, err);
}

static long token_requests(void)
{
    return test_emulator_stat(&emu, "by_route.iam_token");
}

/* Queues one raw IAM token response: status line, the given header lines,
 * Content-Type and Content-Length, then body. */
static void script_raw_token_response(const char *header_lines, const char *body)
{
    char response[2048];
    snprintf(
        response, sizeof(response),
        "HTTP/1.1 201 Created\r\n%sContent-Type: application/json\r\n"
        "Content-Length: %zu\r\n\r\n%s",
        header_lines, strlen(body), body);
    json_t *script = json_pack(
        "{s:s, s:[{s:[{s:s}], s:b}]}", "route", "iam_token", "responses", "raw", "data", response,
        "close", 1);
    assert_non_null(script);
    char *text = json_dumps(script, JSON_COMPACT);
    json_decref(script);
    assert_true(test_emulator_script(&emu, text));
    free(text);
}

static size_t discard(char *data, size_t size, size_t count, void *user)
{
    (void)data;
    (void)user;
    return size * count;
}

/* Sends the token to the emulator's echo route and returns the HTTP status. */
static long status_with_token(const char *token)
{
    char url[256];
    char header[1024];
    snprintf(url, sizeof(url), "%s/v1/%s/hwai-echo/check", emu.base_url, EMU_PROJECT_ID);
    snprintf(header, sizeof(header), "X-Auth-Token: %s", token);
    struct curl_slist *headers = curl_slist_append(NULL, header);
    CURL *easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    if (curl_easy_perform(easy) == CURLE_OK) {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
    return status;
}

/* A token is requested once and then served from the cache. Its expiry is
 * read as UTC whatever the local time zone, and it works on a service
 * route. Neither the token nor the password reaches the log. */
static void test_token_issued_once_reused(void **state)
{
    token_fixture *fx = *state;
    setenv("TZ", "XST-8", 1);
    tzset();
    char *first = NULL;
    char *second = NULL;
    int64_t first_expiry = 0;
    int64_t second_expiry = 0;
    time_t before = time(NULL);
    assert_int_equal(get_token(fx, NULL, &first, &first_expiry, NULL), HWAI_OK);
    assert_int_equal(get_token(fx, NULL, &second, &second_expiry, NULL), HWAI_OK);
    assert_string_equal(first, second);
    assert_true(first_expiry == second_expiry);
    /* The emulator issues tokens for 3600 s by default. */
    assert_true(first_expiry >= (int64_t)before + 3600 - 5);
    assert_true(first_expiry <= (int64_t)time(NULL) + 3600 + 5);
    assert_int_equal(token_requests(), 1);
    assert_int_equal(status_with_token(first), 200);
    assert_false(log_contains(first));
    assert_false(log_contains(IAM_PASSWORD));
    hwai__secret_free(first);
    hwai__secret_free(second);
    unsetenv("TZ");
    tzset();
}

/* The cached token is used until HWAI__TOKEN_REFRESH_MARGIN_S before its
 * expiry, replaced from that second on, and replaced after it expired. */
static void test_token_refreshed_before_expiry(void **state)
{
    token_fixture *fx = *state;
    char *token = NULL;
    int64_t expires_at = 0;
    assert_int_equal(get_token(fx, NULL, &token, &expires_at, NULL), HWAI_OK);
    char *first = token;

    fake_now = (time_t)(expires_at - HWAI__TOKEN_REFRESH_MARGIN_S - 1);
    assert_int_equal(get_token(fx, NULL, &token, NULL, NULL), HWAI_OK);
    assert_string_equal(token, first);
    hwai__secret_free(token);
    assert_int_equal(token_requests(), 1);

    fake_now = (time_t)(expires_at - HWAI__TOKEN_REFRESH_MARGIN_S);
    int64_t renewed_expiry = 0;
    assert_int_equal(get_token(fx, NULL, &token, &renewed_expiry, NULL), HWAI_OK);
    assert_string_not_equal(token, first);
    assert_int_equal(token_requests(), 2);
    char *second = token;

    fake_now = (time_t)(renewed_expiry + 3600);
    assert_int_equal(get_token(fx, NULL, &token, NULL, NULL), HWAI_OK);
    assert_string_not_equal(token, second);
    assert_int_equal(token_requests(), 3);
    hwai__secret_free(token);
    hwai__secret_free(second);
    hwai__secret_free(first);
}

typedef struct token_worker {
    token_fixture *fx;
    hwai_credentials *creds;
    pthread_barrier_t *barrier;
    hwai_status status;
    char *token;
    int http_status;
} token_worker;

static void *token_thread(void *arg)
{
    token_worker *worker = arg;
    pthread_barrier_wait(worker->barrier);
    hwai_error *err = NULL;
    worker->status = hwai__token_get(
        worker->fx->cache, worker->fx->client, worker->creds, REGION, NULL, &worker->token, NULL,
        &err);
    worker->http_status = hwai_error_http_status(err);
    hwai_error_free(err);
    return NULL;
}

/* Starts THREADS threads that all call hwai__token_get at once. */
static void run_token_threads(token_fixture *fx, hwai_credentials *creds, token_worker *workers)
{
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (token_worker){ fx, creds, &barrier, HWAI_E_INTERNAL, NULL, 0 };
        assert_int_equal(pthread_create(&threads[i], NULL, token_thread, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    pthread_barrier_destroy(&barrier);
}

/* Eight threads that need a new token at once send one IAM request and all
 * receive its token. The emulator delays the response by 300 ms so that
 * every thread arrives while the request is in flight. */
static void test_token_single_flight(void **state)
{
    token_fixture *fx = *state;
    char *old = NULL;
    int64_t expires_at = 0;
    assert_int_equal(get_token(fx, NULL, &old, &expires_at, NULL), HWAI_OK);
    fake_now = (time_t)(expires_at + 1);
    /* Move the emulator's clock too, so the new token is valid at fake_now
     * and a thread that arrives after the request finished reuses it. */
    char *answer = test_emulator_control(&emu, "/_emulator/clock", "{\"offset_s\": 7200}");
    assert_non_null(answer);
    free(answer);
    assert_true(test_emulator_script(
        &emu, "{\"route\": \"iam_token\", \"responses\": [{\"stall_ms\": 300}]}"));

    token_worker workers[THREADS];
    run_token_threads(fx, fx->creds, workers);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(workers[i].status, HWAI_OK);
        assert_non_null(workers[i].token);
        assert_string_not_equal(workers[i].token, old);
        assert_string_equal(workers[i].token, workers[0].token);
    }
    assert_int_equal(token_requests(), 2);

    /* The shared token is cached for later calls too. */
    char *later = NULL;
    assert_int_equal(get_token(fx, NULL, &later, NULL, NULL), HWAI_OK);
    assert_string_equal(later, workers[0].token);
    assert_int_equal(token_requests(), 2);
    hwai__secret_free(later);
    for (int i = 0; i < THREADS; i++) {
        hwai__secret_free(workers[i].token);
    }
    hwai__secret_free(old);
}

/* When the one request fails, every waiting thread gets its error and no
 * thread sends a second request. */
static void test_token_single_flight_error(void **state)
{
    token_fixture *fx = *state;
    hwai_credentials *wrong = iam_credentials(WRONG_PASSWORD);
    assert_true(test_emulator_script(
        &emu, "{\"route\": \"iam_token\", \"responses\": [{\"stall_ms\": 300}]}"));
    token_worker workers[THREADS];
    run_token_threads(fx, wrong, workers);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(workers[i].status, HWAI_E_SERVICE);
        assert_int_equal(workers[i].http_status, 401);
        assert_null(workers[i].token);
    }
    assert_int_equal(token_requests(), 1);
    hwai_credentials_free(wrong);
}

/* Covers: "x-subject-token" in lower case after a "Vary: X-Subject-Token,
 * Accept-Encoding" header, and "X-Subject-Token" capitalised with spaces
 * around the value and an expiry without fractional seconds. Both give
 * exactly the token, and the expiry is read as UTC. */
static void test_token_header_forms(void **state)
{
    token_fixture *fx = *state;
    struct {
        const char *headers;
        const char *body;
    } cases[] = {
        { "Vary: X-Subject-Token, Accept-Encoding\r\nx-subject-token: MIIEXAMPLETOKEN\r\n",
          "{\"token\":{\"expires_at\":\"2030-01-02T03:04:05.000000Z\"}}" },
        { "X-Subject-Token:    MIIEXAMPLETOKEN   \r\nVary: X-Subject-Token\r\n",
          "{\"token\":{\"expires_at\":\"2030-01-02T03:04:05Z\"}}" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hwai__token_cache *cache = NULL;
        assert_int_equal(hwai__token_cache_new(&cache, NULL), HWAI_OK);
        script_raw_token_response(cases[i].headers, cases[i].body);
        char *token = NULL;
        int64_t expires_at = 0;
        hwai_error *err = NULL;
        hwai_status status =
            hwai__token_get(cache, fx->client, fx->creds, REGION, NULL, &token, &expires_at, &err);
        if (status != HWAI_OK) {
            fail_msg("case %zu: %s", i, hwai_error_message(err));
        }
        assert_string_equal(token, "MIIEXAMPLETOKEN");
        assert_true(expires_at == EXAMPLE_EXPIRES_AT);
        assert_false(log_contains("MIIEXAMPLETOKEN"));
        hwai__secret_free(token);
        hwai__token_cache_free(cache);
    }
}

/* Covers: no X-Subject-Token header at all (only a Vary header naming it),
 * and a body without token.expires_at. Each is an error, nothing is cached,
 * and the next call sends a new request. */
static void test_token_bad_response_not_cached(void **state)
{
    token_fixture *fx = *state;
    struct {
        const char *headers;
        const char *body;
        hwai_status status;
        const char *message;
    } cases[] = {
        { "Vary: X-Subject-Token\r\n",
          "{\"token\":{\"expires_at\":\"2030-01-02T03:04:05.000000Z\"}}", HWAI_E_AUTH,
          "IAM answered without X-Subject-Token" },
        { "X-Subject-Token: MIIEXAMPLETOKEN\r\n", "{\"token\":{}}", HWAI_E_BAD_RESPONSE,
          "token.expires_at" },
    };
    long requests = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        script_raw_token_response(cases[i].headers, cases[i].body);
        char *token = NULL;
        hwai_error *err = NULL;
        assert_int_equal(get_token(fx, NULL, &token, NULL, &err), cases[i].status);
        assert_null(token);
        assert_non_null(strstr(hwai_error_message(err), cases[i].message));
        assert_null(strstr(hwai_error_message(err), "MIIEXAMPLETOKEN"));
        hwai_error_free(err);

        assert_int_equal(get_token(fx, NULL, &token, NULL, NULL), HWAI_OK);
        assert_non_null(token);
        assert_string_not_equal(token, "MIIEXAMPLETOKEN");
        hwai__secret_free(token);
        requests += 2;
        assert_int_equal(token_requests(), requests);

        /* Start the next case from an empty cache. */
        hwai__token_cache_free(fx->cache);
        assert_int_equal(hwai__token_cache_new(&fx->cache, NULL), HWAI_OK);
        hwai__token_cache_set_clock(fx->cache, test_clock);
    }
}

/* A wrong password is HWAI_E_SERVICE with HTTP 401 and IAM's message, never
 * the password; nothing is cached, so the next call sends another request. */
static void test_token_wrong_password(void **state)
{
    token_fixture *fx = *state;
    hwai_credentials *wrong = iam_credentials(WRONG_PASSWORD);
    for (long attempt = 1; attempt <= 2; attempt++) {
        char *token = NULL;
        hwai_error *err = NULL;
        assert_int_equal(
            hwai__token_get(fx->cache, fx->client, wrong, REGION, NULL, &token, NULL, &err),
            HWAI_E_SERVICE);
        assert_null(token);
        assert_int_equal(hwai_error_http_status(err), 401);
        assert_non_null(strstr(hwai_error_message(err), "The username or password is wrong"));
        assert_null(strstr(hwai_error_message(err), WRONG_PASSWORD));
        hwai_error_free(err);
        /* A rejected password is not sent again for a few seconds, because IAM
         * locks users out after repeated failures. */
        assert_int_equal(token_requests(), 1);
        (void)attempt;
    }
    assert_false(log_contains(WRONG_PASSWORD));
    hwai_credentials_free(wrong);
}

/* Invalidating with another token keeps the cached one; invalidating with
 * the cached token makes the next call fetch a new one. */
static void test_token_invalidate(void **state)
{
    token_fixture *fx = *state;
    char *first = NULL;
    assert_int_equal(get_token(fx, NULL, &first, NULL, NULL), HWAI_OK);

    hwai__token_invalidate(fx->cache, REGION, NULL, "a-token-another-thread-replaced");
    char *token = NULL;
    assert_int_equal(get_token(fx, NULL, &token, NULL, NULL), HWAI_OK);
    assert_string_equal(token, first);
    hwai__secret_free(token);
    assert_int_equal(token_requests(), 1);

    hwai__token_invalidate(fx->cache, REGION, NULL, first);
    assert_int_equal(get_token(fx, NULL, &token, NULL, NULL), HWAI_OK);
    assert_string_not_equal(token, first);
    assert_int_equal(token_requests(), 2);
    hwai__secret_free(token);
    hwai__secret_free(first);
}

/* A token scoped by project id and one scoped by region name are separate
 * cache entries, each requested once; both work on the project's routes. */
static void test_token_scopes_cached_apart(void **state)
{
    token_fixture *fx = *state;
    char *by_name = NULL;
    char *by_id = NULL;
    char *again = NULL;
    assert_int_equal(get_token(fx, NULL, &by_name, NULL, NULL), HWAI_OK);
    assert_int_equal(get_token(fx, EMU_PROJECT_ID, &by_id, NULL, NULL), HWAI_OK);
    assert_string_not_equal(by_name, by_id);
    assert_int_equal(get_token(fx, EMU_PROJECT_ID, &again, NULL, NULL), HWAI_OK);
    assert_string_equal(again, by_id);
    assert_int_equal(token_requests(), 2);
    assert_int_equal(status_with_token(by_id), 200);
    assert_int_equal(status_with_token(by_name), 200);
    hwai__secret_free(by_name);
    hwai__secret_free(by_id);
    hwai__secret_free(again);
}

/* Covers: credentials of another kind, and neither region nor project id.
 * Both fail before any request. */
static void test_token_invalid_arguments(void **state)
{
    token_fixture *fx = *state;
    hwai_credentials *aksk = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&aksk, EMU_AK, EMU_SK, NULL, NULL), HWAI_OK);
    char *token = NULL;
    hwai_error *err = NULL;
    assert_int_equal(
        hwai__token_get(fx->cache, fx->client, aksk, REGION, NULL, &token, NULL, &err),
        HWAI_E_INVALID_ARG);
    hwai_error_free(err);
    err = NULL;
    assert_int_equal(
        hwai__token_get(fx->cache, fx->client, fx->creds, NULL, NULL, &token, NULL, &err),
        HWAI_E_CONFIG);
    assert_non_null(strstr(hwai_error_message(err), "region"));
    hwai_error_free(err);
    assert_null(token);
    assert_int_equal(token_requests(), 0);
    hwai_credentials_free(aksk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_issued_once_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_refreshed_before_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_single_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_single_flight_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_header_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_bad_response_not_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_wrong_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_invalidate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_scopes_cached_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_invalid_arguments, setup, teardown),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = cmocka_run_group_tests(tests, start_emulator, stop_emulator);
    curl_global_cleanup();
    return failed;
}
