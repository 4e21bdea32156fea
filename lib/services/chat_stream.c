/* Streamed chat: chat.completion.chunk events on top of the event stream. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "core/client_internal.h"
#include "core/error_internal.h"
#include "json/json.h"
#include "services/chat_request.h"
#include "services/chat_result.h"
#include "stream/event_stream.h"
#include "util/str.h"

struct hwai_chat_stream {
    hwai_client *client;
    hwai__event_stream *events;
    hwai_chat_chunk chunk;
    /* JSON of the chunk handed out last; its strings back chunk. */
    json_t *chunk_root;
    hwai__buf chunk_raw;
    hwai_chat_stream_summary summary;
    hwai__buf content;
    char *finish_reason;
    char *request_id;
    struct timespec opened;
    /* Set once the stream has ended, normally or not; later calls repeat it. */
    bool finished;
    hwai_status final_status;
    hwai_error *final_error;
};

static int64_t ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

hwai_status hwai_chat_stream_open(
    hwai_chat_stream **out, hwai_client *client, const hwai_chat_request *req, hwai_error **err)
{
    if (!out || !client) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is NULL", out ? "client" : "out");
    }
    *out = NULL;
    hwai_status status = hwai__chat_validate(req, err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai_chat_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory opening a chat stream");
    }
    clock_gettime(CLOCK_MONOTONIC, &s->opened);
    s->client = client;
    s->summary.first_chunk_ms = -1;
    s->summary.content = "";
    hwai__chat_route route = { 0 };
    size_t body_len = 0;
    char *body = NULL;
    status = hwai__chat_route_build(client, req, &route, err);
    if (status == HWAI_OK) {
        body = hwai__chat_encode(req, route.openai_compatible, true, &body_len, err);
        status = body ? HWAI_OK : hwai_error_status(err ? *err : NULL);
        status = status == HWAI_OK && !body ? HWAI_E_NOMEM : status;
    }
    if (status == HWAI_OK) {
        hwai__call call = {
            .service = route.service,
            .operation = "chat stream",
            .method = "POST",
            .path = route.path.data,
            .body = body,
            .body_len = body_len,
            .deadline_ms = req->deadline_ms,
            .cancel = req->cancel,
        };
        status =
            hwai__event_stream_open(&s->events, client, &call, HWAI__DEFAULT_MAX_EVENT_BYTES, err);
    }
    free(body);
    hwai__chat_route_cleanup(&route);
    if (status != HWAI_OK) {
        hwai_chat_stream_free(s);
        return status;
    }
    const hwai__http_response *resp = hwai__event_stream_response(s->events);
    s->request_id = hwai__strdup(hwai__headers_get(&resp->headers, "X-Request-Id"));
    s->summary.request_id = s->request_id;
    s->summary.http_status = resp->status;
    *out = s;
    return HWAI_OK;
}

static hwai_error *copy_error(const hwai_error *src)
{
    hwai_error *copy = NULL;
    hwai__error_set_http(
        &copy, src->status, src->http_status, src->code, src->request_id, "%s",
        hwai_error_message(src));
    if (copy) {
        copy->attempts = src->attempts;
    }
    return copy;
}

/* Ends the stream with a status that every later call returns again; the
 * caller's error stays with the caller and the stream keeps a copy. */
static hwai_status finish(hwai_chat_stream *s, hwai_status status, hwai_error **err)
{
    s->finished = true;
    s->final_status = status;
    if (err && *err && status != HWAI_OK) {
        if (hwai_error_http_status(*err) == 0) {
            hwai__error_set_response(err, s->summary.http_status, s->request_id);
        }
        if (hwai_error_attempts(*err) == 0) {
            /* The stream opened, so its request was sent. */
            hwai__error_set_attempts(err, 1);
        }
        hwai__auth_redact_error(err, s->client->credentials, NULL);
        s->final_error = copy_error(*err);
    }
    return status;
}

static hwai_status repeat_final(hwai_chat_stream *s, hwai_error **err)
{
    if (err && s->final_error) {
        hwai_error_free(*err);
        *err = copy_error(s->final_error);
    }
    return s->final_status;
}

static hwai_status
stream_error(hwai_chat_stream *s, const char *code, const char *message, hwai_error **err)
{
    hwai__error_set_http(
        err, HWAI_E_STREAM_ERROR, s->summary.http_status, code, s->request_id, "%s",
        message && *message ? message : "the service reported an error in the stream");
    return finish(s, HWAI_E_STREAM_ERROR, err);
}

/* An error object after HTTP 200: {"error": {...}} in the OpenAI shape or
 * {"error_code", "error_msg"} in the Huawei shape. */
