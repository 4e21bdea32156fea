/* Authentication through the public client API against the emulator: every
 * credential kind on chat and sentiment, IAM token caching and refresh with
 * many threads, project id lookup, per-service regions, the region table with
 * its environment overrides, and the credential chain.
 *
 * The shared emulator lists SOUTHWEST_PROJECT_ID for cn-southwest-2 besides
 * its default project id. The project id lookup cache lives for the whole
 * process and is keyed by access key and region, so every lookup test starts
 * its own emulator with an access key of its own. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "emulator.h"
#include "hwai/hwai.h"

#define REGION "cn-north-4"
#define SOUTHWEST_REGION "cn-southwest-2"
#define SOUTHWEST_PROJECT_ID "fedcba9876543210fedcba9876543210"
#define IAM_USER "hwai-user"
#define IAM_PASSWORD "hwai-password"
#define IAM_DOMAIN "hwai-domain"
#define WRONG_PASSWORD "wrong-password-never-printed"
#define WRONG_SK "wrong-sk-never-printed-0123456789"
#define TOKEN_LIFETIME_S 3600
/* The client fetches a new IAM token this many seconds before expires_at,
 * as credentials.h documents. */
#define REFRESH_MARGIN_S 300
#define THREADS 8
#define CALLS_PER_THREAD 3

#define PANGU_REPLY_PREFIX "Hello! This is the answer of the Pangu local emulator: "

static test_emulator emu;

/* ---- log collection ---- */

/* Every log line of every client, so tests can check that no secret was
 * logged. Lines past the buffer's end are dropped. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[256 * 1024];
static size_t log_len;

static void collect_log(hwai_log_level level, const char *message, void *user_data)
{
    (void)level;
    (void)user_data;
    pthread_mutex_lock(&log_lock);
    int written = snprintf(log_text + log_len, sizeof(log_text) - log_len, "%s\n", message);
    if (written > 0 && (size_t)written < sizeof(log_text) - log_len) {
        log_len += (size_t)written;
    } else {
        log_text[log_len] = '\0';
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

static void assert_no_secret_logged(void)
{
    const char *secrets[] = {
        EMU_SK, WRONG_SK, IAM_PASSWORD, WRONG_PASSWORD, EMU_SECURITY_TOKEN, EMU_API_KEY,
    };
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        if (log_contains(secrets[i])) {
            fail_msg("secret number %zu of the list appears in the client log", i);
        }
    }
}

/* ---- credentials and clients ---- */

static hwai_credentials *
aksk_credentials(const char *ak, const char *sk, const char *security_token)
{
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, ak, sk, security_token, NULL), HWAI_OK);
    return creds;
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

/* Options for a client that sends every call to the emulator in region
 * REGION with its default project id; tests change what they need. */
static hwai_client_options emulator_options(hwai_credentials *creds)
{
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.region = REGION;
    opts.endpoint = emu.base_url;
    opts.iam_endpoint = emu.base_url;
    opts.project_id = EMU_PROJECT_ID;
    opts.credentials = creds;
    opts.timeout_ms = 20000;
    opts.log_cb = collect_log;
    opts.log_level = HWAI_LOG_DEBUG;
    return opts;
}

/* Makes a client and drops the caller's credentials reference, which the
 * client no longer needs. */
static hwai_client *new_client(const hwai_client_options *opts, hwai_credentials *creds)
{
    hwai_client *client = NULL;
    hwai_error *err = NULL;
    hwai_status status = hwai_client_new(&client, opts, &err);
    if (status != HWAI_OK) {
        fail_msg("hwai_client_new failed: %s", hwai_error_message(err));
    }
    hwai_error_free(err);
    hwai_credentials_free(creds);
    return client;
}

/* ---- calls ---- */

/* Sends one Pangu chat to deployment d1 and checks the emulator's reply. */
static hwai_status call_pangu_chat(hwai_client *client, hwai_error **err)
{
    hwai_chat_message message = { "user", "Hello there", 0 };
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.deployment_id = "d1";
    req.messages = &message;
    req.message_count = 1;
    hwai_chat_result *result = NULL;
    hwai_status status = hwai_chat(&result, client, &req, err);
    if (status == HWAI_OK) {
        assert_true(result->choice_count >= 1);
        assert_non_null(strstr(result->choices[0].content, PANGU_REPLY_PREFIX));
    }
    hwai_chat_result_free(result);
    return status;
}

/* Sends one chat on the OpenAI-compatible path, which needs a model name. */
static hwai_status call_openai_chat(hwai_client *client, hwai_error **err)
{
    hwai_chat_message message = { "user", "Hello there", 0 };
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.model = "DeepSeek-V3";
    req.messages = &message;
    req.message_count = 1;
    hwai_chat_result *result = NULL;
    hwai_status status = hwai_chat(&result, client, &req, err);
    if (status == HWAI_OK) {
        assert_string_equal(result->model, "DeepSeek-V3");
        assert_non_null(strstr(result->choices[0].content, PANGU_REPLY_PREFIX));
    }
    hwai_chat_result_free(result);
    return status;
}

/* Sends one sentiment request with a clearly positive text. */
static hwai_status call_sentiment(hwai_client *client, hwai_error **err)
{
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = "I love this good product";
    req.lang = "en";
    hwai_sentiment_result *result = NULL;
    hwai_status status = hwai_nlp_sentiment(&result, client, &req, err);
    if (status == HWAI_OK) {
        assert_int_equal(result->label, 1);
        assert_true(result->confidence >= 0.85);
    }
    hwai_sentiment_result_free(result);
    return status;
}

