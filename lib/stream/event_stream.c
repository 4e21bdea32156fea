#include "stream/event_stream.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/client_internal.h"
#include "core/error_internal.h"
#include "retry/cancel.h"
#include "util/str.h"

/* Maximum wait of one pump before the loop checks the cancel flag again. A
 * cancel wakes the wait at once, so this only bounds a missed wakeup. */
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
    /* Guards http against a cancel from another thread while an attempt
     * replaces it. */
    pthread_mutex_t http_lock;
    /* The call's cancellation token, watched while the stream lives. */
    hwai_cancel_token *cancel;
    int cancel_watch;
    /* A failure that arrived while parsed events were still queued; returned
     * once the caller has taken them. */
    hwai_status pending_status;
    hwai_error *pending_error;
    /* Idle timeout: a pump that brings no byte for this long fails the stream. */
    uint32_t idle_timeout_ms;
    uint64_t last_data_ms;
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
    s->last_data_ms = hwai__monotonic_ms();
    if (s->body_mode == BODY_UNDECIDED) {
        decide_body_mode(s);
    }
    if (s->body_mode == BODY_SSE) {
        s->body_status = hwai__sse_feed(&s->parser, data, len, queue_event, s, &s->body_error);
        return s->body_status == HWAI_OK;
    }
    if (s->resp.body.len + len > s->client->max_response_bytes) {
        s->body_status = hwai__error_set(
            &s->body_error, HWAI_E_RESPONSE_TOO_LARGE,
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
    uint64_t now = hwai__monotonic_ms();
    uint64_t idle_end = s->last_data_ms + s->idle_timeout_ms;
    if (now >= idle_end) {
        return hwai__error_set(
            err, HWAI_E_TIMEOUT, "no data received for %u ms (the stream idle timeout)",
            s->idle_timeout_ms);
    }
    uint64_t wait = idle_end - now < PUMP_WAIT_MS ? idle_end - now : PUMP_WAIT_MS;
    hwai_status status = s->http->ops->pump(s->http, (int)wait, &done, err);
    if (s->body_status != HWAI_OK && s->body_mode == BODY_SSE) {
        /* The events parsed before the bad one still reach the caller first. */
        s->pending_status = s->body_status;
        s->pending_error = s->body_error;
        s->body_error = NULL;
        s->body_status = HWAI_OK;
        s->transfer_done = true;
        s->ended = true;
        s->incomplete = true;
        if (err) {
            hwai_error_free(*err);
            *err = NULL;
        }
        return HWAI_OK;
    }
    if (s->body_status != HWAI_OK) {
        return take_body_error(s, err);
    }
    s->transfer_done = done;
    return status;
}

/* Reads the rest of a non-stream response (an error, or a JSON body). */
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
        if (atomic_load(&s->cancelled)) {
            return hwai__error_set(err, HWAI_E_CANCELLED, "stream cancelled by the caller");
        }
        status = pump(s, err);
    }
    return status;
}

static hwai_status check_response(hwai__event_stream *s, const hwai__call *call, hwai_error **err)
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
            err, HWAI_E_CONTENT_TYPE, s->resp.status, NULL,
            hwai__headers_get(&s->resp.headers, "X-Request-Id"),
            "%s response has Content-Type '%s', expected text/event-stream", call->operation,
            content_type ? content_type : "(none)");
    }
    hwai_status status = read_whole_body(s, err);
    if (status == HWAI_OK && s->resp.body.len > 0) {
        hwai__sse_event whole = { "message", 7, s->resp.body.data, s->resp.body.len, "", 0, -1 };
        status = queue_event(&whole, s);
    }
    return status;
}

/* Drops what an attempt left behind, so the next one starts clean. */
static void set_http(hwai__event_stream *s, hwai__http_stream *http)
{
    pthread_mutex_lock(&s->http_lock);
    hwai__http_stream *old = s->http;
    s->http = http;
    if (old) {
        old->ops->close(old);
    }
    pthread_mutex_unlock(&s->http_lock);
}

static hwai_status reset_attempt(hwai__event_stream *s, hwai_error **err)
{
    set_http(s, NULL);
    hwai__http_response_cleanup(&s->resp);
    hwai__sse_parser_cleanup(&s->parser);
    s->queue_count = 0;
    s->queue_head = 0;
    s->body_mode = BODY_UNDECIDED;
    s->body_status = HWAI_OK;
    hwai_error_free(s->body_error);
    s->body_error = NULL;
    s->transfer_done = false;
    s->last_data_ms = hwai__monotonic_ms();
    return hwai__sse_parser_init(&s->parser, s->max_event_bytes, err);
}