static bool report_error_object(hwai_chat_stream *s, json_t *root, hwai_error **err)
{
    bool has_error =
        json_object_get(root, "error") != NULL && !json_is_null(json_object_get(root, "error"));
    bool has_code = !hwai__str_empty(hwai__json_str(root, "error_code"));
    if (!has_error && !has_code) {
        return false;
    }
    hwai__buf code = HWAI__BUF_INIT;
    const char *message = NULL;
    hwai__find_error_fields(root, &code, &message);
    stream_error(s, code.len ? code.data : NULL, message, err);
    hwai__buf_cleanup(&code);
    return true;
}

static hwai_status append_summary(hwai_chat_stream *s, const hwai_chat_chunk *chunk)
{
    if (chunk->index == 0 && chunk->content_len > 0) {
        /* The summary keeps every piece, so an endless stream must stop here
         * rather than exhaust memory. */
        if (s->content.len + chunk->content_len > s->client->max_response_bytes) {
            return HWAI_E_RESPONSE_TOO_LARGE;
        }
        hwai__buf_append(&s->content, chunk->content, chunk->content_len);
        if (s->content.oom) {
            return HWAI_E_NOMEM;
        }
        s->summary.content = s->content.data;
        s->summary.content_len = s->content.len;
        if (s->summary.first_chunk_ms < 0) {
            s->summary.first_chunk_ms = ms_since(&s->opened);
        }
    }
    if (chunk->index == 0 && chunk->finish_reason && !s->finish_reason) {
        s->finish_reason = hwai__strdup(chunk->finish_reason);
        s->summary.finish_reason = s->finish_reason;
    }
    if (chunk->usage.present) {
        s->summary.usage = chunk->usage;
    }
    s->summary.chunk_count++;
    return HWAI_OK;
}

static void read_delta(hwai_chat_chunk *chunk, const json_t *choice)
{
    const json_t *delta = json_object_get(choice, "delta");
    /* Some servers put the text under "message", as in a plain response. */
    if (!json_is_object(delta)) {
        delta = json_object_get(choice, "message");
    }
    const json_t *index = json_object_get(choice, "index");
    chunk->index = json_is_integer(index) ? (uint32_t)json_integer_value(index) : 0;
    chunk->role = hwai__json_str(delta, "role");
    const json_t *content = json_object_get(delta, "content");
    chunk->content = json_is_string(content) ? json_string_value(content) : "";
    chunk->content_len = json_is_string(content) ? json_string_length(content) : 0;
    const json_t *reasoning = json_object_get(delta, "reasoning_content");
    if (json_is_string(reasoning)) {
        chunk->reasoning_content = json_string_value(reasoning);
        chunk->reasoning_content_len = json_string_length(reasoning);
    }
    chunk->finish_reason = hwai__json_str(choice, "finish_reason");
}

static hwai_status truncated(hwai_chat_stream *s, const char *where, hwai_error **err)
{
    hwai__error_set_http(
        err, HWAI_E_STREAM_TRUNCATED, s->summary.http_status, NULL, s->request_id,
        "chat stream truncated: the connection closed %s after %zu bytes of text, "
        "without [DONE] or a finish reason",
        where, s->content.len);
    return finish(s, HWAI_E_STREAM_TRUNCATED, err);
}

/* Turns one data event into the chunk handed out; root is kept alive by s.
 * cut is true when the event was flushed from a body that ended mid-event. */
static hwai_status
read_chunk(hwai_chat_stream *s, const hwai__sse_event *event, bool cut, hwai_error **err)
{
    json_t *root = NULL;
    hwai_status status =
        hwai__json_parse(event->data, event->data_len, HWAI__JSON_MAX_DEPTH, &root, NULL);
    if (status != HWAI_OK && cut) {
        return truncated(s, "inside an event", err);
    }
    if (status != HWAI_OK) {
        hwai__json_parse(event->data, event->data_len, HWAI__JSON_MAX_DEPTH, &root, err);
        hwai__error_prefix(err, "chat stream event");
        return finish(s, status, err);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        hwai__error_set_http(
            err, HWAI_E_BAD_RESPONSE, s->summary.http_status, NULL, s->request_id,
            "chat stream event is not a JSON object");
        return finish(s, HWAI_E_BAD_RESPONSE, err);
    }
    if (report_error_object(s, root, err)) {
        json_decref(root);
        return s->final_status;
    }
    json_decref(s->chunk_root);
    s->chunk_root = root;
    memset(&s->chunk, 0, sizeof(s->chunk));
    s->chunk.content = "";
    const json_t *choices = json_object_get(root, "choices");
    if (json_array_size(choices) > 0) {
        read_delta(&s->chunk, json_array_get(choices, 0));
    }
    hwai__chat_usage_from_json(json_object_get(root, "usage"), &s->chunk.usage);
    /* raw_json must outlive the event buffer, which the next event reuses. */
    hwai__buf_clear(&s->chunk_raw);
    if (!hwai__buf_append(&s->chunk_raw, event->data, event->data_len)) {
        return finish(s, hwai__error_set(err, HWAI_E_NOMEM, "out of memory reading a chunk"), err);
    }
    s->chunk.raw_json = s->chunk_raw.data;
    s->chunk.raw_json_len = s->chunk_raw.len;
    status = append_summary(s, &s->chunk);
    if (status == HWAI_E_RESPONSE_TOO_LARGE) {
        hwai__error_set(
            err, status,
            "chat stream text exceeds the maximum of %zu bytes; raise max_response_bytes",
            s->client->max_response_bytes);
        return finish(s, status, err);
    }
    if (status != HWAI_OK) {
        return finish(s, hwai__error_set(err, HWAI_E_NOMEM, "out of memory reading a chunk"), err);
    }
    return HWAI_OK;
}