/* Opens a streamed Pangu chat and reads it to the end. */
static hwai_status call_pangu_chat_stream(hwai_client *client, hwai_error **err)
{
    hwai_chat_message message = { "user", "Hello there", 0 };
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.deployment_id = "d1";
    req.messages = &message;
    req.message_count = 1;
    hwai_chat_stream *stream = NULL;
    hwai_status status = hwai_chat_stream_open(&stream, client, &req, err);
    if (status != HWAI_OK) {
        return status;
    }
    if (err && *err) {
        /* The caller reports the error that this successful open left. */
        hwai_chat_stream_free(stream);
        return HWAI_OK;
    }
    const hwai_chat_chunk *chunk = NULL;
    do {
        status = hwai_chat_stream_next(stream, &chunk, err);
    } while (status == HWAI_OK && chunk);
    if (status == HWAI_OK) {
        const hwai_chat_stream_summary *summary = hwai_chat_stream_summary_get(stream);
        assert_non_null(strstr(summary->content, PANGU_REPLY_PREFIX));
        assert_string_equal(summary->finish_reason, "stop");
    }
    hwai_chat_stream_free(stream);
    return status;
}

typedef hwai_status (*client_call)(hwai_client *client, hwai_error **err);

/* Makes the call and fails the test with the error's message unless it
 * succeeded. A successful call must leave no error object behind, even when
 * an earlier attempt inside it failed. */
static void expect_call_ok(client_call call, hwai_client *client, const char *description)
{
    hwai_error *err = NULL;
    hwai_status status = call(client, &err);
    if (status != HWAI_OK) {
        fail_msg("%s failed with status %d: %s", description, (int)status, hwai_error_message(err));
    }
    if (err) {
        fail_msg("%s succeeded but left an error object: %s", description, hwai_error_message(err));
    }
}

static void expect_chat_and_sentiment(hwai_client *client, const char *variant)
{
    char description[160];
    snprintf(description, sizeof(description), "Pangu chat with %s", variant);
    expect_call_ok(call_pangu_chat, client, description);
    snprintf(description, sizeof(description), "sentiment with %s", variant);
    expect_call_ok(call_sentiment, client, description);
}

static hwai_auth_info *auth_info(hwai_client *client, hwai_service service)
{
    hwai_auth_info *info = NULL;
    hwai_error *err = NULL;
    hwai_status status = hwai_client_auth_info(&info, client, service, &err);
    if (status != HWAI_OK) {
        fail_msg(
            "hwai_client_auth_info failed with status %d: %s", (int)status,
            hwai_error_message(err));
    }
    hwai_error_free(err);
    return info;
}

/* ---- emulator control ---- */

static long stat_of(const test_emulator *server, const char *name)
{
    return test_emulator_stat(server, name);
}

static void set_emulator_clock(long offset_s)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"offset_s\": %ld}", offset_s);
    char *answer = test_emulator_control(&emu, "/_emulator/clock", body);
    assert_non_null(answer);
    free(answer);
}

static void revoke_tokens(void)
{
    char *answer = test_emulator_control(&emu, "/_emulator/revoke_tokens", "{}");
    assert_non_null(answer);
    free(answer);
}

/* Returns the first line of the string to sign that the emulator rebuilt for
 * the last request whose signature did not match, or "" when none. */
static void last_string_to_sign_algorithm(char *out, size_t size)
{
    out[0] = '\0';
    char *body = test_emulator_control(&emu, "/_emulator/last_auth_failure", NULL);
    assert_non_null(body);
    json_t *root = json_loads(body, 0, NULL);
    free(body);
    json_t *failure = json_object_get(root, "last_auth_failure");
    const char *string_to_sign = json_string_value(json_object_get(failure, "string_to_sign"));
    if (string_to_sign) {
        snprintf(out, size, "%.*s", (int)strcspn(string_to_sign, "\n"), string_to_sign);
    }
    json_decref(root);
}

/* Returns the name that the Authorization header and the string to sign use. */
static const char *algorithm_name(hwai_sign_algorithm algorithm)
{
    return algorithm == HWAI_SIGN_V11_HMAC_SHA256 ? "V11-HMAC-SHA256" : "SDK-HMAC-SHA256";
}

/* ---- fixtures ---- */

static int start_shared_emulator(void **state)
{
    (void)state;
    const char *const args[] = { "--project", SOUTHWEST_REGION "=" SOUTHWEST_PROJECT_ID, NULL };
    return test_emulator_start(&emu, args) ? 0 : -1;
}

static int stop_shared_emulator(void **state)
{
    (void)state;
    test_emulator_stop(&emu);
    return 0;
}

/* Zeroes the counters, queued scripts and the clock offset, and clears the
 * log. Tokens issued to earlier tests stay valid but belong to clients that
 * are gone. */
static int reset_emulator(void **state)
{
    (void)state;
    pthread_mutex_lock(&log_lock);
    log_len = 0;
    log_text[0] = '\0';
    pthread_mutex_unlock(&log_lock);
    return test_emulator_reset(&emu) ? 0 : -1;
}

/* ---- credential kinds ---- */

/* Variants: AK/SK, and temporary AK/SK with the emulator's security token.
 * Each signs a Pangu chat and a sentiment request. */
static void test_aksk_plain_and_temporary(void **state)
{
    (void)state;
    const char *tokens[] = { NULL, EMU_SECURITY_TOKEN };
    for (size_t i = 0; i < 2; i++) {
        hwai_credentials *creds = aksk_credentials(EMU_AK, EMU_SK, tokens[i]);
        hwai_client_options opts = emulator_options(creds);
        hwai_client *client = new_client(&opts, creds);
        expect_chat_and_sentiment(client, tokens[i] ? "temporary AK/SK" : "AK/SK");
        hwai_client_free(client);
    }
    assert_int_equal(stat_of(&emu, "by_route.chat"), 2);
    assert_int_equal(stat_of(&emu, "by_route.sentiment"), 2);
    assert_int_equal(stat_of(&emu, "auth_failures"), 0);
    assert_no_secret_logged();
}

