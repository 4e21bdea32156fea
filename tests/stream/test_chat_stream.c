/* Streamed chat through the public API against the emulator: normal streams,
 * hand-made event streams replayed with the body split at every byte offset,
 * errors inside the stream, truncation, delivery latency and cancellation from
 * another thread. Hand-made responses are raw HTTP/1.1 bytes queued through
 * the emulator's /_emulator/script control endpoint. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <hwai/hwai.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emulator.h"

/* Status line and headers of every hand-made event stream. Without
 * Content-Length the body ends when the emulator closes the connection. */
#define SSE_HEADERS                        \
    "HTTP/1.1 200 OK\r\n"                  \
    "Content-Type: text/event-stream\r\n"  \
    "X-Request-Id: raw-stream-request\r\n" \
    "Cache-Control: no-cache\r\n"          \
    "Connection: close\r\n"                \
    "\r\n"

/* A first event with text and a last one with the finish reason and [DONE],
 * for streams with a pause between them. */
#define EVENT_FIRST \
    "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"first\"}}]}\n\n"
#define EVENT_LAST                                                                         \
    "data: {\"choices\":[{\"delta\":{\"content\":\" last\"},\"finish_reason\":\"stop\"}]}" \
    "\n\ndata: [DONE]\n\n"

/* Pause after the first part of a split body, so that the two parts usually
 * reach the client in separate reads. TCP may still merge them. */
#define SPLIT_PAUSE_MS 2
/* Pause after each byte when the body is sent one byte per write. */
#define BYTE_PAUSE_MS 1

#define MAX_RECORDED_CHUNKS 64
#define EVENT_LIMIT_BYTES (1024u * 1024u)

static test_emulator emulator;

static char *log_text;
static size_t log_len;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- Helpers: time, base64, log, clients ---- */

static int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec pause = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&pause, &pause) != 0) {
    }
}

