/* The fault matrix: throttling, resets, stalls, cut streams and cancellation,
 * scripted through the emulator's control endpoint, one test per row. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/pipeline.h"
#include "emulator.h"
#include "hwai/hwai.h"

static test_emulator emu;

static int group_setup(void **state)
{
    (void)state;
    return test_emulator_start(&emu, NULL) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_emulator_stop(&emu);
    return 0;
}

static int reset_emulator(void **state)
{
    (void)state;
    return test_emulator_reset(&emu) ? 0 : -1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A client on the emulator with a fast retry policy, so tests wait little. */
static hwai_client *make_client(const char *sk, uint32_t max_attempts)
{
    hwai_credentials *creds = NULL;
    assert_int_equal(
        hwai_credentials_new_aksk(&creds, EMU_AK, sk ? sk : EMU_SK, NULL, NULL), HWAI_OK);
    hwai_retry_policy policy = HWAI_RETRY_POLICY_INIT;
    policy.max_attempts = max_attempts;
    policy.base_delay_ms = 10;
    policy.max_delay_ms = 2000;
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = emu.base_url;
    opts.project_id = EMU_PROJECT_ID;
    opts.credentials = creds;
    opts.retry = &policy;
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_OK);
    hwai_credentials_free(creds);
    return client;
}

static hwai_status
sentiment(hwai_client *client, uint32_t deadline_ms, hwai_cancel_token *cancel, hwai_error **err)
{
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = "服务很好";
    req.deadline_ms = deadline_ms;
    req.cancel = cancel;
    hwai_sentiment_result *result = NULL;
    hwai_status status = hwai_nlp_sentiment(&result, client, &req, err);
    hwai_sentiment_result_free(result);
    return status;
}

static const char throttle_entry[] =
    "{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},"
    "\"body\":\"{\\\"error_code\\\":\\\"APIG.0308\\\",\\\"error_msg\\\":\\\"throttled\\\"}\"}";

static void test_throttled_twice_then_served(void **state)
{
    (void)state;
    char script[512];
    snprintf(
        script, sizeof(script), "{\"route\":\"sentiment\",\"responses\":[%s,%s]}", throttle_entry,
        throttle_entry);
    assert_true(test_emulator_script(&emu, script));
    hwai_client *client = make_client(NULL, 3);
    hwai_error *err = NULL;
    uint64_t start = now_ms();
    assert_int_equal(sentiment(client, 0, NULL, &err), HWAI_OK);
    uint64_t elapsed = now_ms() - start;
    /* Retry-After: 1 twice: at least two seconds of waiting, not the 10 ms base. */
    assert_true(elapsed >= 2000);
    assert_true(elapsed < 5000);
    assert_int_equal(test_emulator_stat(&emu, "by_route.sentiment"), 3);
    hwai_client_free(client);
}

static void test_throttled_forever_fails(void **state)
{
    (void)state;
    char script[1024];
    snprintf(
        script, sizeof(script), "{\"route\":\"sentiment\",\"responses\":[%s,%s,%s,%s]}",
        throttle_entry, throttle_entry, throttle_entry, throttle_entry);
    assert_true(test_emulator_script(&emu, script));
    hwai_client *client = make_client(NULL, 3);
    hwai_error *err = NULL;
    assert_int_equal(sentiment(client, 0, NULL, &err), HWAI_E_SERVICE);
    assert_int_equal(hwai_error_http_status(err), 429);
    assert_true(hwai_error_code_is(err, "APIG.0308"));
    assert_int_equal(hwai_error_attempts(err), 3);
    assert_int_equal(test_emulator_stat(&emu, "by_route.sentiment"), 3);
    hwai_error_free(err);
    hwai_client_free(client);
}

static void test_unauthorized_never_retried(void **state)
{
    (void)state;
    hwai_client *client = make_client("not-the-secret-key", 5);
    hwai_error *err = NULL;
    assert_int_equal(sentiment(client, 0, NULL, &err), HWAI_E_SERVICE);
    assert_int_equal(hwai_error_http_status(err), 401);
    assert_int_equal(hwai_error_attempts(err), 1);
    assert_int_equal(test_emulator_stat(&emu, "by_route.sentiment"), 1);
    hwai_error_free(err);
    hwai_client_free(client);
}