typedef struct v11_case {
    const char *name;
    /* Client-wide algorithm; 0 keeps the default. */
    hwai_sign_algorithm client_algorithm;
    /* Algorithm set for NLP alone through hwai_service_config; 0 for none. */
    hwai_sign_algorithm nlp_algorithm;
    hwai_sign_algorithm expected_nlp;
    hwai_sign_algorithm expected_pangu;
} v11_case;

/* Both calls succeed and hwai_client_auth_info reports each service's
 * algorithm. A request signed with a wrong SK shows the algorithm in the
 * string to sign that the emulator rebuilt, so the setting reaches the wire.
 * Variants:
 * - V11-HMAC-SHA256 for the whole client;
 * - V11 for NLP only through hwai_service_config, with Pangu left on
 *   SDK-HMAC-SHA256. */
static void test_derived_aksk_v11(void **state)
{
    (void)state;
    const v11_case cases[] = {
        { "client-wide V11", HWAI_SIGN_V11_HMAC_SHA256, 0, HWAI_SIGN_V11_HMAC_SHA256,
          HWAI_SIGN_V11_HMAC_SHA256 },
        { "V11 for NLP only", 0, HWAI_SIGN_V11_HMAC_SHA256, HWAI_SIGN_V11_HMAC_SHA256,
          HWAI_SIGN_SDK_HMAC_SHA256 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const v11_case *c = &cases[i];
        hwai_service_config nlp = { HWAI_SERVICE_NLP, NULL, NULL, NULL, c->nlp_algorithm, NULL };
        for (int wrong_sk = 0; wrong_sk <= 1; wrong_sk++) {
            hwai_credentials *creds = aksk_credentials(EMU_AK, wrong_sk ? WRONG_SK : EMU_SK, NULL);
            hwai_client_options opts = emulator_options(creds);
            opts.signing_algorithm = c->client_algorithm;
            opts.services = &nlp;
            opts.service_count = c->nlp_algorithm ? 1 : 0;
            hwai_client *client = new_client(&opts, creds);
            if (!wrong_sk) {
                expect_chat_and_sentiment(client, c->name);
                hwai_auth_info *info = auth_info(client, HWAI_SERVICE_NLP);
                assert_int_equal(info->signing_algorithm, c->expected_nlp);
                hwai_auth_info_free(info);
                info = auth_info(client, HWAI_SERVICE_PANGU);
                assert_int_equal(info->signing_algorithm, c->expected_pangu);
                hwai_auth_info_free(info);
                hwai_client_free(client);
                continue;
            }
            char algorithm[64];
            hwai_error *err = NULL;
            assert_int_equal(call_sentiment(client, &err), HWAI_E_SERVICE);
            assert_int_equal(hwai_error_http_status(err), 401);
            hwai_error_free(err);
            last_string_to_sign_algorithm(algorithm, sizeof(algorithm));
            assert_string_equal(algorithm, algorithm_name(c->expected_nlp));
            err = NULL;
            assert_int_equal(call_pangu_chat(client, &err), HWAI_E_SERVICE);
            hwai_error_free(err);
            last_string_to_sign_algorithm(algorithm, sizeof(algorithm));
            assert_string_equal(algorithm, algorithm_name(c->expected_pangu));
            hwai_client_free(client);
        }
    }
    assert_no_secret_logged();
}

/* An IAM user token signs in once and then authorizes chat and sentiment in
 * the same project. hwai_client_auth_info reports the token's expiry, read as
 * UTC with its fractional seconds while the local time zone is 8 hours off. */
static void test_iam_token_chat_and_sentiment(void **state)
{
    (void)state;
    const char *old_tz = getenv("TZ");
    char *saved_tz = old_tz ? strdup(old_tz) : NULL;
    assert_int_equal(setenv("TZ", "XST-8", 1), 0);
    tzset();
    hwai_credentials *creds = iam_credentials(IAM_PASSWORD);
    hwai_client_options opts = emulator_options(creds);
    hwai_client *client = new_client(&opts, creds);
    time_t before = time(NULL);
    expect_chat_and_sentiment(client, "an IAM token");
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 1);

    hwai_auth_info *info = auth_info(client, HWAI_SERVICE_NLP);
    assert_int_equal(info->kind, HWAI_CREDENTIALS_IAM_PASSWORD);
    assert_string_equal(info->project_id, EMU_PROJECT_ID);
    assert_null(info->access_key_id);
    assert_true(info->token_expires_at >= (int64_t)before + TOKEN_LIFETIME_S - 5);
    assert_true(info->token_expires_at <= (int64_t)time(NULL) + TOKEN_LIFETIME_S + 5);
    hwai_auth_info_free(info);
    if (saved_tz) {
        setenv("TZ", saved_tz, 1);
    } else {
        unsetenv("TZ");
    }
    free(saved_tz);
    tzset();
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 1);
    assert_int_equal(stat_of(&emu, "auth_failures"), 0);
    hwai_client_free(client);
    assert_no_secret_logged();
}

/* A path with {project_id} and no project id to fill it fails locally with
 * HWAI_E_CONFIG naming the option, and nothing is sent. An empty project_id
 * counts as unset. Variants:
 * - AK/SK with project_id "" and no region, so no lookup is possible;
 * - an IAM token with project_id "" in a region, because IAM credentials
 *   cannot look a project id up (and no token is requested either). */