static char *base64_encode(const char *data, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *in = (const unsigned char *)data;
    char *out = malloc((len + 2) / 3 * 4 + 1);
    assert_non_null(out);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t group = (uint32_t)in[i] << 16;
        if (i + 1 < len) {
            group |= (uint32_t)in[i + 1] << 8;
        }
        if (i + 2 < len) {
            group |= in[i + 2];
        }
        out[o++] = alphabet[(group >> 18) & 63];
        out[o++] = alphabet[(group >> 12) & 63];
        out[o++] = i + 1 < len ? alphabet[(group >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? alphabet[group & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static void collect_log(hwai_log_level level, const char *message, void *user_data)
{
    (void)level;
    (void)user_data;
    size_t len = strlen(message);
    pthread_mutex_lock(&log_lock);
    char *grown = realloc(log_text, log_len + len + 2);
    if (grown) {
        log_text = grown;
        memcpy(log_text + log_len, message, len);
        log_len += len;
        log_text[log_len++] = '\n';
        log_text[log_len] = '\0';
    }
    pthread_mutex_unlock(&log_lock);
}

static void assert_log_lacks(const char *secret)
{
    pthread_mutex_lock(&log_lock);
    bool found = log_text && strstr(log_text, secret);
    pthread_mutex_unlock(&log_lock);
    /* The secret itself is never printed, only that it leaked. */
    if (found) {
        fail_msg("the client log contains a secret");
    }
}

/* Makes a client for the emulator: API key credentials when api_key is set,
 * else AK/SK credentials with the given secret key. */
static hwai_client *new_client(const char *api_key, const char *sk)
{
    hwai_error *err = NULL;
    hwai_credentials *creds = NULL;
    if (api_key) {
        assert_int_equal(hwai_credentials_new_api_key(&creds, api_key, &err), HWAI_OK);
    } else {
        assert_int_equal(hwai_credentials_new_aksk(&creds, EMU_AK, sk, NULL, &err), HWAI_OK);
    }
    /* One attempt per call, so that each scripted response serves exactly one
     * request and a failed open is reported rather than retried. */
    hwai_retry_policy retry = HWAI_RETRY_POLICY_INIT;
    retry.max_attempts = 1;
    hwai_client_options options = HWAI_CLIENT_OPTIONS_INIT;
    options.retry = &retry;
    options.endpoint = emulator.base_url;
    options.project_id = EMU_PROJECT_ID;
    options.credentials = creds;
    options.timeout_ms = 30000;
    options.log_cb = collect_log;
    options.log_level = HWAI_LOG_DEBUG;
    hwai_client *client = NULL;
    hwai_status status = hwai_client_new(&client, &options, &err);
    if (status != HWAI_OK) {
        fail_msg("hwai_client_new failed: %s", hwai_error_message(err));
    }
    hwai_credentials_free(creds);
    return client;
}

static hwai_client *api_key_client(void)
{
    return new_client(EMU_API_KEY, NULL);
}

static const hwai_chat_message question[] = {
    { "user", "请用一句话介绍成都。", 0 },
};

/* A request on the OpenAI-compatible path, where the streamed request carries
 * stream_options.include_usage. */
static hwai_chat_request openai_request(void)
{
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.model = "DeepSeek-V3";
    req.messages = question;
    req.message_count = 1;
    return req;
}

static hwai_chat_request pangu_request(void)
{
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.deployment_id = "deploy-1";
    req.messages = question;
    req.message_count = 1;
    return req;
}

/* ---- Helpers: scripted raw responses ---- */

static json_t *raw_response(void)
{
    json_t *response = json_object();
    json_object_set_new(response, "raw", json_array());
    json_object_set_new(response, "close", json_true());
    return response;
}

/* Adds one write of len bytes to a raw response, followed by pause_ms of silence. */
static void raw_response_add(json_t *response, const char *data, size_t len, int pause_ms)
{
    char *encoded = base64_encode(data, len);
    json_t *piece = json_object();
    json_object_set_new(piece, "data_b64", json_string(encoded));
    json_object_set_new(piece, "pause_ms", json_integer(pause_ms));
    json_array_append_new(json_object_get(response, "raw"), piece);
    free(encoded);
}

static void raw_response_add_str(json_t *response, const char *text, int pause_ms)
{
    raw_response_add(response, text, strlen(text), pause_ms);
}

/* Queues the responses, in order, for the next chat requests. Takes ownership
 * of responses. */
static void queue_responses(json_t *responses)
{
    json_t *script = json_object();
    json_object_set_new(script, "route", json_string("chat"));
    json_object_set_new(script, "responses", responses);
    char *text = json_dumps(script, JSON_COMPACT);
    assert_non_null(text);
    assert_true(test_emulator_script(&emulator, text));
    free(text);
    json_decref(script);
}

static void queue_response(json_t *response)
{
    json_t *responses = json_array();
    json_array_append_new(responses, response);
    queue_responses(responses);
}

/* Queues one event stream whose body arrives in a single write after the headers. */
static void queue_sse_body(const char *body, size_t len)
{
    json_t *response = raw_response();
    raw_response_add_str(response, SSE_HEADERS, 0);
    raw_response_add(response, body, len, 0);
    queue_response(response);
}

/* ---- Helpers: reading a whole stream ---- */

typedef struct byte_buf {
    char *data;
    size_t len;
} byte_buf;

static void byte_buf_append(byte_buf *buf, const char *data, size_t len)
{
    char *grown = realloc(buf->data, buf->len + len + 1);
    assert_non_null(grown);
    buf->data = grown;
    if (len > 0) {
        memcpy(buf->data + buf->len, data, len);
    }
    buf->len += len;
    buf->data[buf->len] = '\0';
}

static char *copy_or_null(const char *text)
{
    return text ? strdup(text) : NULL;
}

/* What one stream delivered, copied out of the stream before it is freed. */
typedef struct stream_outcome {
    hwai_status open_status;
    /* Status of the hwai_chat_stream_next() call that ended the stream. */
    hwai_status status;
    size_t chunk_count;
    /* Non-empty contents of choice 0, in order, and the raw JSON of their
     * chunks. Only the first MAX_RECORDED_CHUNKS are kept, but all are counted. */
    byte_buf deltas[MAX_RECORDED_CHUNKS];
    byte_buf delta_json[MAX_RECORDED_CHUNKS];
    size_t delta_count;
    /* All chunk contents of choice 0 joined. */
    byte_buf text;
    /* Role of the first chunk, or NULL. */
    char *first_role;
    bool usage_in_chunk;
    bool summary_content_null;
    byte_buf summary_content;
    char *finish_reason;
    char *request_id;
    hwai_chat_usage usage;
    int http_status;
    int64_t first_chunk_ms;
    uint64_t summary_chunk_count;
    char *error_code;
    char *error_message;
    int error_http_status;
} stream_outcome;

static void outcome_cleanup(stream_outcome *o)
{
    for (size_t i = 0; i < o->delta_count && i < MAX_RECORDED_CHUNKS; i++) {
        free(o->deltas[i].data);
        free(o->delta_json[i].data);
    }
    free(o->text.data);
    free(o->first_role);
    free(o->summary_content.data);
    free(o->finish_reason);
    free(o->request_id);
    free(o->error_code);
    free(o->error_message);
    memset(o, 0, sizeof(*o));
}

static void record_error(stream_outcome *o, const hwai_error *err)
{
    if (!err) {
        return;
    }
    o->error_code = copy_or_null(hwai_error_code(err));
    o->error_message = copy_or_null(hwai_error_message(err));
    o->error_http_status = hwai_error_http_status(err);
}

static void record_chunk(stream_outcome *o, const hwai_chat_chunk *chunk)
{
    if (o->chunk_count == 0) {
        o->first_role = copy_or_null(chunk->role);
    }
    o->chunk_count++;
    if (chunk->usage.present) {
        o->usage_in_chunk = true;
    }
    if (chunk->index != 0 || chunk->content_len == 0) {
        return;
    }
    byte_buf_append(&o->text, chunk->content, chunk->content_len);
    if (o->delta_count < MAX_RECORDED_CHUNKS) {
        byte_buf_append(&o->deltas[o->delta_count], chunk->content, chunk->content_len);
        byte_buf_append(&o->delta_json[o->delta_count], chunk->raw_json, chunk->raw_json_len);
    }
    o->delta_count++;
}

static void record_summary(stream_outcome *o, const hwai_chat_stream_summary *summary)
{
    assert_non_null(summary);
    o->summary_content_null = summary->content == NULL;
    byte_buf_append(
        &o->summary_content, summary->content ? summary->content : "", summary->content_len);
    o->finish_reason = copy_or_null(summary->finish_reason);
    o->request_id = copy_or_null(summary->request_id);
    o->usage = summary->usage;
    o->http_status = summary->http_status;
    o->first_chunk_ms = summary->first_chunk_ms;
    o->summary_chunk_count = summary->chunk_count;
}

/* Checks that the summary's text is the chunks' contents joined. */
static void assert_summary_equals_text(const stream_outcome *o)
{
    assert_false(o->summary_content_null);
    assert_int_equal(o->summary_content.len, o->text.len);
    if (o->text.len > 0) {
        assert_memory_equal(o->summary_content.data, o->text.data, o->text.len);
    }
}

/* Reads every chunk of an open stream, then checks that one more call
 * repeats the final status and error. */
static void read_to_end(hwai_chat_stream *stream, stream_outcome *o)
{
    hwai_error *err = NULL;
    const hwai_chat_chunk *chunk = NULL;
    hwai_status status;
    for (;;) {
        status = hwai_chat_stream_next(stream, &chunk, &err);
        if (status != HWAI_OK || !chunk) {
            break;
        }
        record_chunk(o, chunk);
        assert_true(o->chunk_count < 100000);
    }
    o->status = status;
    if (status == HWAI_OK) {
        assert_null(err);
    } else {
        assert_non_null(err);
        assert_int_equal(hwai_error_status(err), status);
    }
    record_error(o, err);
    record_summary(o, hwai_chat_stream_summary_get(stream));

    static const hwai_chat_chunk stale = { 0 };
    hwai_error *again = NULL;
    chunk = &stale;
    assert_int_equal(hwai_chat_stream_next(stream, &chunk, &again), status);
    assert_null(chunk);
    if (status != HWAI_OK) {
        assert_non_null(again);
        assert_string_equal(hwai_error_message(again), o->error_message);
        if (o->error_code) {
            assert_string_equal(hwai_error_code(again), o->error_code);
        } else {
            assert_null(hwai_error_code(again));
        }
    }
    hwai_error_free(again);
    hwai_error_free(err);
}

/* Opens a stream for req and reads it to the end. When the open fails, o keeps
 * its status and error. */
static void run_stream(hwai_client *client, const hwai_chat_request *req, stream_outcome *o)
{
    memset(o, 0, sizeof(*o));
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    o->open_status = hwai_chat_stream_open(&stream, client, req, &err);
    if (o->open_status != HWAI_OK) {
        assert_null(stream);
        assert_non_null(err);
        record_error(o, err);
        hwai_error_free(err);
        return;
    }
    assert_null(err);
    assert_non_null(stream);
    read_to_end(stream, o);
    hwai_chat_stream_free(stream);
}

/* ---- Hand-made streams replayed at every split ---- */

/* An event stream body with the result the client must report for it. */
typedef struct stream_case {
    const char *name;
    const char *body;
    hwai_status status;
    /* Non-empty contents of choice 0 in order, NULL-terminated. */
    const char *const *deltas;
    /* Raw JSON of the chunks carrying those contents, or NULL to skip the check. */
    const char *const *delta_json;
    /* Finish reason in the summary, or NULL when none may arrive. */
    const char *finish_reason;
    /* For HWAI_E_STREAM_ERROR: the service's code (NULL for none) and message. */
    const char *error_code;
    const char *error_message;
    /* The body as a NULL-terminated list of writes, replayed as one more run,
     * or NULL. */
    const char *const *writes;
} stream_case;

static size_t count_strings(const char *const *list)
{
    size_t n = 0;
    while (list && list[n]) {
        n++;
    }
    return n;
}

static bool text_equals(const byte_buf *buf, const char *text)
{
    if (buf->len == 0) {
        return text[0] == '\0';
    }
    return buf->len == strlen(text) && memcmp(buf->data, text, buf->len) == 0;
}

/* Fails with the case name and the split when o differs from what c expects. */
static void check_case(const stream_case *c, const stream_outcome *o, const char *split)
{
    if (o->open_status != HWAI_OK) {
        fail_msg(
            "%s, %s: open returned %s (%s)", c->name, split, hwai_status_str(o->open_status),
            o->error_message ? o->error_message : "");
    }
    if (o->status != c->status) {
        fail_msg(
            "%s, %s: stream ended with %s (%s), expected %s", c->name, split,
            hwai_status_str(o->status), o->error_message ? o->error_message : "no error",
            hwai_status_str(c->status));
    }
    size_t expected_count = count_strings(c->deltas);
    if (o->delta_count != expected_count) {
        fail_msg(
            "%s, %s: %zu chunks with text, expected %zu (text '%s')", c->name, split,
            o->delta_count, expected_count, o->text.data ? o->text.data : "");
    }
    byte_buf joined = { 0 };
    byte_buf_append(&joined, "", 0);
    for (size_t i = 0; i < expected_count; i++) {
        if (!text_equals(&o->deltas[i], c->deltas[i])) {
            fail_msg(
                "%s, %s: text of chunk %zu is '%s', expected '%s'", c->name, split, i,
                o->deltas[i].data, c->deltas[i]);
        }
        if (c->delta_json && !text_equals(&o->delta_json[i], c->delta_json[i])) {
            fail_msg(
                "%s, %s: raw JSON of chunk %zu is '%s', expected '%s'", c->name, split, i,
                o->delta_json[i].data, c->delta_json[i]);
        }
        byte_buf_append(&joined, c->deltas[i], strlen(c->deltas[i]));
    }
    bool summary_ok = o->summary_content.len == joined.len &&
                      memcmp(o->summary_content.data, joined.data, joined.len) == 0;
    if (!summary_ok) {
        fail_msg(
            "%s, %s: summary text '%s', expected '%s'", c->name, split, o->summary_content.data,
            joined.data);
    }
    free(joined.data);
    bool finish_ok = c->finish_reason
                         ? o->finish_reason && strcmp(o->finish_reason, c->finish_reason) == 0
                         : o->finish_reason == NULL;
    if (!finish_ok) {
        fail_msg(
            "%s, %s: finish reason '%s', expected '%s'", c->name, split,
            o->finish_reason ? o->finish_reason : "(none)",
            c->finish_reason ? c->finish_reason : "(none)");
    }
    if (c->status == HWAI_E_STREAM_ERROR) {
        bool code_ok = c->error_code ? o->error_code && strcmp(o->error_code, c->error_code) == 0
                                     : o->error_code == NULL;
        if (!code_ok) {
            fail_msg(
                "%s, %s: error code '%s', expected '%s'", c->name, split,
                o->error_code ? o->error_code : "(none)", c->error_code ? c->error_code : "(none)");
        }
        if (!o->error_message || strcmp(o->error_message, c->error_message) != 0) {
            fail_msg(
                "%s, %s: error message '%s', expected '%s'", c->name, split,
                o->error_message ? o->error_message : "(none)", c->error_message);
        }
        if (o->error_http_status != 200) {
            fail_msg(
                "%s, %s: error has HTTP status %d, expected 200", c->name, split,
                o->error_http_status);
        }
    }
    if (o->request_id == NULL || strcmp(o->request_id, "raw-stream-request") != 0) {
        fail_msg(
            "%s, %s: request id '%s'", c->name, split, o->request_id ? o->request_id : "(none)");
    }
}

/* Replays the case's body whole, split in two at every byte offset, cut into
 * the writes listed with the case, and one byte per write. Each run is a new
 * request that must end as the case expects. */
static void replay_case(hwai_client *client, const stream_case *c)
{
    size_t len = strlen(c->body);
    json_t *responses = json_array();

    json_t *whole = raw_response();
    raw_response_add_str(whole, SSE_HEADERS, 0);
    raw_response_add(whole, c->body, len, 0);
    json_array_append_new(responses, whole);

    for (size_t split = 1; split < len; split++) {
        json_t *response = raw_response();
        raw_response_add_str(response, SSE_HEADERS, 0);
        raw_response_add(response, c->body, split, SPLIT_PAUSE_MS);
        raw_response_add(response, c->body + split, len - split, 0);
        json_array_append_new(responses, response);
    }

    size_t listed_runs = 0;
    if (c->writes) {
        json_t *response = raw_response();
        raw_response_add_str(response, SSE_HEADERS, 0);
        byte_buf joined = { 0 };
        for (size_t i = 0; c->writes[i]; i++) {
            raw_response_add_str(response, c->writes[i], SPLIT_PAUSE_MS);
            byte_buf_append(&joined, c->writes[i], strlen(c->writes[i]));
        }
        assert_true(text_equals(&joined, c->body));
        free(joined.data);
        json_array_append_new(responses, response);
        listed_runs = 1;
    }

    json_t *bytewise = raw_response();
    raw_response_add_str(bytewise, SSE_HEADERS, 0);
    for (size_t i = 0; i < len; i++) {
        raw_response_add(bytewise, c->body + i, 1, BYTE_PAUSE_MS);
    }
    json_array_append_new(responses, bytewise);
    queue_responses(responses);

    hwai_chat_request req = openai_request();
    size_t runs = 1 + (len - 1) + listed_runs + 1;
    for (size_t run = 0; run < runs; run++) {
        char split[64];
        if (run == 0) {
            snprintf(split, sizeof(split), "whole body in one write");
        } else if (run < len) {
            snprintf(split, sizeof(split), "split at byte %zu of %zu", run, len);
        } else if (run == len && listed_runs) {
            snprintf(split, sizeof(split), "listed writes");
        } else {
            snprintf(split, sizeof(split), "one byte per write");
        }
        stream_outcome o;
        run_stream(client, &req, &o);
        check_case(c, &o, split);
        outcome_cleanup(&o);
    }
}

static void replay_cases(const stream_case *cases, size_t count)
{
    hwai_client *client = api_key_client();
    for (size_t i = 0; i < count; i++) {
        int64_t start = monotonic_ms();
        replay_case(client, &cases[i]);
        print_message(
            "%s: %zu bytes, all runs in %lld ms\n", cases[i].name, strlen(cases[i].body),
            (long long)(monotonic_ms() - start));
    }
    hwai_client_free(client);
}

static const char *const deltas_hello_world[] = { "Hello", " world", NULL };
static const char *const deltas_a_b[] = { "a", "b", NULL };
static const char *const deltas_x[] = { "x", NULL };
static const char *const deltas_none[] = { NULL };

/* One event split over several writes: inside the JSON of the first event,
 * between the LF that ends its data line and the blank line, and inside the
 * field name "data" of the second event. */
static void test_event_split_over_reads(void **state)
{
    (void)state;
#define WRITE_1 "data: {\"choices\":[{\"delta\":{\"content\":\"Hel"
#define WRITE_2 "lo\"}}]}\n"
#define WRITE_3 "\n"
#define WRITE_4 "da"
#define WRITE_5                                                                           \
    "ta: {\"choices\":[{\"delta\":{\"content\":\" world\"},\"finish_reason\":\"stop\"}]}" \
    "\n\ndata: [DONE]\n\n"
    static const char *const writes[] = { WRITE_1, WRITE_2, WRITE_3, WRITE_4, WRITE_5, NULL };
    const stream_case cases[] = {
        { .name = "event split over reads",
          .body = WRITE_1 WRITE_2 WRITE_3 WRITE_4 WRITE_5,
          .status = HWAI_OK,
          .deltas = deltas_hello_world,
          .finish_reason = "stop",
          .writes = writes },
    };
#undef WRITE_1
#undef WRITE_2
#undef WRITE_3
#undef WRITE_4
#undef WRITE_5
    replay_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A single event of 100 KiB of text delivered in 1 KiB writes arrives whole. */
static void test_large_event_in_small_writes(void **state)
{
    (void)state;
    const size_t text_len = 100 * 1024;
    const char *head = "data: {\"choices\":[{\"delta\":{\"content\":\"";
    const size_t head_len = strlen(head);
    byte_buf body = { 0 };
    byte_buf_append(&body, head, head_len);
    for (size_t i = 0; i < text_len; i++) {
        char c = (char)('a' + i % 26);
        byte_buf_append(&body, &c, 1);
    }
    const char *tail = "\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    byte_buf_append(&body, tail, strlen(tail));

    json_t *response = raw_response();
    raw_response_add_str(response, SSE_HEADERS, 0);
    for (size_t start = 0; start < body.len; start += 1024) {
        size_t n = body.len - start < 1024 ? body.len - start : 1024;
        raw_response_add(response, body.data + start, n, BYTE_PAUSE_MS);
    }
    queue_response(response);

    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    stream_outcome o;
    run_stream(client, &req, &o);
    assert_int_equal(o.status, HWAI_OK);
    assert_int_equal(o.delta_count, 1);
    assert_int_equal(o.text.len, text_len);
    assert_memory_equal(o.text.data, body.data + head_len, text_len);
    assert_string_equal(o.finish_reason, "stop");
    outcome_cleanup(&o);
    free(body.data);
    hwai_client_free(client);
}

/* `data:` without the optional space, `event:message` without a space before
 * its value, a second space kept in the data (checked through raw_json), a
 * bare `data` line that dispatches nothing, and `data:[DONE]` without a space. */
static void test_data_without_space(void **state)
{
    (void)state;
    static const char *const raw_json[] = {
        "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}",
        " {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}",
        NULL,
    };
    const stream_case cases[] = {
        { .name = "data without space",
          .body = "data:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
                  "event:message\ndata:  {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n"
                  "data\n\n"
                  "data:[DONE]\n\n",
          .status = HWAI_OK,
          .deltas = deltas_a_b,
          .delta_json = raw_json },
    };
    replay_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Keep-alives between events are skipped: `: ping` and a bare `:` comment,
 * `event: ping` with empty data after an earlier `id: 1`, and `: ping - 2`.
 * So are an `event: ping` whose data is a chunk, because only `message`
 * events are chunks, and blocks that contain only `id` or `retry`. */
static void test_keep_alive_comments_skipped(void **state)
{
    (void)state;
#define WRITE_1 "id: 1\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
#define WRITE_2 ": ping\n\n"
#define WRITE_3 ":\n\n"
#define WRITE_4 "event: ping\ndata: \n\n"
#define WRITE_5 "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]\n\n"
    static const char *const writes[] = { WRITE_1, WRITE_2, WRITE_3, WRITE_4, WRITE_5, NULL };
    const stream_case cases[] = {
        { .name = "keep-alive comments",
          .body = WRITE_1 WRITE_2 WRITE_3 WRITE_4 WRITE_5,
          .status = HWAI_OK,
          .deltas = deltas_a_b,
          .writes = writes },
        { .name = "events of other types",
          .body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
                  ": ping - 2\n\n"
                  "event: ping\ndata: {\"choices\":[{\"delta\":{\"content\":\"zz\"}}]}\n\n"
                  "id: 2\n\nretry: 1000\n\n"
                  "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]\n\n",
          .status = HWAI_OK,
          .deltas = deltas_a_b },
    };
#undef WRITE_1
#undef WRITE_2
#undef WRITE_3
#undef WRITE_4
#undef WRITE_5
    replay_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* The body ends after a finish reason followed by a blank line, by a single
 * LF, or by no line end, and all three end normally. It ends after text with
 * no finish reason and no [DONE], or inside the first event, and both are
 * truncated with the text received so far kept. */
static void test_close_without_final_blank_line(void **state)
{
    (void)state;
#define DELTA_X "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
#define FINISH_STOP "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}"
    const stream_case cases[] = {
        { .name = "close after finish reason and blank line",
          .body = DELTA_X FINISH_STOP "\n\n",
          .status = HWAI_OK,
          .deltas = deltas_x,
          .finish_reason = "stop" },
        { .name = "close after finish reason and one LF",
          .body = DELTA_X FINISH_STOP "\n",
          .status = HWAI_OK,
          .deltas = deltas_x,
          .finish_reason = "stop" },
        { .name = "close after finish reason without line end",
          .body = DELTA_X FINISH_STOP,
          .status = HWAI_OK,
          .deltas = deltas_x,
          .finish_reason = "stop" },
        { .name = "close after text without finish reason",
          .body = DELTA_X,
          .status = HWAI_E_STREAM_TRUNCATED,
          .deltas = deltas_x },
        { .name = "close inside the first event",
          .body = "data: {\"choices\":[{\"del",
          .status = HWAI_E_STREAM_TRUNCATED,
          .deltas = deltas_none },
    };
#undef DELTA_X
#undef FINISH_STOP
    replay_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Multi-byte characters (3-byte CJK, a 4-byte emoji, 2-byte é and a UTF-8
 * byte order mark) split inside the character. CRLF line ends split between
 * CR and LF, also inside an event with two data lines, and CR-only line ends. */
static void test_characters_and_line_ends_split(void **state)
{
    (void)state;
    static const char *const deltas_chinese[] = { "你好", "😀é", NULL };
    static const char *const deltas_a[] = { "a", NULL };
    const stream_case cases[] = {
        { .name = "multi-byte characters",
          .body = "data: {\"choices\":[{\"delta\":{\"content\":\"你好\"}}]}\n\n"
                  "data: {\"choices\":[{\"delta\":{\"content\":\"😀é\"},"
                  "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
          .status = HWAI_OK,
          .deltas = deltas_chinese,
          .finish_reason = "stop" },
        { .name = "byte order mark",
          .body = "\xEF\xBB\xBF"
                  "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n",
          .status = HWAI_OK,
          .deltas = deltas_a },
        { .name = "CRLF line ends",
          .body = "data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\r\n\r\n"
                  "data: {\"choices\":[{\"delta\":\r\n"
                  "data: {\"content\":\" world\"},\"finish_reason\":\"stop\"}]}\r\n\r\n"
                  "data: [DONE]\r\n\r\n",
          .status = HWAI_OK,
          .deltas = deltas_hello_world,
          .finish_reason = "stop" },
        { .name = "CR line ends",
          .body = "data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\r\r"
                  "data: {\"choices\":[{\"delta\":\r"
                  "data: {\"content\":\" world\"},\"finish_reason\":\"stop\"}]}\r\r"
                  "data: [DONE]\r\r",
          .status = HWAI_OK,
          .deltas = deltas_hello_world,
          .finish_reason = "stop" },
    };
    replay_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* An error object after HTTP 200 in the OpenAI shape and in the Huawei shape,
 * each followed by `data: [DONE]`, `event: error` with JSON data and with
 * plain text, and an event that is not JSON. The text before the error stays. */
static void test_error_inside_stream(void **state)
{
    (void)state;
#define PARTIAL "data: {\"choices\":[{\"delta\":{\"content\":\"partial \"}}]}\n\n"
    static const char *const deltas_partial[] = { "partial ", NULL };
    const stream_case cases[] = {
        { .name = "error object, OpenAI shape",
          .body = PARTIAL "data: {\"error\":{\"code\":\"X\",\"message\":\"m\"}}\n\n"
                          "data: [DONE]\n\n",
          .status = HWAI_E_STREAM_ERROR,
          .deltas = deltas_partial,
          .error_code = "X",
          .error_message = "m" },
        { .name = "error object, Huawei shape",
          .body = PARTIAL "data: {\"error_code\":\"PANGU.1\",\"error_msg\":\"m\"}\n\n"
                          "data: [DONE]\n\n",
          .status = HWAI_E_STREAM_ERROR,
          .deltas = deltas_partial,
          .error_code = "PANGU.1",
          .error_message = "m" },
        { .name = "error event with JSON data",
          .body =
              PARTIAL "event: error\ndata: {\"error\":{\"code\":\"Y\",\"message\":\"busy\"}}\n\n"
                      "data: [DONE]\n\n",
          .status = HWAI_E_STREAM_ERROR,
          .deltas = deltas_partial,
          .error_code = "Y",
          .error_message = "busy" },
        { .name = "error event with text data",
          .body = PARTIAL "event: error\ndata: model overloaded\n\n",
          .status = HWAI_E_STREAM_ERROR,
          .deltas = deltas_partial,
          .error_code = NULL,
          .error_message = "model overloaded" },
        { .name = "event that is not JSON",
          .body = PARTIAL "data: {\"choices\":[\n\ndata: [DONE]\n\n",
          .status = HWAI_E_BAD_RESPONSE,
          .deltas = deltas_partial },
    };
#undef PARTIAL
    replay_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* The connection closes mid-stream: between events, inside an event, and
 * inside a character (the first two bytes of 世, E4 B8 96). */
static void test_truncation_keeps_text(void **state)
{
    (void)state;
    static const char *const deltas_nihao[] = { "你好", NULL };
    const stream_case cases[] = {
        { .name = "close between events",
          .body = "data: {\"choices\":[{\"delta\":{\"content\":\"你好\"}}]}\n\n",
          .status = HWAI_E_STREAM_TRUNCATED,
          .deltas = deltas_nihao },
        { .name = "close inside a character",
          .body = "data: {\"choices\":[{\"delta\":{\"content\":\"你好\"}}]}\n\n"
                  "data: {\"choices\":[{\"delta\":{\"content\":\"\xE4\xB8",
          .status = HWAI_E_STREAM_TRUNCATED,
          .deltas = deltas_nihao },
    };
    replay_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- Streams of the emulator's own chat route ---- */

static bool has_cjk(const char *text, size_t len)
{
    /* CJK Unified Ideographs are encoded with lead bytes E4 to E9 in UTF-8. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0xE4 && c <= 0xE9) {
            return true;
        }
    }
    return false;
}

/* A Chinese reply from the emulator's OpenAI-compatible route arrives in
 * several chunks, with usage because the request sets include_usage. */
static void test_normal_stream_openai_path(void **state)
{
    (void)state;
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    stream_outcome o;
    run_stream(client, &req, &o);
    assert_int_equal(o.open_status, HWAI_OK);
    assert_int_equal(o.status, HWAI_OK);
    assert_null(o.error_message);
    assert_string_equal(o.first_role, "assistant");
    assert_true(o.delta_count >= 2);
    assert_true(has_cjk(o.text.data, o.text.len));
    assert_false(o.summary_content_null);
    assert_summary_equals_text(&o);
    assert_string_equal(o.finish_reason, "stop");
    assert_true(o.usage_in_chunk);
    assert_true(o.usage.present);
    assert_true(o.usage.completion_tokens > 0);
    assert_int_equal(o.usage.total_tokens, o.usage.prompt_tokens + o.usage.completion_tokens);
    assert_non_null(o.request_id);
    assert_true(strlen(o.request_id) > 0);
    assert_int_equal(o.http_status, 200);
    assert_true(o.first_chunk_ms >= 0);
    assert_int_equal(o.summary_chunk_count, o.chunk_count);

    /* The emulator's reply depends only on the question, so the plain call
     * returns the same text in one piece. */
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat(&result, client, &req, &err), HWAI_OK);
    assert_int_equal(result->choices[0].content_len, o.text.len);
    assert_memory_equal(result->choices[0].content, o.text.data, o.text.len);
    hwai_chat_result_free(result);
    outcome_cleanup(&o);
    hwai_client_free(client);
    assert_log_lacks(EMU_API_KEY);
}

/* After the normal end, every further next() returns HWAI_OK with NULL. */
static void test_end_repeats_ok_with_null(void **state)
{
    static const hwai_chat_chunk stale_chunk = { 0 };
    (void)state;
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_OK);
    const hwai_chat_chunk *chunk = NULL;
    size_t chunks = 0;
    while (hwai_chat_stream_next(stream, &chunk, &err) == HWAI_OK && chunk) {
        chunks++;
    }
    assert_null(err);
    assert_null(chunk);
    assert_true(chunks > 0);
    for (int i = 0; i < 3; i++) {
        chunk = &stale_chunk;
        assert_int_equal(hwai_chat_stream_next(stream, &chunk, &err), HWAI_OK);
        assert_null(chunk);
        assert_null(err);
    }
    assert_int_equal(hwai_chat_stream_summary_get(stream)->chunk_count, chunks);
    hwai_chat_stream_free(stream);
    hwai_client_free(client);
}

static void test_normal_stream_pangu_path(void **state)
{
    (void)state;
    hwai_client *client = new_client(NULL, EMU_SK);
    hwai_chat_request req = pangu_request();
    stream_outcome o;
    run_stream(client, &req, &o);
    assert_int_equal(o.open_status, HWAI_OK);
    assert_int_equal(o.status, HWAI_OK);
    assert_true(o.delta_count >= 2);
    assert_true(has_cjk(o.text.data, o.text.len));
    assert_summary_equals_text(&o);
    assert_string_equal(o.finish_reason, "stop");
    assert_non_null(o.request_id);
    outcome_cleanup(&o);
    hwai_client_free(client);
    assert_log_lacks(EMU_SK);
}

/* stream_cut_after closes the emulator's stream after K events without
 * [DONE]. A mid_body reset after 600 bytes closes it inside the third event,
 * because each of the emulator's events is about 200 bytes long. */
static void test_emulator_cut_stream_truncated(void **state)
{
    (void)state;
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    const char *scripts[] = {
        "{\"route\":\"chat\",\"responses\":[{\"stream_cut_after\":3}]}",
        "{\"route\":\"chat\",\"responses\":[{\"reset\":\"mid_body\",\"after_bytes\":600}]}",
    };
    for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        assert_true(test_emulator_script(&emulator, scripts[i]));
        stream_outcome o;
        run_stream(client, &req, &o);
        assert_int_equal(o.open_status, HWAI_OK);
        assert_int_equal(o.status, HWAI_E_STREAM_TRUNCATED);
        assert_non_null(strstr(o.error_message, "truncated"));
        assert_true(o.text.len > 0);
        assert_summary_equals_text(&o);
        assert_null(o.finish_reason);
        outcome_cleanup(&o);
    }
    hwai_client_free(client);
}

/* A connection reset (TCP RST) 300 ms after the first event is a broken
 * transfer: a transport status, with the text before it kept. The pause lets
 * the client read the event first, because a reset may discard bytes that
 * were received but not yet read. */
static void test_connection_reset_mid_stream(void **state)
{
    (void)state;
    json_t *response = raw_response();
    raw_response_add_str(response, SSE_HEADERS EVENT_FIRST, 300);
    json_object_set_new(response, "rst", json_true());
    queue_response(response);
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    stream_outcome o;
    run_stream(client, &req, &o);
    assert_int_equal(o.open_status, HWAI_OK);
    assert_int_equal(o.status, HWAI_E_TRANSPORT);
    assert_non_null(strstr(o.error_message, "truncated"));
    assert_true(text_equals(&o.text, "first"));
    assert_summary_equals_text(&o);
    assert_null(o.finish_reason);
    outcome_cleanup(&o);
    hwai_client_free(client);
}

/* stream_error_after sends K events and then an error object, without [DONE]. */
static void test_emulator_error_event(void **state)
{
    (void)state;
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    assert_true(test_emulator_script(
        &emulator, "{\"route\":\"chat\",\"responses\":[{\"stream_error_after\":3}]}"));
    stream_outcome o;
    run_stream(client, &req, &o);
    assert_int_equal(o.status, HWAI_E_STREAM_ERROR);
    assert_string_equal(o.error_code, "PANGU.5000");
    assert_non_null(o.error_message);
    assert_int_equal(o.error_http_status, 200);
    assert_true(o.text.len > 0);
    assert_summary_equals_text(&o);
    outcome_cleanup(&o);
    hwai_client_free(client);
}

/* ---- Content with NUL bytes, empty streams ---- */

static void test_nul_in_content_kept(void **state)
{
    (void)state;
    const char *body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\"},"
                       "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    queue_sse_body(body, strlen(body));
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_OK);
    const hwai_chat_chunk *chunk = NULL;
    assert_int_equal(hwai_chat_stream_next(stream, &chunk, &err), HWAI_OK);
    assert_non_null(chunk);
    assert_int_equal(chunk->content_len, 3);
    assert_memory_equal(chunk->content, "a\0b", 3);
    assert_int_equal(hwai_chat_stream_next(stream, &chunk, &err), HWAI_OK);
    assert_null(chunk);
    const hwai_chat_stream_summary *summary = hwai_chat_stream_summary_get(stream);
    assert_int_equal(summary->content_len, 3);
    assert_memory_equal(summary->content, "a\0b", 4);
    hwai_chat_stream_free(stream);
    hwai_client_free(client);
}

/* A stream cut before any text still has a summary text: empty, not NULL. */
static void test_summary_text_empty_before_text(void **state)
{
    (void)state;
    const char *body = "data: {\"choices\":[{\"del";
    queue_sse_body(body, strlen(body));
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_OK);
    const hwai_chat_stream_summary *summary = hwai_chat_stream_summary_get(stream);
    assert_non_null(summary->content);
    assert_int_equal(summary->content_len, 0);
    assert_int_equal(summary->first_chunk_ms, -1);
    const hwai_chat_chunk *chunk = NULL;
    assert_int_equal(hwai_chat_stream_next(stream, &chunk, &err), HWAI_E_STREAM_TRUNCATED);
    assert_non_null(summary->content);
    assert_string_equal(summary->content, "");
    assert_int_equal(summary->chunk_count, 0);
    hwai_error_free(err);
    hwai_chat_stream_free(stream);
    hwai_client_free(client);
}

/* ---- Delivery as events arrive ---- */

/* A raw stream sends one event and then pauses 2000 ms. The first chunk must
 * be handed out well before the pause ends. */
static void test_first_chunk_before_pause_ends(void **state)
{
    (void)state;
    const int pause_ms = 2000;
    json_t *response = raw_response();
    raw_response_add_str(response, SSE_HEADERS EVENT_FIRST, pause_ms);
    raw_response_add_str(response, EVENT_LAST, 0);
    queue_response(response);

    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    int64_t start = monotonic_ms();
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_OK);
    int64_t opened = monotonic_ms();
    const hwai_chat_chunk *chunk = NULL;
    assert_int_equal(hwai_chat_stream_next(stream, &chunk, &err), HWAI_OK);
    int64_t first = monotonic_ms();
    assert_non_null(chunk);
    assert_int_equal(chunk->content_len, 5);
    assert_memory_equal(chunk->content, "first", 5);
    assert_int_equal(hwai_chat_stream_next(stream, &chunk, &err), HWAI_OK);
    int64_t second = monotonic_ms();
    assert_non_null(chunk);
    assert_string_equal(chunk->finish_reason, "stop");
    assert_int_equal(hwai_chat_stream_next(stream, &chunk, &err), HWAI_OK);
    assert_null(chunk);
    print_message(
        "open took %lld ms, first chunk %lld ms after open, second %lld ms after "
        "open (server pause %d ms)\n",
        (long long)(opened - start), (long long)(first - opened), (long long)(second - opened),
        pause_ms);
    assert_true(opened - start < 1000);
    assert_true(first - opened < 1000);
    /* The second event really was held back, so the first was not merely
     * fast because everything had arrived. */
    assert_true(second - opened >= pause_ms / 2);
    hwai_chat_stream_free(stream);
    hwai_client_free(client);
}

/* With stream_delay_ms between the emulator's events, each chunk is handed
 * out as it arrives, not when the response is complete. */
static void test_chunks_arrive_with_delay(void **state)
{
    (void)state;
    const int delay_ms = 150;
    assert_true(test_emulator_script(
        &emulator, "{\"route\":\"chat\",\"responses\":[{\"stream_delay_ms\":150}]}"));
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    req.max_tokens = 8;
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_OK);
    int64_t opened = monotonic_ms();
    const hwai_chat_chunk *chunk = NULL;
    int64_t first_text = -1;
    size_t chunks = 0;
    while (hwai_chat_stream_next(stream, &chunk, &err) == HWAI_OK && chunk) {
        chunks++;
        if (first_text < 0 && chunk->content_len > 0) {
            first_text = monotonic_ms() - opened;
        }
    }
    int64_t total = monotonic_ms() - opened;
    assert_null(err);
    print_message(
        "%zu chunks; first text after %lld ms, end after %lld ms (delay %d ms)\n", chunks,
        (long long)first_text, (long long)total, delay_ms);
    assert_true(chunks >= 3);
    assert_true(first_text >= 0);
    /* The emulator waits delay_ms before every event after the first one, so
     * at least one delay separates the first text from the end. */
    assert_true(total - first_text >= delay_ms);
    hwai_chat_stream_free(stream);
    hwai_client_free(client);
}

/* ---- Cancellation ---- */

typedef struct cancel_job {
    hwai_chat_stream *stream;
    /* Set by the reader just before it calls hwai_chat_stream_next(). */
    atomic_llong reading_since_ms;
    atomic_llong cancelled_at_ms;
    long delay_ms;
} cancel_job;

static void *cancel_after_delay(void *arg)
{
    cancel_job *job = arg;
    while (atomic_load(&job->reading_since_ms) == 0) {
        sleep_ms(1);
    }
    int64_t wake = atomic_load(&job->reading_since_ms) + job->delay_ms;
    int64_t now = monotonic_ms();
    if (wake > now) {
        sleep_ms((long)(wake - now));
    }
    atomic_store(&job->cancelled_at_ms, monotonic_ms());
    hwai_chat_stream_cancel(job->stream);
    return NULL;
}

/* Queues a stream that sends one event, then stays silent for pause_ms. */
static void queue_silent_stream(int pause_ms)
{
    json_t *response = raw_response();
    raw_response_add_str(response, SSE_HEADERS EVENT_FIRST, pause_ms);
    raw_response_add_str(response, EVENT_LAST, 0);
    queue_response(response);
}

/* Another thread cancels 200 ms after next() started blocking on a server
 * that stays silent for 10 s. The API promises a return within about 100 ms,
 * and the assertion allows 300 ms for scheduling noise on busy machines. */
static void test_cancel_from_other_thread(void **state)
{
    (void)state;
    queue_silent_stream(10000);
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    cancel_job job = { .delay_ms = 200 };
    atomic_init(&job.reading_since_ms, 0);
    atomic_init(&job.cancelled_at_ms, 0);
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&job.stream, client, &req, &err), HWAI_OK);
    const hwai_chat_chunk *chunk = NULL;
    assert_int_equal(hwai_chat_stream_next(job.stream, &chunk, &err), HWAI_OK);
    assert_non_null(chunk);

    pthread_t canceller;
    assert_int_equal(pthread_create(&canceller, NULL, cancel_after_delay, &job), 0);
    atomic_store(&job.reading_since_ms, monotonic_ms());
    hwai_status status = hwai_chat_stream_next(job.stream, &chunk, &err);
    int64_t returned = monotonic_ms();
    assert_int_equal(pthread_join(canceller, NULL), 0);

    int64_t blocked = returned - atomic_load(&job.reading_since_ms);
    int64_t latency = returned - atomic_load(&job.cancelled_at_ms);
    print_message(
        "next blocked %lld ms; returned %lld ms after the cancel\n", (long long)blocked,
        (long long)latency);
    assert_int_equal(status, HWAI_E_CANCELLED);
    assert_null(chunk);
    assert_int_equal(hwai_error_status(err), HWAI_E_CANCELLED);
    assert_true(blocked >= job.delay_ms);
    assert_true(latency < 300);
    hwai_error_free(err);
    err = NULL;

    /* The text before the cancel stays, and later calls repeat the status. */
    const hwai_chat_stream_summary *summary = hwai_chat_stream_summary_get(job.stream);
    assert_int_equal(summary->content_len, 5);
    assert_memory_equal(summary->content, "first", 5);
    assert_int_equal(hwai_chat_stream_next(job.stream, &chunk, &err), HWAI_E_CANCELLED);
    hwai_error_free(err);
    hwai_chat_stream_cancel(job.stream);
    int64_t free_start = monotonic_ms();
    hwai_chat_stream_free(job.stream);
    assert_true(monotonic_ms() - free_start < 1000);
    hwai_client_free(client);
}

/* Cancelling before the first next(), twice, and cancelling NULL are safe. */
static void test_cancel_before_reading(void **state)
{
    (void)state;
    queue_silent_stream(10000);
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_OK);
    hwai_chat_stream_cancel(stream);
    hwai_chat_stream_cancel(stream);
    hwai_chat_stream_cancel(NULL);
    const hwai_chat_chunk *chunk = NULL;
    int64_t start = monotonic_ms();
    assert_int_equal(hwai_chat_stream_next(stream, &chunk, &err), HWAI_E_CANCELLED);
    assert_true(monotonic_ms() - start < 300);
    assert_null(chunk);
    hwai_error_free(err);
    hwai_chat_stream_free(stream);
    hwai_client_free(client);
}

/* Freeing an open stream without reading closes the transfer at once, also
 * while the server is silent, and the client keeps working afterwards. */
static void test_free_without_reading(void **state)
{
    (void)state;
    queue_silent_stream(10000);
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_OK);
    int64_t start = monotonic_ms();
    hwai_chat_stream_free(stream);
    hwai_chat_stream_free(NULL);
    assert_true(monotonic_ms() - start < 1000);

    stream_outcome o;
    run_stream(client, &req, &o);
    assert_int_equal(o.status, HWAI_OK);
    assert_string_equal(o.finish_reason, "stop");
    outcome_cleanup(&o);
    hwai_client_free(client);
}

/* ---- Responses that are not event streams ---- */

/* A wrong secret key gets 401 APIG.0301 before any stream starts, and the key
 * appears neither in the error nor in the log. */
static void test_http_error_before_stream(void **state)
{
    (void)state;
    const char *wrong_sk = "wrong-secret-key-0123456789";
    hwai_client *client = new_client(NULL, wrong_sk);
    hwai_chat_request req = pangu_request();
    /* A stale value that a failed open must replace with NULL. */
    hwai_chat_stream *stream = (hwai_chat_stream *)&req;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_E_SERVICE);
    assert_null(stream);
    assert_int_equal(hwai_error_http_status(err), 401);
    assert_true(hwai_error_code_is(err, "APIG.0301"));
    assert_non_null(hwai_error_request_id(err));
    assert_int_equal(hwai_error_attempts(err), 1);
    assert_null(strstr(hwai_error_message(err), wrong_sk));
    hwai_error_free(err);
    hwai_client_free(client);
    assert_log_lacks(wrong_sk);
}

