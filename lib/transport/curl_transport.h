/* Pieces of the libcurl backend shared by plain calls and streams. */
#ifndef HWAI_TRANSPORT_CURL_TRANSPORT_H
#define HWAI_TRANSPORT_CURL_TRANSPORT_H

#include <curl/curl.h>
#include <stdbool.h>

#include "transport/transport.h"

/* Per-transfer state the libcurl callbacks write into. */
typedef struct hwai__curl_transfer {
    hwai__http_response *resp;
    size_t max_response_bytes;
    size_t header_bytes;
    /* Status of the response whose headers are being read, and whether the blank
     * line after the final (non-1xx) response's headers has arrived. */
    int header_status;
    bool headers_complete;
    bool body_too_large;
    bool headers_too_large;
    /* When set, body bytes go to this callback instead of resp->body; it returns
     * false to abort the transfer. */
    bool (*on_body)(void *user_data, const char *data, size_t len);
    void *on_body_user_data;
    struct curl_slist *header_list;
    char error_text[CURL_ERROR_SIZE];
} hwai__curl_transfer;

typedef struct hwai__curl_transport hwai__curl_transport;

hwai_status hwai__curl_stream_open(
    hwai__transport *transport,
    const hwai__http_request *req,
    hwai__http_response *resp,
    hwai__body_cb on_body,
    void *user_data,
    hwai__http_stream **out,
    hwai_error **err);

/* A blocking transfer that req->cancel can end promptly. */
hwai_status hwai__curl_perform_cancellable(
    hwai__transport *transport,
    const hwai__http_request *req,
    hwai__http_response *resp,
    hwai_error **err);

/* Takes an easy handle from the pool (or makes one) and sets it up for req. */
hwai_status hwai__curl_transfer_begin(
    hwai__transport *transport,
    const hwai__http_request *req,
    hwai__curl_transfer *xfer,
    CURL **easy_out,
    hwai_error **err);

/* Reads the status into xfer->resp and maps a libcurl result to a status. */
hwai_status
hwai__curl_transfer_finish(hwai__curl_transfer *xfer, CURL *easy, CURLcode rc, hwai_error **err);

/* Returns the easy handle to the pool and frees the header list. */
void hwai__curl_transfer_end(hwai__transport *transport, hwai__curl_transfer *xfer, CURL *easy);

#endif
