/* The one place that strings the backends together for a call: endpoint,
 * project id, headers, authorization, transport and error mapping. */
#ifndef HWAI_CORE_PIPELINE_H
#define HWAI_CORE_PIPELINE_H

#include <jansson.h>
#include <stdbool.h>

#include "auth/auth.h"
#include "core/endpoint.h"
#include "retry/backoff.h"
#include "transport/transport.h"
#include "util/url.h"

typedef struct hwai__call {
    hwai_service service;
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
    /* Some services report failures with error_code in a 2xx response. */
    bool error_code_in_success;
    /* Sends no authorization at all, whatever the client's credentials (the
     * IAM token request itself). */
    bool anonymous;
    /* Credentials for this call instead of the client's, or NULL. */
    const hwai_credentials *credentials;
    /* 0 means HWAI__IDEMPOTENT. */
    hwai__idempotency idempotency;
    /* Deadline over every attempt and delay; 0 means the client's
     * call_timeout_ms. */
    uint32_t deadline_ms;
    hwai_cancel_token *cancel;
} hwai__call;

/* A request ready to go: URL, headers and authorization for one attempt. */
typedef struct hwai__prepared {
    hwai__url base_url;
    hwai__buf path;
    hwai__headers headers;
    hwai__buf uri;
    hwai__buf url;
    hwai__http_request request;
    hwai__auth_scope scope;
    /* Project id of the request's region, configured or looked up. */
    char *project_id;
    /* IAM token sent with this attempt, to drop it if the gateway rejects it. */
    char *token_used;
    const hwai_credentials *credentials;
    /* Monotonic milliseconds at which the call's deadline passes. */
    uint64_t deadline_at_ms;
} hwai__prepared;

/* Resolves the endpoint and the project id (looking it up through IAM when
 * needed); nothing is sent to the service. Free with hwai__prepared_cleanup,
 * also after a failure. */
hwai_status hwai__pipeline_prepare(
    hwai_client *client, const hwai__call *call, hwai__prepared *prep, hwai_error **err);

/* Builds the headers and authorization of one attempt, signing anew. */
hwai_status hwai__pipeline_authorize(
    hwai_client *client, const hwai__call *call, hwai__prepared *prep, hwai_error **err);
void hwai__prepared_cleanup(hwai__prepared *prep);

/* After a failed attempt: decides by the retry policy and the call's
 * idempotency whether to try again, and if so logs the reason and sleeps the
 * backoff delay (Retry-After when the response had it). Returns HWAI_OK to try
 * again; otherwise the status to return (status itself, or HWAI_E_CANCELLED
 * when the sleep was cancelled). Never sleeps past the call's deadline. */
hwai_status hwai__pipeline_retry_wait(
    hwai_client *client,
    const hwai__call *call,
    const hwai__prepared *prep,
    const hwai__http_response *resp,
    unsigned int attempt,
    hwai_status status,
    hwai_error **err);

/* After a 401 to a request that carried an IAM token: drops the token and
 * returns true the first time, so the caller tries once more with a new one. */
bool hwai__pipeline_token_rejected(
    hwai_client *client,
    const hwai__call *call,
    hwai__prepared *prep,
    const hwai__http_response *resp,
    bool *already_refreshed);

/* Milliseconds of a monotonic clock, for deadlines. */
uint64_t hwai__monotonic_ms(void);

/* Maps a 3xx (never followed) or >= 400 response to an error; HWAI_OK otherwise. */
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

/* Sends the call and returns the final response in resp. An HTTP status of 400 or
 * more returns HWAI_E_SERVICE with the service's code, message and request id. */
hwai_status hwai__pipeline_send(
    hwai_client *client, const hwai__call *call, hwai__http_response *resp, hwai_error **err);

/* hwai__pipeline_send, then checks that the response is JSON and parses it. */
hwai_status hwai__pipeline_json(
    hwai_client *client,
    const hwai__call *call,
    hwai__http_response *resp,
    json_t **root_out,
    hwai_error **err);

/* Appends a path parameter percent-encoded as one segment; an empty or NULL
 * value is HWAI_E_INVALID_ARG naming the parameter. */
hwai_status
hwai__path_append_param(hwai__buf *path, const char *name, const char *value, hwai_error **err);

/* Maps an response with status >= 400 to HWAI_E_SERVICE; see error_map.c. */
hwai_status
hwai__error_from_response(const hwai__http_response *resp, const char *operation, hwai_error **err);

/* Finds a Huawei or OpenAI-style error (code and message) in a JSON value; the
 * strings are borrowed from root or written into code_buf. Returns false when
 * nothing looks like an error. */
bool hwai__find_error_fields(const json_t *root, hwai__buf *code_buf, const char **message_out);

#endif