/* A scripted 429 is reported by hwai_chat_stream_open exactly as hwai_chat
 * reports it. */
static void test_rate_limit_mapped_as_plain_call(void **state)
{
    (void)state;
    const char *script =
        "{\"route\":\"chat\",\"responses\":[{\"status\":429,"
        "\"headers\":{\"Retry-After\":\"1\",\"X-Request-Id\":\"rate-limited-request\"},"
        "\"body\":\"{\\\"error_code\\\":\\\"PANGU.0429\\\","
        "\\\"error_msg\\\":\\\"Too many requests\\\"}\"}]}";
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();

    assert_true(test_emulator_script(&emulator, script));
    hwai_chat_result *result = NULL;
    hwai_error *plain_err = NULL;
    assert_int_equal(hwai_chat(&result, client, &req, &plain_err), HWAI_E_SERVICE);
    assert_null(result);

    assert_true(test_emulator_script(&emulator, script));
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_E_SERVICE);
    assert_null(stream);
    assert_int_equal(hwai_error_http_status(err), 429);
    assert_true(hwai_error_code_is(err, "PANGU.0429"));
    assert_string_equal(hwai_error_message(err), "Too many requests");
    assert_string_equal(hwai_error_request_id(err), "rate-limited-request");
    assert_int_equal(hwai_error_http_status(err), hwai_error_http_status(plain_err));
    assert_string_equal(hwai_error_code(err), hwai_error_code(plain_err));
    assert_string_equal(hwai_error_message(err), hwai_error_message(plain_err));
    hwai_error_free(err);
    hwai_error_free(plain_err);
    hwai_client_free(client);
}

