/* The one place that strings the backends together for a call: endpoint,
 * project id, headers, authorization, transport and error mapping. */
#ifndef HWAI_CORE_PIPELINE_H
#define HWAI_CORE_PIPELINE_H

#include <jansson.h>
#include <stdbool.h>

#include "core/endpoint.h"
#include "transport/transport.h"
#include "util/url.h"

typedef struct hwai__call {
    hwai__service service;
    /* Short name for logs and errors, such as "chat". */
    const char *operation;
    const char *method;
    /* Path below the base URL. "{project_id}" is replaced with the client's
     * project id; every other parameter must already be percent-encoded in. */
    const char *path;
    const hwai__query *query;
    const void *body;
    size_t body_len;
    /* Defaults to application/json when there is a body. */
    const char *content_type;
    /* Some services report failures with error_code in a 2xx answer. */
    bool error_code_in_success;
} hwai__call;

/* A request ready to go: URL, headers and signature for one attempt. */
typedef struct hwai__prepared {
    hwai__url base_url;
    hwai__buf path;
    hwai__headers headers;
    hwai__buf uri;
    hwai__buf url;
    hwai__http_request request;
} hwai__prepared;

/* Resolves the endpoint, fills in the project id and signs; on failure nothing
 * was sent. Free with hwai__prepared_cleanup, also after a failure. */
hwai_status hwai__pipeline_prepare(
    hwai_client *client, const hwai__call *call, hwai__prepared *prep, hwai_error **err);
void hwai__prepared_cleanup(hwai__prepared *prep);

/* Maps a 3xx (never followed) or >= 400 answer to an error; HWAI_OK otherwise. */
hwai_status hwai__pipeline_check_status(
    const hwai__call *call, const hwai__http_response *resp, hwai_error **err);

void hwai__pipeline_log_result(
    hwai_client *client,
    const hwai__call *call,
    const hwai__prepared *prep,
    const hwai__http_response *resp,
    hwai_status status,
    long elapsed_ms,
    hwai_error **err);

/* True for application/json and other media types ending in "json". */
bool hwai__content_type_is_json(const char *content_type);

/* Sends the call and returns the final answer in resp. An HTTP status of 400 or
 * more returns HWAI_E_SERVICE with the service's code, message and request id. */
hwai_status hwai__pipeline_send(
    hwai_client *client, const hwai__call *call, hwai__http_response *resp, hwai_error **err);

/* hwai__pipeline_send, then checks that the answer is JSON and parses it. */
hwai_status hwai__pipeline_json(
    hwai_client *client,
    const hwai__call *call,
    hwai__http_response *resp,
    json_t **root_out,
    hwai_error **err);

/* Appends a path parameter percent-encoded as one segment; an empty or NULL
 * value is HWAI_E_INVALID_ARG naming the parameter. */
hwai_status hwai__path_append_param(
    hwai__buf *path, const char *name, const char *value, hwai_error **err);

/* Maps an answer with status >= 400 to HWAI_E_SERVICE; see error_map.c. */
hwai_status hwai__error_from_response(
    const hwai__http_response *resp, const char *operation, hwai_error **err);

/* Finds a Huawei or OpenAI-style error (code and message) in a JSON value; the
 * strings are borrowed from root or written into code_buf. Returns false when
 * nothing looks like an error. */
bool hwai__find_error_fields(
    const json_t *root, hwai__buf *code_buf, const char **message_out);

#endif