static void test_missing_project_id_local(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        hwai_credentials *creds =
            variant == 0 ? aksk_credentials(EMU_AK, EMU_SK, NULL) : iam_credentials(IAM_PASSWORD);
        hwai_client_options opts = emulator_options(creds);
        opts.project_id = "";
        opts.region = variant == 0 ? NULL : REGION;
        hwai_client *client = new_client(&opts, creds);
        hwai_error *err = NULL;
        assert_int_equal(call_sentiment(client, &err), HWAI_E_CONFIG);
        assert_non_null(strstr(hwai_error_message(err), "project_id"));
        assert_int_equal(hwai_error_attempts(err), 0);
        hwai_error_free(err);
        err = NULL;
        assert_int_equal(call_pangu_chat(client, &err), HWAI_E_CONFIG);
        assert_non_null(strstr(hwai_error_message(err), "project_id"));
        hwai_error_free(err);
        hwai_client_free(client);
    }
    assert_int_equal(stat_of(&emu, "requests"), 0);
}

/* An API key on the OpenAI-compatible path, with the model set. */
static void test_api_key_openai_path(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_api_key(&creds, EMU_API_KEY, NULL), HWAI_OK);
    hwai_client_options opts = emulator_options(creds);
    hwai_client *client = new_client(&opts, creds);
    expect_call_ok(call_openai_chat, client, "OpenAI-compatible chat with an API key");
    assert_int_equal(stat_of(&emu, "by_route.chat"), 1);
    assert_int_equal(stat_of(&emu, "auth_failures"), 0);

    hwai_auth_info *info = auth_info(client, HWAI_SERVICE_MAAS);
    assert_int_equal(info->kind, HWAI_CREDENTIALS_API_KEY);
    assert_int_equal(info->signing_algorithm, 0);
    hwai_auth_info_free(info);
    hwai_client_free(client);
    assert_no_secret_logged();
}

/* Variants: a sentiment call, a Pangu chat and hwai_client_auth_info with a
 * wrong IAM password. Each is HTTP 401 from IAM, the message lacks the
 * password, and no service request leaves without a token. */
static void test_iam_wrong_password(void **state)
{
    (void)state;
    hwai_credentials *creds = iam_credentials(WRONG_PASSWORD);
    hwai_client_options opts = emulator_options(creds);
    hwai_client *client = new_client(&opts, creds);
    for (int variant = 0; variant < 3; variant++) {
        hwai_error *err = NULL;
        hwai_status status;
        hwai_auth_info *info = NULL;
        if (variant == 0) {
            status = call_sentiment(client, &err);
        } else if (variant == 1) {
            status = call_pangu_chat(client, &err);
        } else {
            status = hwai_client_auth_info(&info, client, HWAI_SERVICE_NLP, &err);
        }
        assert_int_equal(status, HWAI_E_SERVICE);
        assert_null(info);
        assert_int_equal(hwai_error_http_status(err), 401);
        const char *message = hwai_error_message(err);
        assert_non_null(strstr(message, "IAM token request failed"));
        assert_null(strstr(message, WRONG_PASSWORD));
        hwai_error_free(err);
    }
    assert_int_equal(stat_of(&emu, "by_route.sentiment"), 0);
    assert_int_equal(stat_of(&emu, "by_route.chat"), 0);
    /* One token request in all: a 401 from IAM is not retried, and the rejected
     * password is not sent again for a few seconds. */
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 1);
    hwai_client_free(client);
    assert_no_secret_logged();
}

/* ---- IAM token refresh ---- */

typedef struct call_wave {
    hwai_client *client;
    pthread_barrier_t *start;
    hwai_status statuses[CALLS_PER_THREAD];
    /* Set when a call succeeded but left an error object behind. */
    bool error_left[CALLS_PER_THREAD];
} call_wave;

/* Waits for every thread, then alternates sentiment and Pangu chat calls. */
static void *run_calls(void *arg)
{
    call_wave *wave = arg;
    pthread_barrier_wait(wave->start);
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        hwai_error *err = NULL;
        wave->statuses[i] =
            (i % 2 == 0) ? call_sentiment(wave->client, &err) : call_pangu_chat(wave->client, &err);
        if (wave->statuses[i] != HWAI_OK) {
            fprintf(stderr, "call %d failed: %s\n", i, hwai_error_message(err));
        } else {
            wave->error_left[i] = err != NULL;
        }
        hwai_error_free(err);
    }
    return NULL;
}

/* Runs CALLS_PER_THREAD calls on each of THREADS threads that start together,
 * and asserts that every call succeeded. */
static void run_wave(hwai_client *client)
{
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    pthread_t threads[THREADS];
    call_wave waves[THREADS];
    for (int i = 0; i < THREADS; i++) {
        waves[i] = (call_wave){ .client = client, .start = &start };
        assert_int_equal(pthread_create(&threads[i], NULL, run_calls, &waves[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    pthread_barrier_destroy(&start);
    for (int i = 0; i < THREADS; i++) {
        for (int j = 0; j < CALLS_PER_THREAD; j++) {
            assert_int_equal(waves[i].statuses[j], HWAI_OK);
            assert_false(waves[i].error_left[j]);
        }
    }
}

/* Each wave of calls causes exactly one IAM token request. Variants:
 * - the first wave of 8 threads on a new client;
 * - a second wave after the emulator's clock moved past the token's expiry.
 *   The gateway then rejects the cached token, which the client still thinks
 *   valid. */
static void test_token_single_flight(void **state)
{
    (void)state;
    hwai_credentials *creds = iam_credentials(IAM_PASSWORD);
    hwai_client_options opts = emulator_options(creds);
    hwai_client *client = new_client(&opts, creds);
    const long calls_per_wave = THREADS * CALLS_PER_THREAD;

    run_wave(client);
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 1);
    assert_int_equal(stat_of(&emu, "auth_failures"), 0);
    assert_int_equal(stat_of(&emu, "requests"), calls_per_wave + 1);

    set_emulator_clock(TOKEN_LIFETIME_S + 60);
    run_wave(client);
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 2);
    /* Each thread whose first call went out with the old token got one 401
     * and repeated that call once with the new token. */
    long rejected = stat_of(&emu, "auth_failures");
    assert_true(rejected >= 1);
    assert_true(rejected <= THREADS);
    assert_int_equal(stat_of(&emu, "requests"), 2 * calls_per_wave + 2 + rejected);
    hwai_client_free(client);
    assert_no_secret_logged();
}

/* A token revoked at the gateway while the client still thinks it valid:
 * the next call gets 401, fetches one new token and succeeds, and the call
 * after it reuses that token. Variants: a sentiment call, and a streamed chat
 * after a second revocation. */
static void test_token_revoked_refreshed_once(void **state)
{
    (void)state;
    hwai_credentials *creds = iam_credentials(IAM_PASSWORD);
    hwai_client_options opts = emulator_options(creds);
    hwai_client *client = new_client(&opts, creds);
    expect_call_ok(call_sentiment, client, "sentiment before revocation");
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 1);

    revoke_tokens();
    expect_call_ok(call_sentiment, client, "sentiment after revocation");
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 2);
    assert_int_equal(stat_of(&emu, "by_route.sentiment"), 3);
    assert_int_equal(stat_of(&emu, "auth_failures"), 1);
    expect_call_ok(call_pangu_chat, client, "chat with the new token");
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 2);
    assert_int_equal(stat_of(&emu, "auth_failures"), 1);

    /* A stream opened after a second revocation refreshes the same way. */
    revoke_tokens();
    expect_call_ok(call_pangu_chat_stream, client, "chat stream after revocation");
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 3);
    assert_int_equal(stat_of(&emu, "by_route.chat"), 3);
    assert_int_equal(stat_of(&emu, "auth_failures"), 2);
    hwai_client_free(client);
    assert_no_secret_logged();
}