static void queue_complete_response(const char *content_type, const char *body)
{
    json_t *response = json_object();
    json_t *headers = json_object();
    json_object_set_new(headers, "Content-Type", json_string(content_type));
    json_object_set_new(response, "status", json_integer(200));
    json_object_set_new(response, "headers", headers);
    json_object_set_new(response, "body", json_string(body));
    queue_response(response);
}

/* A 200 JSON response instead of an event stream is one event, so an error
 * object in it is a stream error, in both shapes. */
static void test_json_response_with_error(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *code;
    } responses[] = {
        { "{\"error\":{\"code\":\"X\",\"message\":\"m\"}}", "X" },
        { "{\"error_code\":\"PANGU.1\",\"error_msg\":\"m\"}", "PANGU.1" },
    };
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    for (size_t i = 0; i < sizeof(responses) / sizeof(responses[0]); i++) {
        queue_complete_response("application/json", responses[i].body);
        stream_outcome o;
        run_stream(client, &req, &o);
        assert_int_equal(o.open_status, HWAI_OK);
        assert_int_equal(o.status, HWAI_E_STREAM_ERROR);
        assert_string_equal(o.error_code, responses[i].code);
        assert_string_equal(o.error_message, "m");
        assert_int_equal(o.chunk_count, 0);
        assert_int_equal(o.summary_content.len, 0);
        outcome_cleanup(&o);
    }
    hwai_client_free(client);
}

