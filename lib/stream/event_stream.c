#include "stream/event_stream.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/client_internal.h"
#include "core/error_internal.h"
#include "util/str.h"

/* How long one pump may wait for the network before the loop looks at the
 * cancel flag again; a cancel wakes the wait at once, so this only bounds
 * the cost of a missed wakeup. */
#define PUMP_WAIT_MS 1000

typedef struct queued_event {
    hwai__buf type;
    hwai__buf data;
    hwai__buf id;
    long retry_ms;
} queued_event;

struct hwai__event_stream {
    hwai_client *client;
    hwai__http_stream *http;
    hwai__http_response resp;
    hwai__sse_parser parser;
    size_t max_event_bytes;
    /* How body bytes are handled, decided when the first ones arrive. */
    enum { BODY_UNDECIDED, BODY_SSE, BODY_WHOLE } body_mode;
    /* Events parsed but not yet handed out; head is the next one to return. */
    queued_event *queue;
    size_t queue_count;
    size_t queue_cap;
    size_t queue_head;
    hwai__sse_event current;
    /* Status that stopped the body callback: parser errors and oversized bodies. */
    hwai_status body_status;
    hwai_error *body_error;
    bool transfer_done;
    bool ended;
    bool incomplete;
    atomic_bool cancelled;
};

static hwai_status queue_event(const hwai__sse_event *event, void *user_data)
{
    hwai__event_stream *s = user_data;
    if (s->queue_count == s->queue_cap) {
        size_t cap = s->queue_cap ? s->queue_cap * 2 : 8;
        queued_event *grown = realloc(s->queue, cap * sizeof(*grown));
        if (!grown) {
            return HWAI_E_NOMEM;
        }
        memset(grown + s->queue_cap, 0, (cap - s->queue_cap) * sizeof(*grown));
        s->queue = grown;
        s->queue_cap = cap;
    }
    /* Buffers of earlier events are reused, so a long stream allocates only
     * while its events keep growing. */
    queued_event *slot = &s->queue[s->queue_count];
    hwai__buf_clear(&slot->type);
    hwai__buf_clear(&slot->data);
    hwai__buf_clear(&slot->id);
    hwai__buf_append(&slot->type, event->type, event->type_len);
    hwai__buf_append(&slot->data, event->data, event->data_len);
    hwai__buf_append(&slot->id, event->id, event->id_len);
    slot->retry_ms = event->retry_ms;
    if (slot->type.oom || slot->data.oom || slot->id.oom) {
        return HWAI_E_NOMEM;
    }
    s->queue_count++;
    return HWAI_OK;
}

static bool is_event_stream(const char *content_type)
{
    size_t len = strcspn(content_type, "; ");
    return len == strlen("text/event-stream") &&
           hwai__strncasecmp(content_type, "text/event-stream", len) == 0;
}

static void decide_body_mode(hwai__event_stream *s)
{
    const char *content_type = hwai__headers_get(&s->resp.headers, "Content-Type");
    if (s->resp.status < 300 && content_type && is_event_stream(content_type)) {
        s->body_mode = BODY_SSE;
    } else {
        s->body_mode = BODY_WHOLE;
    }
}

static bool on_body(void *user_data, const char *data, size_t len)
{
    hwai__event_stream *s = user_data;
    if (s->body_mode == BODY_UNDECIDED) {
        decide_body_mode(s);
    }
    if (s->body_mode == BODY_SSE) {
        s->body_status =
            hwai__sse_feed(&s->parser, data, len, queue_event, s, &s->body_error);
        return s->body_status == HWAI_OK;
    }
    if (s->resp.body.len + len > s->client->max_response_bytes) {
        s->body_status = hwai__error_set(
            &s->body_error,
            HWAI_E_RESPONSE_TOO_LARGE,
            "response body exceeds the maximum of %zu bytes; raise max_response_bytes",
            s->client->max_response_bytes);
        return false;
    }
    if (!hwai__buf_append(&s->resp.body, data, len)) {
        s->body_status = HWAI_E_NOMEM;
        return false;
    }
    return true;
}

