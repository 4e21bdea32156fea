/* Streamed transfers: one easy handle driven through a multi handle of its own,
 * so the reader can wait with curl_multi_poll and another thread can wake it
 * with curl_multi_wakeup. */
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "retry/cancel.h"
#include "transport/curl_transport.h"

typedef struct curl_http_stream {
    hwai__http_stream base;
    hwai__transport *transport;
    CURLM *multi;
    CURL *easy;
    hwai__curl_transfer xfer;
    hwai__body_cb user_on_body;
    void *user_data;
    /* Body bytes delivered by the current pump, which decide whether it waits. */
    size_t delivered;
    bool done;
    hwai_status result;
} curl_http_stream;

static bool forward_body(void *user_data, const char *data, size_t len)
{
    curl_http_stream *s = user_data;
    s->delivered += len;
    return s->user_on_body(s->user_data, data, len);
}

/* Runs libcurl once and records the end of the transfer. */
static void drive(curl_http_stream *s, hwai_error **err)
{
    int running = 0;
    CURLMcode mc = curl_multi_perform(s->multi, &running);
    if (mc != CURLM_OK) {
        s->done = true;
        s->result =
            hwai__error_set(err, HWAI_E_TRANSPORT, "transfer failed: %s", curl_multi_strerror(mc));
        return;
    }
    int queued = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(s->multi, &queued)) != NULL) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == s->easy) {
            s->done = true;
            s->result = hwai__curl_transfer_finish(&s->xfer, s->easy, msg->data.result, err);
        }
    }
}

static hwai_status stream_pump(hwai__http_stream *base, int wait_ms, bool *done, hwai_error **err)
{
    curl_http_stream *s = (curl_http_stream *)base;
    if (!s->done) {
        s->delivered = 0;
        drive(s, err);
        if (!s->done && s->delivered == 0) {
            CURLMcode mc = curl_multi_poll(s->multi, NULL, 0, wait_ms, NULL);
            if (mc != CURLM_OK) {
                s->done = true;
                s->result = hwai__error_set(
                    err, HWAI_E_TRANSPORT, "waiting for data failed: %s", curl_multi_strerror(mc));
            } else {
                drive(s, err);
            }
        }
    }
    *done = s->done;
    return s->done ? s->result : HWAI_OK;
}

static void stream_wakeup(hwai__http_stream *base)
{
    curl_http_stream *s = (curl_http_stream *)base;
    curl_multi_wakeup(s->multi);
}

static bool stream_headers_complete(const hwai__http_stream *base)
{
    const curl_http_stream *s = (const curl_http_stream *)base;
    return s->xfer.headers_complete;
}

static void stream_close(hwai__http_stream *base)
{
    curl_http_stream *s = (curl_http_stream *)base;
    if (!s) {
        return;
    }
    if (s->multi && s->easy) {
        curl_multi_remove_handle(s->multi, s->easy);
    }
    /* A transfer cut short leaves its connection in an unknown state; closing
     * the handle instead of pooling it keeps that connection out of reuse. */
    if (s->easy && !s->done) {
        curl_easy_setopt(s->easy, CURLOPT_SHARE, NULL);
        curl_easy_cleanup(s->easy);
        s->easy = NULL;
    }
    hwai__curl_transfer_end(s->transport, &s->xfer, s->easy);
    if (s->multi) {
        curl_multi_cleanup(s->multi);
    }
    free(s);
}

static const hwai__http_stream_ops curl_stream_ops = { stream_pump, stream_wakeup, stream_close,
                                                       stream_headers_complete };

hwai_status hwai__curl_stream_open(
    hwai__transport *transport,
    const hwai__http_request *req,
    hwai__http_response *resp,
    hwai__body_cb on_body,
    void *user_data,
    hwai__http_stream **out,
    hwai_error **err)
{
    *out = NULL;
    curl_http_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory opening a stream");
    }
    s->base.ops = &curl_stream_ops;
    s->transport = transport;
    s->user_on_body = on_body;
    s->user_data = user_data;
    s->xfer.resp = resp;
    s->xfer.on_body = forward_body;
    s->xfer.on_body_user_data = s;
    hwai_status status = hwai__curl_transfer_begin(transport, req, &s->xfer, &s->easy, err);
    if (status == HWAI_OK) {
        s->multi = curl_multi_init();
        if (!s->multi || curl_multi_add_handle(s->multi, s->easy) != CURLM_OK) {
            status = hwai__error_set(err, HWAI_E_NOMEM, "could not create a libcurl multi handle");
        }
    }
    if (status != HWAI_OK) {
        s->done = true;
        stream_close(&s->base);
        return status;
    }
    *out = &s->base;
    return HWAI_OK;
}

typedef struct buffered_body {
    hwai__http_response *resp;
    size_t max_bytes;
    bool too_large;
} buffered_body;

static bool buffer_body(void *user_data, const char *data, size_t len)
{
    buffered_body *body = user_data;
    if (body->max_bytes && body->resp->body.len + len > body->max_bytes) {
        body->too_large = true;
        return false;
    }
    return hwai__buf_append(&body->resp->body, data, len);
}

static void wake_stream(void *arg)
{
    hwai__http_stream *stream = arg;
    stream->ops->wakeup(stream);
}

hwai_status hwai__curl_perform_cancellable(
    hwai__transport *transport,
    const hwai__http_request *req,
    hwai__http_response *resp,
    hwai_error **err)
{
    buffered_body body = { resp, req->max_response_bytes, false };
    hwai__http_stream *stream = NULL;
    hwai_status status =
        hwai__curl_stream_open(transport, req, resp, buffer_body, &body, &stream, err);
    if (status != HWAI_OK) {
        return status;
    }
    int watch = hwai__cancel_watch(req->cancel, wake_stream, stream);
    bool done = false;
    while (status == HWAI_OK && !done) {
        if (hwai__cancel_is_set(req->cancel)) {
            status = hwai__error_set(err, HWAI_E_CANCELLED, "request cancelled by the caller");
            break;
        }
        status = stream->ops->pump(stream, 1000, &done, err);
    }
    hwai__cancel_unwatch(req->cancel, watch);
    if (body.too_large) {
        status = hwai__error_set(
            err, HWAI_E_RESPONSE_TOO_LARGE,
            "response body exceeds the maximum of %zu bytes; raise max_response_bytes",
            body.max_bytes);
    }
    stream->ops->close(stream);
    return status;
}