/* A server that ignores "stream": true and sends a whole chat completion as
 * JSON gives one chunk with the whole text, then a normal end. */
static void test_json_response_is_one_chunk(void **state)
{
    (void)state;
    queue_complete_response(
        "application/json; charset=utf-8",
        "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
        "\"message\":{\"role\":\"assistant\",\"content\":\"你好\"},\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}");
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    stream_outcome o;
    run_stream(client, &req, &o);
    assert_int_equal(o.status, HWAI_OK);
    assert_int_equal(o.chunk_count, 1);
    assert_string_equal(o.first_role, "assistant");
    assert_true(text_equals(&o.text, "你好"));
    assert_true(text_equals(&o.summary_content, "你好"));
    assert_string_equal(o.finish_reason, "stop");
    assert_true(o.usage.present);
    assert_int_equal(o.usage.total_tokens, 5);
    outcome_cleanup(&o);
    hwai_client_free(client);
}

static void test_html_response_rejected(void **state)
{
    (void)state;
    queue_complete_response("text/html", "<html><body>gateway page</body></html>");
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat_stream_open(&stream, client, &req, &err), HWAI_E_CONTENT_TYPE);
    assert_null(stream);
    assert_non_null(strstr(hwai_error_message(err), "text/html"));
    assert_int_equal(hwai_error_http_status(err), 200);
    hwai_error_free(err);
    hwai_client_free(client);
}