static void test_reset_before_response_retried(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &emu, "{\"route\":\"sentiment\",\"responses\":[{\"reset\":\"before_response\"}]}"));
    hwai_client *client = make_client(NULL, 3);
    hwai_error *err = NULL;
    hwai_status status = sentiment(client, 0, NULL, &err);
    if (status != HWAI_OK) {
        fail_msg("%s", hwai_error_message(err));
    }
    assert_int_equal(test_emulator_stat(&emu, "by_route.sentiment"), 2);
    hwai_client_free(client);
}

static void test_reset_mid_body_not_idempotent(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &emu, "{\"route\":\"echo\",\"responses\":[{\"reset\":\"mid_body\",\"after_bytes\":5}]}"));
    hwai_client *client = make_client(NULL, 3);
    hwai__call call = {
        .service = HWAI_SERVICE_MODELARTS,
        .operation = "create",
        .method = "POST",
        .path = "/v1/{project_id}/hwai-echo/create",
        .body = "{}",
        .body_len = 2,
        .idempotency = HWAI__NOT_IDEMPOTENT,
    };
    hwai__http_response resp = HWAI__HTTP_RESPONSE_INIT;
    hwai_error *err = NULL;
    hwai_status status = hwai__pipeline_send(client, &call, &resp, &err);
    assert_int_not_equal(status, HWAI_OK);
    assert_int_equal(hwai_error_attempts(err), 1);
    assert_int_equal(test_emulator_stat(&emu, "by_route.echo"), 1);
    hwai_error_free(err);
    hwai__http_response_cleanup(&resp);
    hwai_client_free(client);
}

static void test_stall_past_deadline_times_out(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &emu, "{\"route\":\"sentiment\",\"responses\":[{\"stall_ms\":3000}]}"));
    hwai_client *client = make_client(NULL, 3);
    hwai_error *err = NULL;
    uint64_t start = now_ms();
    assert_int_equal(sentiment(client, 500, NULL, &err), HWAI_E_TIMEOUT);
    uint64_t elapsed = now_ms() - start;
    printf("stall: timed out after %llu ms with a 500 ms deadline\n", (unsigned long long)elapsed);
    assert_true(elapsed >= 450);
    assert_true(elapsed < 500 + 400);
    hwai_error_free(err);
    hwai_client_free(client);
}

static hwai_chat_request stream_request(hwai_chat_message *message, hwai_cancel_token *cancel)
{
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.deployment_id = "d1";
    req.messages = message;
    req.message_count = 1;
    req.cancel = cancel;
    return req;
}

static void test_stream_cut_is_truncation(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &emu, "{\"route\":\"chat\",\"responses\":[{\"stream_cut_after\":3}]}"));
    hwai_client *client = make_client(NULL, 3);
    hwai_chat_message message = { "user", "你好", 0 };
    hwai_chat_request req = stream_request(&message, NULL);
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_OK);
    const hwai_chat_chunk *chunk = NULL;
    hwai_status status;
    while ((status = hwai_chat_stream_next(stream, &chunk, &err)) == HWAI_OK && chunk) {
    }
    assert_int_equal(status, HWAI_E_STREAM_TRUNCATED);
    assert_true(hwai_chat_stream_summary_get(stream)->content_len > 0);
    assert_int_equal(test_emulator_stat(&emu, "by_route.chat"), 1);
    hwai_error_free(err);
    hwai_chat_stream_free(stream);
    hwai_client_free(client);
}

typedef struct delayed_cancel {
    hwai_cancel_token *token;
    unsigned int delay_ms;
    uint64_t cancelled_at;
} delayed_cancel;

static void *cancel_later(void *arg)
{
    delayed_cancel *job = arg;
    usleep(job->delay_ms * 1000u);
    job->cancelled_at = now_ms();
    hwai_cancel_token_cancel(job->token);
    return NULL;
}