#define TOKEN_EXPIRED_401                                                                    \
    "{\"status\": 401, \"body\": \"{\\\"error_code\\\":\\\"APIG.0307\\\",\\\"error_msg\\\":" \
    "\\\"The token must be updated.\\\"}\"}"

/* A rejected token is refreshed at most once per call. Variants:
 * - an IAM token call that gets 401 twice in a row refreshes the token once
 *   and then returns the second 401;
 * - an AK/SK call that gets 401 returns it at once, with no refresh and no
 *   retry. */
static void test_token_rejected_twice_no_loop(void **state)
{
    (void)state;
    hwai_credentials *creds = iam_credentials(IAM_PASSWORD);
    hwai_client_options opts = emulator_options(creds);
    hwai_client *client = new_client(&opts, creds);
    expect_call_ok(call_sentiment, client, "sentiment before the scripted 401s");
    assert_true(test_emulator_script(
        &emu, "{\"route\": \"sentiment\", \"responses\": [" TOKEN_EXPIRED_401 ", " TOKEN_EXPIRED_401
              "]}"));

    hwai_error *err = NULL;
    assert_int_equal(call_sentiment(client, &err), HWAI_E_SERVICE);
    assert_int_equal(hwai_error_http_status(err), 401);
    assert_string_equal(hwai_error_code(err), "APIG.0307");
    hwai_error_free(err);
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 2);
    assert_int_equal(stat_of(&emu, "by_route.sentiment"), 3);
    assert_int_equal(stat_of(&emu, "scripts_pending.sentiment"), 0);

    /* The token fetched during the failed call is still cached and valid. */
    expect_call_ok(call_sentiment, client, "sentiment after the scripted 401s");
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 2);
    hwai_client_free(client);

    creds = aksk_credentials(EMU_AK, EMU_SK, NULL);
    opts = emulator_options(creds);
    client = new_client(&opts, creds);
    assert_true(test_emulator_script(
        &emu, "{\"route\": \"sentiment\", \"responses\": [" TOKEN_EXPIRED_401 "]}"));
    err = NULL;
    assert_int_equal(call_sentiment(client, &err), HWAI_E_SERVICE);
    assert_int_equal(hwai_error_http_status(err), 401);
    assert_int_equal(hwai_error_attempts(err), 1);
    hwai_error_free(err);
    assert_int_equal(stat_of(&emu, "by_route.sentiment"), 5);
    assert_int_equal(stat_of(&emu, "by_route.iam_token"), 2);
    hwai_client_free(client);
    assert_no_secret_logged();
}

typedef struct margin_case {
    /* Seconds between the token's expires_at and the client's clock. */
    long seconds_left;
    /* IAM token requests for one hwai_client_auth_info and two calls. */
    long expected_token_requests;
} margin_case;

/* The emulator's clock is moved back so that it issues tokens close to
 * expiry. Variants:
 * - 100 s left, inside the 300 s refresh margin: fetched again before every use;
 * - 400 s left: reused. */