static hwai_status
open_attempt(hwai__event_stream *s, const hwai__call *call, hwai__prepared *prep, hwai_error **err)
{
    hwai_client *client = s->client;
    uint64_t start = hwai__monotonic_ms();
    hwai_status status = reset_attempt(s, err);
    if (status == HWAI_OK) {
        status = hwai__pipeline_authorize(client, call, prep, err);
    }
    if (status != HWAI_OK) {
        return status;
    }
    /* The call's deadline bounds opening; the response itself may take as long
     * as the client's total timeout, and the idle timeout catches a stall. */
    prep->request.timeout_ms = client->timeout_ms;
    hwai__http_stream *http = NULL;
    status = client->transport->ops->stream_open(
        client->transport, &prep->request, &s->resp, on_body, s, &http, err);
    set_http(s, http);
    if (status == HWAI_OK) {
        status = wait_for_headers(s, err);
    }
    if (status == HWAI_OK) {
        status = check_response(s, call, err);
    }
    hwai__pipeline_log_result(
        client, call, prep, &s->resp, status, (long)(hwai__monotonic_ms() - start), err);
    return status;
}

static void wake_on_cancel(void *arg)
{
    hwai__event_stream_cancel(arg);
}

/* Opens the stream, retrying by the client's policy: nothing has reached the
 * caller yet, so a retry cannot repeat text. */
static hwai_status
open_with_retries(hwai__event_stream *s, const hwai__call *call, hwai_error **err)
{
    hwai__prepared prep;
    hwai_status status = hwai__pipeline_prepare(s->client, call, &prep, err);
    unsigned int attempt = 0;
    bool token_refreshed = false;
    while (status == HWAI_OK) {
        if (atomic_load(&s->cancelled)) {
            status = hwai__error_set(err, HWAI_E_CANCELLED, "stream cancelled by the caller");
            break;
        }
        if (hwai__monotonic_ms() >= prep.deadline_at_ms) {
            status = hwai__error_set(
                err, HWAI_E_TIMEOUT, "%s timed out: the call's deadline passed after %u attempts",
                call->operation, attempt);
            break;
        }
        attempt++;
        status = open_attempt(s, call, &prep, err);
        if (status == HWAI_OK) {
            break;
        }
        hwai__auth_redact_error(err, prep.credentials, prep.token_used);
        if (hwai__pipeline_token_rejected(s->client, call, &prep, &s->resp, &token_refreshed)) {
            attempt--;
            status = HWAI_OK;
            /* A stream that opens on the next try returns no error. */
            if (err) {
                hwai_error_free(*err);
                *err = NULL;
            }
            continue;
        }
        status = hwai__pipeline_retry_wait(s->client, call, &prep, &s->resp, attempt, status, err);
        if (status == HWAI_OK && err) {
            hwai_error_free(*err);
            *err = NULL;
        }
    }
    hwai__error_set_attempts(err, attempt);
    hwai__prepared_cleanup(&prep);
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
    s->idle_timeout_ms = client->stream_idle_timeout_ms;
    s->cancel = call->cancel;
    s->cancel_watch = -1;
    atomic_init(&s->cancelled, false);
    pthread_mutex_init(&s->http_lock, NULL);
    hwai_status status = hwai__sse_parser_init(&s->parser, max_event_bytes, err);
    if (status == HWAI_OK && s->cancel) {
        s->cancel_watch = hwai__cancel_watch(s->cancel, wake_on_cancel, s);
    }
    if (status == HWAI_OK) {
        status = open_with_retries(s, call, err);
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
            /* Events flushed at the end of a cut body may be cut themselves. */
            *out_incomplete = s->ended && s->incomplete;
            return HWAI_OK;
        }
        /* Every queued event was handed out: start over at the front. */
        s->queue_head = 0;
        s->queue_count = 0;
        if (s->pending_status != HWAI_OK) {
            if (err) {
                hwai_error_free(*err);
                *err = s->pending_error;
                s->pending_error = NULL;
                if (!*err) {
                    hwai__error_set(
                        err, s->pending_status, "%s", hwai_status_str(s->pending_status));
                }
            }
            return s->pending_status;
        }
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
                s->pending_status = status;
                if (err) {
                    s->pending_error = *err;
                    *err = NULL;
                }
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
    pthread_mutex_lock(&s->http_lock);
    if (s->http) {
        s->http->ops->wakeup(s->http);
    }
    pthread_mutex_unlock(&s->http_lock);
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
    if (s->cancel) {
        hwai__cancel_unwatch(s->cancel, s->cancel_watch);
    }
    set_http(s, NULL);
    pthread_mutex_destroy(&s->http_lock);
    for (size_t i = 0; i < s->queue_cap; i++) {
        hwai__buf_cleanup(&s->queue[i].type);
        hwai__buf_cleanup(&s->queue[i].data);
        hwai__buf_cleanup(&s->queue[i].id);
    }
    free(s->queue);
    hwai__sse_parser_cleanup(&s->parser);
    hwai__http_response_cleanup(&s->resp);
    hwai_error_free(s->body_error);
    hwai_error_free(s->pending_error);
    free(s);
}