static void test_cancel_during_backoff_sleep(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &emu, "{\"route\":\"sentiment\",\"responses\":[{\"status\":429,"
              "\"headers\":{\"Retry-After\":\"10\"},\"body\":\"{}\"}]}"));
    hwai_retry_policy policy = HWAI_RETRY_POLICY_INIT;
    (void)policy;
    hwai_client *client = make_client(NULL, 3);
    hwai_cancel_token *token = NULL;
    assert_int_equal(hwai_cancel_token_new(&token), HWAI_OK);
    delayed_cancel job = { token, 300, 0 };
    pthread_t thread;
    pthread_create(&thread, NULL, cancel_later, &job);
    hwai_error *err = NULL;
    hwai_status status = sentiment(client, 0, token, &err);
    uint64_t returned_at = now_ms();
    pthread_join(thread, NULL);
    assert_int_equal(status, HWAI_E_CANCELLED);
    printf(
        "backoff sleep: returned %llu ms after the cancel\n",
        (unsigned long long)(returned_at - job.cancelled_at));
    assert_true(returned_at - job.cancelled_at < 100);
    hwai_error_free(err);
    hwai_cancel_token_free(token);
    hwai_client_free(client);
}

static void test_cancel_during_stream(void **state)
{
    (void)state;
    /* Stream events 2 s apart: the cancel lands while next() waits. */
    assert_true(test_emulator_script(
        &emu, "{\"route\":\"chat\",\"responses\":[{\"stream_delay_ms\":2000}]}"));
    hwai_client *client = make_client(NULL, 3);
    hwai_cancel_token *token = NULL;
    assert_int_equal(hwai_cancel_token_new(&token), HWAI_OK);
    hwai_chat_message message = { "user", "你好", 0 };
    hwai_chat_request req = stream_request(&message, token);
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_OK);
    delayed_cancel job = { token, 300, 0 };
    pthread_t thread;
    pthread_create(&thread, NULL, cancel_later, &job);
    const hwai_chat_chunk *chunk = NULL;
    hwai_status status;
    while ((status = hwai_chat_stream_next(stream, &chunk, &err)) == HWAI_OK && chunk) {
    }
    uint64_t returned_at = now_ms();
    pthread_join(thread, NULL);
    assert_int_equal(status, HWAI_E_CANCELLED);
    printf(
        "stream: returned %llu ms after the cancel\n",
        (unsigned long long)(returned_at - job.cancelled_at));
    assert_true(returned_at - job.cancelled_at < 100);
    hwai_error_free(err);
    hwai_chat_stream_free(stream);
    hwai_cancel_token_free(token);
    hwai_client_free(client);
}

static void test_malformed_json_not_retried(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &emu, "{\"route\":\"sentiment\",\"responses\":[{\"status\":200,\"body\":\"{oops\"}]}"));
    hwai_client *client = make_client(NULL, 3);
    hwai_error *err = NULL;
    assert_int_equal(sentiment(client, 0, NULL, &err), HWAI_E_BAD_RESPONSE);
    assert_int_equal(test_emulator_stat(&emu, "by_route.sentiment"), 1);
    hwai_error_free(err);
    hwai_client_free(client);
}

static void test_oversize_body_rejected(void **state)
{
    (void)state;
    char script[4096];
    char body[2100];
    memset(body, 'x', 2048);
    body[2048] = '\0';
    snprintf(
        script, sizeof(script),
        "{\"route\":\"sentiment\",\"responses\":[{\"status\":200,\"body\":\"\\\"%s\\\"\"}]}", body);
    assert_true(test_emulator_script(&emu, script));
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, EMU_AK, EMU_SK, NULL, NULL), HWAI_OK);
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = emu.base_url;
    opts.project_id = EMU_PROJECT_ID;
    opts.credentials = creds;
    opts.max_response_bytes = 1024;
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_OK);
    hwai_credentials_free(creds);
    hwai_error *err = NULL;
    assert_int_equal(sentiment(client, 0, NULL, &err), HWAI_E_RESPONSE_TOO_LARGE);
    assert_non_null(strstr(hwai_error_message(err), "1024"));
    assert_int_equal(test_emulator_stat(&emu, "by_route.sentiment"), 1);
    hwai_error_free(err);
    hwai_client_free(client);
}