static void test_token_refresh_margin(void **state)
{
    (void)state;
    const margin_case cases[] = {
        { REFRESH_MARGIN_S - 200, 3 },
        { REFRESH_MARGIN_S + 100, 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_true(test_emulator_reset(&emu));
        set_emulator_clock(cases[i].seconds_left - TOKEN_LIFETIME_S);
        hwai_credentials *creds = iam_credentials(IAM_PASSWORD);
        hwai_client_options opts = emulator_options(creds);
        hwai_client *client = new_client(&opts, creds);

        time_t before = time(NULL);
        hwai_auth_info *info = auth_info(client, HWAI_SERVICE_NLP);
        assert_true(info->token_expires_at >= (int64_t)before + cases[i].seconds_left - 5);
        assert_true(info->token_expires_at <= (int64_t)time(NULL) + cases[i].seconds_left + 5);
        hwai_auth_info_free(info);
        expect_call_ok(call_sentiment, client, "first sentiment");
        expect_call_ok(call_pangu_chat, client, "then chat");
        assert_int_equal(stat_of(&emu, "by_route.iam_token"), cases[i].expected_token_requests);
        assert_int_equal(stat_of(&emu, "auth_failures"), 0);
        hwai_client_free(client);
    }
    assert_no_secret_logged();
}

/* ---- project id lookup ---- */

/* Starts an emulator of its own that accepts ak, with extra arguments. */
static void start_lookup_emulator(test_emulator *server, const char *ak, const char *project_arg)
{
    const char *const args[] = { "--ak", ak, project_arg ? "--project" : NULL, project_arg, NULL };
    assert_true(test_emulator_start(server, args));
}

/* A client in REGION without a project id, whose IAM and NLP endpoints are
 * the given emulator. */
static hwai_client *lookup_client(const test_emulator *server, const char *ak)
{
    hwai_credentials *creds = aksk_credentials(ak, EMU_SK, NULL);
    hwai_client_options opts = emulator_options(creds);
    hwai_service_config nlp = { HWAI_SERVICE_NLP, NULL, server->base_url, NULL, 0, NULL };
    opts.endpoint = NULL;
    opts.project_id = NULL;
    opts.iam_endpoint = server->base_url;
    opts.services = &nlp;
    opts.service_count = 1;
    return new_client(&opts, creds);
}

/* The first sentiment call looks the project id up through IAM; the second
 * call and hwai_client_auth_info take it from the cache. */
static void test_lookup_through_client(void **state)
{
    (void)state;
    const char *ak = "HWAILOOKUPONEAK00001";
    test_emulator server;
    start_lookup_emulator(&server, ak, NULL);
    hwai_client *client = lookup_client(&server, ak);
    for (long call = 1; call <= 2; call++) {
        expect_call_ok(call_sentiment, client, "sentiment with a looked-up project id");
        assert_int_equal(stat_of(&server, "by_route.iam_projects"), 1);
        assert_int_equal(stat_of(&server, "by_route.sentiment"), call);
    }
    hwai_auth_info *info = auth_info(client, HWAI_SERVICE_NLP);
    assert_string_equal(info->region, REGION);
    assert_string_equal(info->project_id, EMU_PROJECT_ID);
    hwai_auth_info_free(info);
    assert_int_equal(stat_of(&server, "by_route.iam_projects"), 1);
    assert_int_equal(stat_of(&server, "auth_failures"), 0);
    hwai_client_free(client);
    test_emulator_stop(&server);
}

#define LOOKUP_FIRST_ID "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LOOKUP_SECOND_ID "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

typedef struct lookup_case {
    const char *ak;
    const char *project_arg;
    hwai_status expected_status;
    /* Texts the error message must contain, NULL-terminated. */
    const char *message_parts[4];
    /* Project id the call must use when it succeeds. */
    const char *expected_project_id;
} lookup_case;

/* A failed lookup sends no service request. Variants:
 * - IAM lists no project for the region: an error naming the region;
 * - two projects both named cn-north-4: an error listing both ids;
 * - cn-north-4 and cn-north-4_dev: the exact name wins. */
static void test_lookup_zero_two_and_exact(void **state)
{
    (void)state;
    const lookup_case cases[] = {
        { "HWAILOOKUPZEROAK0001",
          REGION "=",
          HWAI_E_CONFIG,
          { "'" REGION "'", "project id lookup", NULL },
          NULL },
        { "HWAILOOKUPTWOAK00001",
          REGION "=" LOOKUP_FIRST_ID "," LOOKUP_SECOND_ID,
          HWAI_E_CONFIG,
          { "'" REGION "'", LOOKUP_FIRST_ID, LOOKUP_SECOND_ID, NULL },
          NULL },
        { "HWAILOOKUPDEVAK00001",
          REGION "=" LOOKUP_FIRST_ID ":" REGION "_dev," LOOKUP_SECOND_ID,
          HWAI_OK,
          { NULL },
          LOOKUP_SECOND_ID },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const lookup_case *c = &cases[i];
        test_emulator server;
        start_lookup_emulator(&server, c->ak, c->project_arg);
        hwai_client *client = lookup_client(&server, c->ak);
        hwai_error *err = NULL;
        hwai_status status = call_sentiment(client, &err);
        if (status != c->expected_status) {
            fail_msg(
                "case %zu: status %d, expected %d: %s", i, (int)status, (int)c->expected_status,
                hwai_error_message(err));
        }
        for (size_t j = 0; c->message_parts[j]; j++) {
            if (!strstr(hwai_error_message(err), c->message_parts[j])) {
                fail_msg(
                    "case %zu: message '%s' lacks '%s'", i, hwai_error_message(err),
                    c->message_parts[j]);
            }
        }
        hwai_error_free(err);
        assert_int_equal(stat_of(&server, "by_route.iam_projects"), 1);
        assert_int_equal(stat_of(&server, "by_route.sentiment"), status == HWAI_OK ? 1 : 0);
        if (c->expected_project_id) {
            hwai_auth_info *info = auth_info(client, HWAI_SERVICE_NLP);
            assert_string_equal(info->project_id, c->expected_project_id);
            hwai_auth_info_free(info);
        }
        hwai_client_free(client);
        test_emulator_stop(&server);
    }
}

/* ---- regions ---- */

/* NLP in the default region cn-north-4 and Pangu in cn-southwest-2, each with
 * its own project id from region_projects, on one client. */
static void test_two_regions_one_client(void **state)
{
    (void)state;
    hwai_credentials *creds = aksk_credentials(EMU_AK, EMU_SK, NULL);
    hwai_client_options opts = emulator_options(creds);
    const hwai_service_config services[] = {
        { HWAI_SERVICE_NLP, NULL, emu.base_url, NULL, 0, NULL },
        { HWAI_SERVICE_PANGU, SOUTHWEST_REGION, emu.base_url, NULL, 0, NULL },
    };
    const hwai_region_project projects[] = {
        { REGION, EMU_PROJECT_ID },
        { SOUTHWEST_REGION, SOUTHWEST_PROJECT_ID },
    };
    opts.endpoint = NULL;
    opts.project_id = NULL;
    opts.services = services;
    opts.service_count = 2;
    opts.region_projects = projects;
    opts.region_project_count = 2;
    hwai_client *client = new_client(&opts, creds);
    expect_chat_and_sentiment(client, "two regions");

    hwai_auth_info *info = auth_info(client, HWAI_SERVICE_NLP);
    assert_string_equal(info->region, REGION);
    assert_string_equal(info->project_id, EMU_PROJECT_ID);
    hwai_auth_info_free(info);
    info = auth_info(client, HWAI_SERVICE_PANGU);
    assert_string_equal(info->region, SOUTHWEST_REGION);
    assert_string_equal(info->project_id, SOUTHWEST_PROJECT_ID);
    hwai_auth_info_free(info);
    assert_int_equal(stat_of(&emu, "by_route.iam_projects"), 0);
    assert_int_equal(stat_of(&emu, "auth_failures"), 0);
    hwai_client_free(client);
}

/* With no endpoint options, hwai_client_auth_info for AK/SK with a project id
 * describes each service without any request. The emulator is the IAM
 * endpoint, so its counters show that nothing is sent. */
static void test_auth_info_without_network(void **state)
{
    (void)state;
    hwai_credentials *creds = aksk_credentials(EMU_AK, EMU_SK, NULL);
    hwai_client_options opts = emulator_options(creds);
    opts.endpoint = NULL;
    hwai_client *client = new_client(&opts, creds);
    const hwai_service services[] = { HWAI_SERVICE_NLP, HWAI_SERVICE_PANGU, HWAI_SERVICE_OCR };
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
        hwai_auth_info *info = auth_info(client, services[i]);
        assert_int_equal(info->kind, HWAI_CREDENTIALS_AKSK);
        assert_string_equal(info->source, "explicit");
        assert_string_equal(info->access_key_id, EMU_AK);
        assert_string_equal(info->region, REGION);
        assert_string_equal(info->project_id, EMU_PROJECT_ID);
        assert_int_equal(info->signing_algorithm, HWAI_SIGN_SDK_HMAC_SHA256);
        assert_int_equal(info->token_expires_at, 0);
        hwai_auth_info_free(info);
    }
    assert_int_equal(stat_of(&emu, "requests"), 0);
    hwai_client_free(client);
}