/* ---- Event size limit ---- */

#define EVENT_OK "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n"
#define EVENT_MORE "data: {\"choices\":[{\"delta\":{\"content\":\" more\"}}]}\n\n"
/* JSON around the text of the large event. */
#define LARGE_HEAD "{\"choices\":[{\"delta\":{\"content\":\""
#define LARGE_TAIL "\"},\"finish_reason\":\"stop\"}]}"
#define LARGE_OVERHEAD (sizeof(LARGE_HEAD) - 1 + sizeof(LARGE_TAIL) - 1)

/* Builds two small events with the texts "ok" and " more", then an event whose
 * data (the JSON after "data: ") is exactly data_len bytes, then [DONE]. */
static byte_buf body_with_event_of(size_t data_len)
{
    assert_true(data_len > LARGE_OVERHEAD);
    size_t text_len = data_len - LARGE_OVERHEAD;
    char *text = malloc(text_len);
    assert_non_null(text);
    memset(text, 'a', text_len);
    byte_buf body = { 0 };
    byte_buf_append(
        &body, EVENT_OK EVENT_MORE "data: " LARGE_HEAD,
        strlen(EVENT_OK EVENT_MORE "data: " LARGE_HEAD));
    byte_buf_append(&body, text, text_len);
    byte_buf_append(
        &body, LARGE_TAIL "\n\ndata: [DONE]\n\n", strlen(LARGE_TAIL "\n\ndata: [DONE]\n\n"));
    free(text);
    return body;
}