/* Hands a status that stopped the body callback to the caller. */
static hwai_status take_body_error(hwai__event_stream *s, hwai_error **err)
{
    if (err) {
        hwai_error_free(*err);
        *err = s->body_error;
        s->body_error = NULL;
    }
    if (!err || !*err) {
        hwai__error_set(err, s->body_status, "%s", hwai_status_str(s->body_status));
    }
    return s->body_status;
}

/* Moves the transfer on once. Sets transfer_done when it has ended. */
static hwai_status pump(hwai__event_stream *s, hwai_error **err)
{
    bool done = false;
    hwai_status status = s->http->ops->pump(s->http, PUMP_WAIT_MS, &done, err);
    if (s->body_status != HWAI_OK) {
        return take_body_error(s, err);
    }
    s->transfer_done = done;
    return status;
}

/* Reads the rest of a non-stream answer (an error, or a JSON body). */
static hwai_status read_whole_body(hwai__event_stream *s, hwai_error **err)
{
    hwai_status status = HWAI_OK;
    while (status == HWAI_OK && !s->transfer_done) {
        if (atomic_load(&s->cancelled)) {
            return hwai__error_set(err, HWAI_E_CANCELLED, "stream cancelled");
        }
        status = pump(s, err);
    }
    return status;
}

static hwai_status wait_for_headers(hwai__event_stream *s, hwai_error **err)
{
    hwai_status status = HWAI_OK;
    while (status == HWAI_OK && !s->transfer_done && !s->http->ops->headers_complete(s->http)) {
        status = pump(s, err);
    }
    return status;
}

static hwai_status check_answer(
    hwai__event_stream *s, const hwai__call *call, hwai_error **err)
{
    if (s->body_mode == BODY_UNDECIDED) {
        decide_body_mode(s);
    }
    if (s->resp.status >= 300) {
        hwai_status status = read_whole_body(s, err);
        return status == HWAI_OK ? hwai__pipeline_check_status(call, &s->resp, err) : status;
    }
    if (s->body_mode == BODY_SSE) {
        return HWAI_OK;
    }
    const char *content_type = hwai__headers_get(&s->resp.headers, "Content-Type");
    if (!content_type || !hwai__content_type_is_json(content_type)) {
        return hwai__error_set_http(
            err,
            HWAI_E_CONTENT_TYPE,
            s->resp.status,
            NULL,
            hwai__headers_get(&s->resp.headers, "X-Request-Id"),
            "%s answer has Content-Type '%s', expected text/event-stream",
            call->operation,
            content_type ? content_type : "(none)");
    }
    hwai_status status = read_whole_body(s, err);
    if (status == HWAI_OK && s->resp.body.len > 0) {
        hwai__sse_event whole = {
            "message", 7, s->resp.body.data, s->resp.body.len, "", 0, -1};
        status = queue_event(&whole, s);
    }
    return status;
}

hwai_status hwai__event_stream_open(
    hwai__event_stream **out,
    hwai_client *client,
    const hwai__call *call,
    size_t max_event_bytes,
    hwai_error **err)
{
    *out = NULL;
    hwai__event_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory opening a stream");
    }
    s->client = client;
    s->max_event_bytes = max_event_bytes;
    atomic_init(&s->cancelled, false);
    hwai__prepared prep;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    hwai_status status = hwai__sse_parser_init(&s->parser, max_event_bytes, err);
    if (status == HWAI_OK) {
        status = hwai__pipeline_prepare(client, call, &prep, err);
        if (status == HWAI_OK) {
            status = client->transport->ops->stream_open(
                client->transport, &prep.request, &s->resp, on_body, s, &s->http, err);
        }
        if (status == HWAI_OK) {
            status = wait_for_headers(s, err);
        }
        if (status == HWAI_OK) {
            status = check_answer(s, call, err);
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed_ms = (long)((now.tv_sec - start.tv_sec) * 1000 +
                                 (now.tv_nsec - start.tv_nsec) / 1000000);
        hwai__pipeline_log_result(client, call, &prep, &s->resp, status, elapsed_ms, err);
        hwai__error_set_attempts(err, s->http ? 1 : 0);
        hwai__prepared_cleanup(&prep);
    }
    if (status != HWAI_OK) {
        hwai__event_stream_free(s);
        return status;
    }
    *out = s;
    return HWAI_OK;
}