typedef struct unknown_region_case {
    hwai_service service;
    const char *known_region;
    const char *variable_prefix;
} unknown_region_case;

/* A service in a region that the table lacks, with no endpoint set, fails
 * before anything is sent. The error names the region, the known regions and
 * the overrides. Variants: NLP (known region cn-north-4) and Pangu (known
 * region cn-southwest-2). */
static void test_unknown_region_lists_known(void **state)
{
    (void)state;
    const unknown_region_case cases[] = {
        { HWAI_SERVICE_NLP, "cn-north-4", "HUAWEICLOUD_SDK_REGION_NLP_" },
        { HWAI_SERVICE_PANGU, "cn-southwest-2", "HUAWEICLOUD_SDK_REGION_PANGULARGEMODELS_" },
    };
    hwai_credentials *creds = aksk_credentials(EMU_AK, EMU_SK, NULL);
    hwai_client_options opts = emulator_options(creds);
    opts.endpoint = NULL;
    opts.region = "xx-nowhere-1";
    hwai_client *client = new_client(&opts, creds);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hwai_error *err = NULL;
        hwai_status status = cases[i].service == HWAI_SERVICE_NLP ? call_sentiment(client, &err)
                                                                  : call_pangu_chat(client, &err);
        assert_int_equal(status, HWAI_E_CONFIG);
        const char *message = hwai_error_message(err);
        assert_non_null(strstr(message, "'xx-nowhere-1'"));
        assert_non_null(strstr(message, cases[i].known_region));
        assert_non_null(strstr(message, cases[i].variable_prefix));
        assert_non_null(strstr(message, "hwai_service_config.endpoint"));
        assert_int_equal(hwai_error_attempts(err), 0);
        hwai_error_free(err);
    }
    assert_int_equal(stat_of(&emu, "requests"), 0);
    hwai_client_free(client);
}

typedef struct region_variable_case {
    const char *region;
    const char *variable;
    /* Text after the emulator's URL in the variable's value. */
    const char *url_suffix;
} region_variable_case;

/* The variable is set before the client is made and removed after. Variants:
 * - HUAWEICLOUD_SDK_REGION_NLP_XX_NOWHERE_1 makes a region that the table
 *   lacks usable;
 * - HUAWEICLOUD_SDK_REGION_NLP_CN_NORTH_4 replaces the table's endpoint;
 * - the same variable with the emulator first in a comma-separated list.
 * The unknown region comes first because, if the library ignored the
 * variable, that call fails with HWAI_E_CONFIG instead of reaching a real
 * Huawei Cloud host, and the later cases are not run. */