/* Event data of 1.1 MiB and of 1 MiB + 1 byte exceed the 1 MiB limit, and
 * data of exactly 1 MiB is accepted. Each size is sent three ways. With
 * everything in the same write as the headers, the limit is hit while the
 * stream opens. With the large event alone after a 100 ms pause, it is hit
 * while next() reads. With the pause after the first small event, the second
 * small event is still queued when the limit is hit. Every way, the small
 * events arrive and their text stays in the summary. */
static void test_event_size_limit(void **state)
{
    (void)state;
    static const struct {
        size_t data_len;
        hwai_status status;
    } sizes[] = {
        { EVENT_LIMIT_BYTES + EVENT_LIMIT_BYTES / 10, HWAI_E_STREAM_EVENT_TOO_LARGE },
        { EVENT_LIMIT_BYTES + 1, HWAI_E_STREAM_EVENT_TOO_LARGE },
        { EVENT_LIMIT_BYTES, HWAI_OK },
    };
    static const char *const timings[] = {
        "with the headers",
        "alone after a pause",
        "behind a small event after a pause",
    };
    /* Where the body is split for each timing, after the headers. */
    const size_t pause_at[] = { 0, strlen(EVENT_OK EVENT_MORE), strlen(EVENT_OK) };
    hwai_client *client = api_key_client();
    hwai_chat_request req = openai_request();
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (size_t t = 0; t < sizeof(timings) / sizeof(timings[0]); t++) {
            byte_buf body = body_with_event_of(sizes[i].data_len);
            byte_buf first = { 0 };
            byte_buf_append(&first, SSE_HEADERS, strlen(SSE_HEADERS));
            size_t split = pause_at[t] ? pause_at[t] : body.len;
            byte_buf_append(&first, body.data, split);
            json_t *response = raw_response();
            raw_response_add(response, first.data, first.len, 100);
            if (split < body.len) {
                raw_response_add(response, body.data + split, body.len - split, 0);
            }
            queue_response(response);
            free(first.data);
            free(body.data);

            stream_outcome o;
            run_stream(client, &req, &o);
            if (o.open_status != HWAI_OK) {
                fail_msg(
                    "event data of %zu bytes %s: open returned %s (%s)", sizes[i].data_len,
                    timings[t], hwai_status_str(o.open_status), o.error_message);
            }
            if (o.status != sizes[i].status) {
                fail_msg(
                    "event data of %zu bytes %s: %s (%s), expected %s", sizes[i].data_len,
                    timings[t], hwai_status_str(o.status),
                    o.error_message ? o.error_message : "no error",
                    hwai_status_str(sizes[i].status));
            }
            assert_true(o.delta_count >= 2);
            assert_true(text_equals(&o.deltas[0], "ok"));
            assert_true(text_equals(&o.deltas[1], " more"));
            if (sizes[i].status == HWAI_OK) {
                assert_int_equal(o.delta_count, 3);
                assert_int_equal(o.deltas[2].len, sizes[i].data_len - LARGE_OVERHEAD);
                assert_string_equal(o.finish_reason, "stop");
            } else {
                assert_int_equal(o.delta_count, 2);
                assert_true(text_equals(&o.summary_content, "ok more"));
            }
            outcome_cleanup(&o);
        }
    }
    hwai_client_free(client);
}