/* Keep-alive comments 300 ms apart under a 700 ms idle timeout: every byte,
 * comments included, resets the idle timer, so the stream completes. */
#define SSE_HEAD \
    "HTTP/1.1 200 OK\\r\\nContent-Type: text/event-stream\\r\\nConnection: close\\r\\n\\r\\n"
#define SSE_DELTA(text) \
    "data: {\\\"choices\\\":[{\\\"delta\\\":{\\\"content\\\":\\\"" text "\\\"}}]}\\n\\n"
#define SSE_STOP                                                                                  \
    "data: {\\\"choices\\\":[{\\\"delta\\\":{},\\\"finish_reason\\\":\\\"stop\\\"}]}\\n\\ndata: " \
    "[DONE]\\n\\n"

static hwai_client *idle_client(uint32_t idle_ms)
{
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, EMU_AK, EMU_SK, NULL, NULL), HWAI_OK);
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = emu.base_url;
    opts.project_id = EMU_PROJECT_ID;
    opts.credentials = creds;
    opts.stream_idle_timeout_ms = idle_ms;
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_OK);
    hwai_credentials_free(creds);
    return client;
}

static hwai_status drain_stream(hwai_client *client, size_t *text_len)
{
    hwai_chat_message message = { "user", "你好", 0 };
    hwai_chat_request req = stream_request(&message, NULL);
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    hwai_status status = hwai_chat_stream_open(&stream, client, &req, &err);
    const hwai_chat_chunk *chunk = NULL;
    while (status == HWAI_OK && (status = hwai_chat_stream_next(stream, &chunk, &err)) == HWAI_OK &&
           chunk) {
    }
    *text_len = stream ? hwai_chat_stream_summary_get(stream)->content_len : 0;
    hwai_error_free(err);
    hwai_chat_stream_free(stream);
    return status;
}

static void test_stream_comments_reset_idle_timer(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &emu, "{\"route\":\"chat\",\"responses\":[{\"raw\":["
              "{\"data\":\"" SSE_HEAD SSE_DELTA(
                  "a") "\",\"pause_ms\":300},"
                       "{\"data\":\": ping\\n\\n\",\"pause_ms\":300},"
                       "{\"data\":\":\\n\\n\",\"pause_ms\":300},"
                       "{\"data\":\"event: ping\\ndata: \\n\\n\",\"pause_ms\":300},"
                       "{\"data\":\"" SSE_DELTA("b") SSE_STOP "\"}],\"close\":true}]}"));
    hwai_client *client = idle_client(700);
    size_t text_len = 0;
    assert_int_equal(drain_stream(client, &text_len), HWAI_OK);
    assert_int_equal(text_len, 2);
    hwai_client_free(client);
}

/* Silence longer than the idle timeout ends the stream with a timeout, and the
 * text received before it stays in the summary. */
static void test_stream_silence_times_out(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &emu,
        "{\"route\":\"chat\",\"responses\":[{\"raw\":["
        "{\"data\":\"" SSE_HEAD SSE_DELTA("a") "\",\"pause_ms\":3000},"
                                               "{\"data\":\"" SSE_STOP "\"}],\"close\":true}]}"));
    hwai_client *client = idle_client(500);
    size_t text_len = 0;
    uint64_t start = now_ms();
    assert_int_equal(drain_stream(client, &text_len), HWAI_E_TIMEOUT);
    uint64_t elapsed = now_ms() - start;
    printf(
        "idle stream: timed out after %llu ms with a 500 ms idle timeout\n",
        (unsigned long long)elapsed);
    assert_true(elapsed >= 450);
    assert_true(elapsed < 1500);
    assert_int_equal(text_len, 1);
    hwai_client_free(client);
}

/* The stream's summary keeps all text, so max_response_bytes bounds it: an
 * endless stream ends with an error instead of exhausting memory. */
static void test_stream_text_capped(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, EMU_AK, EMU_SK, NULL, NULL), HWAI_OK);
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = emu.base_url;
    opts.project_id = EMU_PROJECT_ID;
    opts.credentials = creds;
    opts.max_response_bytes = 24;
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_OK);
    hwai_credentials_free(creds);
    size_t text_len = 0;
    assert_int_equal(drain_stream(client, &text_len), HWAI_E_RESPONSE_TOO_LARGE);
    assert_true(text_len <= 24);
    hwai_client_free(client);
}