static void test_region_variable_routes(void **state)
{
    (void)state;
    const region_variable_case cases[] = {
        { "xx-nowhere-1", "HUAWEICLOUD_SDK_REGION_NLP_XX_NOWHERE_1", "" },
        { REGION, "HUAWEICLOUD_SDK_REGION_NLP_CN_NORTH_4", "" },
        { REGION, "HUAWEICLOUD_SDK_REGION_NLP_CN_NORTH_4", " , http://127.0.0.1:1" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char value[160];
        snprintf(value, sizeof(value), "%s%s", emu.base_url, cases[i].url_suffix);
        assert_int_equal(setenv(cases[i].variable, value, 1), 0);
        hwai_credentials *creds = aksk_credentials(EMU_AK, EMU_SK, NULL);
        hwai_client_options opts = emulator_options(creds);
        opts.endpoint = NULL;
        opts.region = cases[i].region;
        hwai_client *client = new_client(&opts, creds);
        hwai_error *err = NULL;
        hwai_status status = call_sentiment(client, &err);
        hwai_client_free(client);
        unsetenv(cases[i].variable);
        if (status != HWAI_OK) {
            fail_msg(
                "sentiment routed by %s failed with status %d: %s", cases[i].variable, (int)status,
                hwai_error_message(err));
        }
        assert_null(err);
        assert_int_equal(stat_of(&emu, "by_route.sentiment"), (long)i + 1);
    }
}

/* ---- credential chain ---- */

static const char *const sdk_variables[] = {
    "HUAWEICLOUD_SDK_AK",           "HUAWEICLOUD_SDK_SK",        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "HUAWEICLOUD_SDK_PROJECT_ID",   "HUAWEICLOUD_SDK_DOMAIN_ID", "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
    "HUAWEICLOUD_SDK_IAM_ENDPOINT",
};

static void write_profile(const char *path, const char *sk)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fprintf(file, "[basic]\nak = %s\nsk = %s\nproject_id = %s\n", EMU_AK, sk, EMU_PROJECT_ID);
    assert_int_equal(fclose(file), 0);
}

/* Makes chain credentials, a client without a project id option, and one
 * sentiment call; returns the source hwai_client_auth_info reports (caller
 * frees). */
static char *call_with_chain_credentials(void)
{
    hwai_credentials *creds = NULL;
    hwai_error *err = NULL;
    hwai_status status = hwai_credentials_new_from_chain(&creds, NULL, &err);
    if (status != HWAI_OK) {
        fail_msg("hwai_credentials_new_from_chain failed: %s", hwai_error_message(err));
    }
    hwai_client_options opts = emulator_options(creds);
    opts.project_id = NULL;
    hwai_client *client = new_client(&opts, creds);
    expect_call_ok(call_sentiment, client, "sentiment with chain credentials");
    hwai_auth_info *info = auth_info(client, HWAI_SERVICE_NLP);
    assert_string_equal(info->project_id, EMU_PROJECT_ID);
    char *source = strdup(info->source);
    hwai_auth_info_free(info);
    hwai_client_free(client);
    return source;
}

/* Variants:
 * - the profile file in a temporary HOME, with the environment cleared: the
 *   source is "profile file <path>";
 * - AK/SK in the environment while the profile contains a wrong SK: the source
 *   is "environment" and the call succeeds, so the environment wins. */
static void test_chain_profile_then_environment(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    char home[256];
    snprintf(home, sizeof(home), "%s/hwai-client-auth-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(home));
    char dir[300];
    char profile[340];
    snprintf(dir, sizeof(dir), "%s/.huaweicloud", home);
    snprintf(profile, sizeof(profile), "%s/credentials", dir);
    assert_int_equal(mkdir(dir, 0700), 0);

    const char *old_home = getenv("HOME");
    char *saved_home = old_home ? strdup(old_home) : NULL;
    assert_int_equal(setenv("HOME", home, 1), 0);
    for (size_t i = 0; i < sizeof(sdk_variables) / sizeof(sdk_variables[0]); i++) {
        unsetenv(sdk_variables[i]);
    }

    write_profile(profile, EMU_SK);
    char *source = call_with_chain_credentials();
    char expected[400];
    snprintf(expected, sizeof(expected), "profile file %s", profile);
    assert_string_equal(source, expected);
    free(source);

    write_profile(profile, WRONG_SK);
    setenv("HUAWEICLOUD_SDK_AK", EMU_AK, 1);
    setenv("HUAWEICLOUD_SDK_SK", EMU_SK, 1);
    setenv("HUAWEICLOUD_SDK_PROJECT_ID", EMU_PROJECT_ID, 1);
    source = call_with_chain_credentials();
    assert_string_equal(source, "environment");
    free(source);
    assert_int_equal(stat_of(&emu, "by_route.sentiment"), 2);
    assert_int_equal(stat_of(&emu, "auth_failures"), 0);

    for (size_t i = 0; i < sizeof(sdk_variables) / sizeof(sdk_variables[0]); i++) {
        unsetenv(sdk_variables[i]);
    }
    if (saved_home) {
        setenv("HOME", saved_home, 1);
    } else {
        unsetenv("HOME");
    }
    free(saved_home);
    assert_int_equal(remove(profile), 0);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(rmdir(home), 0);
    assert_no_secret_logged();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_aksk_plain_and_temporary, reset_emulator),
        cmocka_unit_test_setup(test_derived_aksk_v11, reset_emulator),
        cmocka_unit_test_setup(test_iam_token_chat_and_sentiment, reset_emulator),
        cmocka_unit_test_setup(test_missing_project_id_local, reset_emulator),
        cmocka_unit_test_setup(test_api_key_openai_path, reset_emulator),
        cmocka_unit_test_setup(test_iam_wrong_password, reset_emulator),
        cmocka_unit_test_setup(test_token_single_flight, reset_emulator),
        cmocka_unit_test_setup(test_token_revoked_refreshed_once, reset_emulator),
        cmocka_unit_test_setup(test_token_rejected_twice_no_loop, reset_emulator),
        cmocka_unit_test_setup(test_token_refresh_margin, reset_emulator),
        cmocka_unit_test_setup(test_lookup_through_client, reset_emulator),
        cmocka_unit_test_setup(test_lookup_zero_two_and_exact, reset_emulator),
        cmocka_unit_test_setup(test_two_regions_one_client, reset_emulator),
        cmocka_unit_test_setup(test_auth_info_without_network, reset_emulator),
        cmocka_unit_test_setup(test_unknown_region_lists_known, reset_emulator),
        cmocka_unit_test_setup(test_region_variable_routes, reset_emulator),
        cmocka_unit_test_setup(test_chain_profile_then_environment, reset_emulator),
    };
    return cmocka_run_group_tests(tests, start_shared_emulator, stop_shared_emulator);
}