static const hwai__sse_event *pop_event(hwai__event_stream *s)
{
    queued_event *slot = &s->queue[s->queue_head++];
    s->current.type = slot->type.data;
    s->current.type_len = slot->type.len;
    s->current.data = slot->data.data;
    s->current.data_len = slot->data.len;
    s->current.id = slot->id.data ? slot->id.data : "";
    s->current.id_len = slot->id.len;
    s->current.retry_ms = slot->retry_ms;
    return &s->current;
}

/* At the end of the body: the parser dispatches an event that lacked its
 * closing blank line, and reports whether the body stopped mid-event. */
static hwai_status finish_body(hwai__event_stream *s, hwai_error **err)
{
    s->ended = true;
    if (s->body_mode != BODY_SSE) {
        return HWAI_OK;
    }
    return hwai__sse_finish(&s->incomplete, &s->parser, queue_event, s, err);
}

hwai_status hwai__event_stream_next(
    hwai__event_stream *s, const hwai__sse_event **out, bool *out_incomplete, hwai_error **err)
{
    *out = NULL;
    *out_incomplete = false;
    for (;;) {
        if (atomic_load(&s->cancelled)) {
            return hwai__error_set(err, HWAI_E_CANCELLED, "stream cancelled by the caller");
        }
        if (s->queue_head < s->queue_count) {
            *out = pop_event(s);
            return HWAI_OK;
        }
        /* Every queued event was handed out: start over at the front. */
        s->queue_head = 0;
        s->queue_count = 0;
        if (s->ended) {
            *out_incomplete = s->incomplete;
            return HWAI_OK;
        }
        if (s->transfer_done) {
            hwai_status status = finish_body(s, err);
            if (status != HWAI_OK) {
                return status;
            }
            continue;
        }
        hwai_status status = pump(s, err);
        if (status != HWAI_OK) {
            if (atomic_load(&s->cancelled)) {
                return hwai__error_set(err, HWAI_E_CANCELLED, "stream cancelled by the caller");
            }
            /* A transfer that broke off is a cut stream; events parsed before the
             * break are still handed out first. */
            s->ended = true;
            s->incomplete = true;
            if (s->queue_head < s->queue_count) {
                continue;
            }
            return status;
        }
    }
}

void hwai__event_stream_cancel(hwai__event_stream *s)
{
    if (!s) {
        return;
    }
    atomic_store(&s->cancelled, true);
    if (s->http) {
        s->http->ops->wakeup(s->http);
    }
}

const hwai__http_response *hwai__event_stream_response(const hwai__event_stream *s)
{
    return &s->resp;
}

void hwai__event_stream_free(hwai__event_stream *s)
{
    if (!s) {
        return;
    }
    if (s->http) {
        s->http->ops->close(s->http);
    }
    for (size_t i = 0; i < s->queue_cap; i++) {
        hwai__buf_cleanup(&s->queue[i].type);
        hwai__buf_cleanup(&s->queue[i].data);
        hwai__buf_cleanup(&s->queue[i].id);
    }
    free(s->queue);
    hwai__sse_parser_cleanup(&s->parser);
    hwai__http_response_cleanup(&s->resp);
    hwai_error_free(s->body_error);
    free(s);
}