static hwai_client *iam_client(void)
{
    hwai_iam_password_options iam = HWAI_IAM_PASSWORD_OPTIONS_INIT;
    iam.user_name = "hwai-user";
    iam.password = "hwai-password";
    iam.domain_name = "hwai-domain";
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_iam_password(&creds, &iam, NULL), HWAI_OK);
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = emu.base_url;
    opts.project_id = EMU_PROJECT_ID;
    opts.credentials = creds;
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_OK);
    hwai_credentials_free(creds);
    return client;
}

/* The IAM token fetched on a call's behalf obeys the call's deadline. */
static void test_iam_stall_bounded_by_deadline(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &emu, "{\"route\":\"iam_token\",\"responses\":[{\"stall_ms\":3000}]}"));
    hwai_client *client = iam_client();
    hwai_error *err = NULL;
    uint64_t start = now_ms();
    assert_int_equal(sentiment(client, 500, NULL, &err), HWAI_E_TIMEOUT);
    uint64_t elapsed = now_ms() - start;
    printf(
        "IAM stall: call returned after %llu ms with a 500 ms deadline\n",
        (unsigned long long)elapsed);
    assert_true(elapsed < 500 + 400);
    assert_int_equal(test_emulator_stat(&emu, "by_route.sentiment"), 0);
    hwai_error_free(err);
    hwai_client_free(client);
}

/* ... and the call's cancellation token. */
static void test_iam_stall_cancelled(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &emu, "{\"route\":\"iam_token\",\"responses\":[{\"stall_ms\":3000}]}"));
    hwai_client *client = iam_client();
    hwai_cancel_token *token = NULL;
    assert_int_equal(hwai_cancel_token_new(&token), HWAI_OK);
    delayed_cancel job = { token, 300, 0 };
    pthread_t thread;
    pthread_create(&thread, NULL, cancel_later, &job);
    hwai_error *err = NULL;
    hwai_status status = sentiment(client, 0, token, &err);
    uint64_t returned_at = now_ms();
    pthread_join(thread, NULL);
    assert_int_equal(status, HWAI_E_CANCELLED);
    printf(
        "IAM stall: returned %llu ms after the cancel\n",
        (unsigned long long)(returned_at - job.cancelled_at));
    assert_true(returned_at - job.cancelled_at < 100);
    hwai_error_free(err);
    hwai_cancel_token_free(token);
    hwai_client_free(client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_throttled_twice_then_served, reset_emulator),
        cmocka_unit_test_setup(test_throttled_forever_fails, reset_emulator),
        cmocka_unit_test_setup(test_unauthorized_never_retried, reset_emulator),
        cmocka_unit_test_setup(test_reset_before_response_retried, reset_emulator),
        cmocka_unit_test_setup(test_reset_mid_body_not_idempotent, reset_emulator),
        cmocka_unit_test_setup(test_stall_past_deadline_times_out, reset_emulator),
        cmocka_unit_test_setup(test_stream_cut_is_truncation, reset_emulator),
        cmocka_unit_test_setup(test_cancel_during_backoff_sleep, reset_emulator),
        cmocka_unit_test_setup(test_cancel_during_stream, reset_emulator),
        cmocka_unit_test_setup(test_malformed_json_not_retried, reset_emulator),
        cmocka_unit_test_setup(test_oversize_body_rejected, reset_emulator),
        cmocka_unit_test_setup(test_stream_comments_reset_idle_timer, reset_emulator),
        cmocka_unit_test_setup(test_stream_silence_times_out, reset_emulator),
        cmocka_unit_test_setup(test_stream_text_capped, reset_emulator),
        cmocka_unit_test_setup(test_iam_stall_bounded_by_deadline, reset_emulator),
        cmocka_unit_test_setup(test_iam_stall_cancelled, reset_emulator),
    };
    return cmocka_run_group_tests_name("fault-matrix", tests, group_setup, group_teardown);
}