static bool is_done_marker(const hwai__sse_event *event)
{
    const char *data = event->data;
    size_t len = event->data_len;
    while (len > 0 && (data[len - 1] == ' ' || data[len - 1] == '\r')) {
        len--;
    }
    return len == 6 && memcmp(data, "[DONE]", 6) == 0;
}

static bool type_is(const hwai__sse_event *event, const char *type)
{
    return event->type_len == strlen(type) && memcmp(event->type, type, event->type_len) == 0;
}

static hwai_status
handle_error_event(hwai_chat_stream *s, const hwai__sse_event *event, hwai_error **err)
{
    json_t *root = NULL;
    if (hwai__json_parse(event->data, event->data_len, HWAI__JSON_MAX_DEPTH, &root, NULL) ==
            HWAI_OK &&
        json_is_object(root)) {
        hwai__buf code = HWAI__BUF_INIT;
        const char *message = NULL;
        if (!hwai__find_error_fields(root, &code, &message)) {
            /* An error event needs no code: {"message": "..."} alone is enough. */
            message = hwai__json_str(root, "message");
        }
        stream_error(s, code.len ? code.data : NULL, message, err);
        hwai__buf_cleanup(&code);
    } else {
        hwai__buf text = HWAI__BUF_INIT;
        hwai__buf_append(&text, event->data, event->data_len < 512 ? event->data_len : 512);
        stream_error(s, NULL, text.data, err);
        hwai__buf_cleanup(&text);
    }
    json_decref(root);
    return s->final_status;
}

/* The response body ended: complete only after [DONE] or a finish reason. A body cut
 * after the finish reason arrived lost nothing the caller needs. */
static hwai_status end_of_body(hwai_chat_stream *s, bool incomplete, hwai_error **err)
{
    if (s->finish_reason) {
        return finish(s, HWAI_OK, err);
    }
    return truncated(s, incomplete ? "inside an event" : "between events", err);
}

hwai_status
hwai_chat_stream_next(hwai_chat_stream *s, const hwai_chat_chunk **out, hwai_error **err)
{
    if (!s || !out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is NULL", s ? "out" : "stream");
    }
    *out = NULL;
    if (s->finished) {
        return repeat_final(s, err);
    }
    for (;;) {
        const hwai__sse_event *event = NULL;
        bool incomplete = false;
        hwai_status status = hwai__event_stream_next(s->events, &event, &incomplete, err);
        if (status != HWAI_OK) {
            if (status == HWAI_E_TRANSPORT) {
                /* The connection broke off mid-answer. */
                hwai__error_prefix(err, "chat stream truncated");
            } else if (status == HWAI_E_TIMEOUT) {
                hwai__error_prefix(err, "chat stream timed out");
            }
            return finish(s, status, err);
        }
        if (!event) {
            return end_of_body(s, incomplete, err);
        }
        if (type_is(event, "error")) {
            return handle_error_event(s, event, err);
        }
        if (!type_is(event, "message")) {
            continue;
        }
        if (is_done_marker(event)) {
            return finish(s, HWAI_OK, err);
        }
        status = read_chunk(s, event, incomplete, err);
        if (status != HWAI_OK) {
            return status;
        }
        *out = &s->chunk;
        return HWAI_OK;
    }
}

void hwai_chat_stream_cancel(hwai_chat_stream *s)
{
    if (s) {
        hwai__event_stream_cancel(s->events);
    }
}

const hwai_chat_stream_summary *hwai_chat_stream_summary_get(const hwai_chat_stream *s)
{
    return s ? &s->summary : NULL;
}

void hwai_chat_stream_free(hwai_chat_stream *s)
{
    if (!s) {
        return;
    }
    hwai__event_stream_free(s->events);
    json_decref(s->chunk_root);
    hwai__buf_cleanup(&s->chunk_raw);
    hwai__buf_cleanup(&s->content);
    free(s->finish_reason);
    free(s->request_id);
    hwai_error_free(s->final_error);
    free(s);
}
