/* The transport backend: sends one HTTP request and collects the final response.
 * Services and the pipeline see only this interface; libcurl stays behind it. */
#ifndef HWAI_TRANSPORT_TRANSPORT_H
#define HWAI_TRANSPORT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hwai/error.h"
#include "hwai/retry.h"
#include "util/buf.h"
#include "util/headers.h"

/* Headers larger than this in total end the transfer with HWAI_E_HEADERS_TOO_LARGE. */
#define HWAI__MAX_HEADER_BYTES (64u * 1024u)

typedef struct hwai__http_request {
    const char *method;
    const char *url;
    const hwai__headers *headers;
    const void *body;
    size_t body_len;
    uint32_t connect_timeout_ms;
    uint32_t timeout_ms;
    size_t max_response_bytes;
    /* When set, cancelling it ends the transfer promptly with HWAI_E_CANCELLED. */
    hwai_cancel_token *cancel;
} hwai__http_request;

typedef struct hwai__http_response {
    int status;
    /* Headers of the final response only: those of 1xx responses, proxy CONNECT
     * responses and redirects are dropped. */
    hwai__headers headers;
    hwai__buf body;
    /* Attempts the pipeline made to get this response. */
    unsigned int attempts;
} hwai__http_response;

#define HWAI__HTTP_RESPONSE_INIT                 \
    {                                            \
        0, HWAI__HEADERS_INIT, HWAI__BUF_INIT, 0 \
    }

void hwai__http_response_cleanup(hwai__http_response *resp);

typedef struct hwai__transport_config {
    const char *ca_file;
    const char *ca_path;
    bool insecure_skip_tls_verify;
    const char *client_cert_file;
    const char *client_key_file;
    const char *proxy_url;
    const char *proxy_username;
    const char *proxy_password;
} hwai__transport_config;

typedef struct hwai__transport hwai__transport;

/* Receives body bytes of a streamed response as they arrive; returns false to
 * abort the transfer. */
typedef bool (*hwai__body_cb)(void *user_data, const char *data, size_t len);

/* A transfer in progress, driven by its reader rather than by a blocking call. */
typedef struct hwai__http_stream hwai__http_stream;

typedef struct hwai__http_stream_ops {
    /* Moves the transfer on, waiting at most wait_ms for the network. Body bytes
     * reach the body callback from inside this call. When the transfer has
     * ended, *done is set and the status is its result (HWAI_OK for a complete
     * response); later calls return the same status without setting err. */
    hwai_status (*pump)(hwai__http_stream *stream, int wait_ms, bool *done, hwai_error **err);
    /* Makes a pump that is waiting return at once. Safe from any thread. */
    void (*wakeup)(hwai__http_stream *stream);
    /* Aborts the transfer if needed and frees the stream. */
    void (*close)(hwai__http_stream *stream);
    /* Whether the final response's status line and headers have all arrived. */
    bool (*headers_complete)(const hwai__http_stream *stream);
} hwai__http_stream_ops;

struct hwai__http_stream {
    const hwai__http_stream_ops *ops;
};

typedef struct hwai__transport_ops {
    /* Sends the request and fills resp; safe to call from several threads. A
     * non-OK status means no complete response arrived. */
    hwai_status (*perform)(
        hwai__transport *transport,
        const hwai__http_request *req,
        hwai__http_response *resp,
        hwai_error **err);
    /* Starts a transfer without waiting for it. resp receives the status and
     * headers of the final response; body bytes go to on_body. */
    hwai_status (*stream_open)(
        hwai__transport *transport,
        const hwai__http_request *req,
        hwai__http_response *resp,
        hwai__body_cb on_body,
        void *user_data,
        hwai__http_stream **out,
        hwai_error **err);
    void (*destroy)(hwai__transport *transport);
} hwai__transport_ops;

struct hwai__transport {
    const hwai__transport_ops *ops;
};

hwai_status hwai__transport_curl_new(
    hwai__transport **out, const hwai__transport_config *config, hwai_error **err);

#endif