/* ---- Program ---- */

static int group_setup(void **state)
{
    (void)state;
    return test_emulator_start(&emulator, NULL) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_emulator_stop(&emulator);
    free(log_text);
    log_text = NULL;
    log_len = 0;
    return 0;
}

/* Drops script entries that a failed test left queued. */
static int reset_emulator(void **state)
{
    (void)state;
    return test_emulator_reset(&emulator) ? 0 : -1;
}

#define STREAM_TEST(name) cmocka_unit_test_setup(name, reset_emulator)

int main(void)
{
    const struct CMUnitTest tests[] = {
        STREAM_TEST(test_normal_stream_openai_path),
        STREAM_TEST(test_end_repeats_ok_with_null),
        STREAM_TEST(test_normal_stream_pangu_path),
        STREAM_TEST(test_event_split_over_reads),
        STREAM_TEST(test_large_event_in_small_writes),
        STREAM_TEST(test_data_without_space),
        STREAM_TEST(test_keep_alive_comments_skipped),
        STREAM_TEST(test_close_without_final_blank_line),
        STREAM_TEST(test_characters_and_line_ends_split),
        STREAM_TEST(test_error_inside_stream),
        STREAM_TEST(test_truncation_keeps_text),
        STREAM_TEST(test_emulator_cut_stream_truncated),
        STREAM_TEST(test_emulator_error_event),
        STREAM_TEST(test_connection_reset_mid_stream),
        STREAM_TEST(test_nul_in_content_kept),
        STREAM_TEST(test_summary_text_empty_before_text),
        STREAM_TEST(test_first_chunk_before_pause_ends),
        STREAM_TEST(test_chunks_arrive_with_delay),
        STREAM_TEST(test_cancel_from_other_thread),
        STREAM_TEST(test_cancel_before_reading),
        STREAM_TEST(test_free_without_reading),
        STREAM_TEST(test_http_error_before_stream),
        STREAM_TEST(test_rate_limit_mapped_as_plain_call),
        STREAM_TEST(test_json_response_with_error),
        STREAM_TEST(test_json_response_is_one_chunk),
        STREAM_TEST(test_html_response_rejected),
        STREAM_TEST(test_event_size_limit),
    };
    return cmocka_run_group_tests_name("chat-stream", tests, group_setup, group_teardown);
}
