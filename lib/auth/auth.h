/* The authorization step: one backend per credentials kind (AK/SK signing,
 * API key, IAM token, none) behind one call. */
#ifndef HWAI_AUTH_AUTH_H
#define HWAI_AUTH_AUTH_H

#include "hwai/client.h"
#include "util/buf.h"
#include "util/headers.h"
#include "util/url.h"

typedef struct hwai__auth_request {
    const char *method;
    const char *path;         /* as sent, percent-encoded */
    const hwai__query *query; /* decoded pairs, or NULL */
    const char *authority;    /* host[:port] for the Host header */
    hwai__headers *headers;   /* in and out */
    const void *body;
    size_t body_len;
} hwai__auth_request;

/* Where a request goes, for the backends that depend on it: the V11 scope,
 * and the project an IAM token is scoped to. */
typedef struct hwai__auth_scope {
    hwai_service service;
    const char *region;
    const char *project_id;
    hwai_sign_algorithm algorithm;
    const char *signing_service;
    /* The call's deadline (monotonic milliseconds) and cancellation token,
     * which an IAM token fetch on the call's behalf obeys too. */
    uint64_t deadline_at_ms;
    hwai_cancel_token *cancel;
} hwai__auth_scope;

/* Adds the authorization headers for creds (none when creds is NULL) and
 * appends the URI to send (path, then the canonical query) to uri_out. Signed
 * requests are signed anew on every call, so each retry gets a fresh date.
 * For IAM token credentials, *token_used_out (when non-NULL) receives a copy of
 * the token sent, for hwai__auth_token_rejected; free it with hwai__secret_free. */
hwai_status hwai__auth_apply(
    hwai_client *client,
    const hwai_credentials *creds,
    const hwai__auth_scope *scope,
    const hwai__auth_request *req,
    hwai__buf *uri_out,
    char **token_used_out,
    hwai_error **err);

/* Masks the secrets of creds (SK, security token, API key, password) and the
 * IAM token sent, when a server echoed them into *err. */
void hwai__auth_redact_error(hwai_error **err, const hwai_credentials *creds, const char *token);

/* Called after a 401 to a request that carried token: drops the cached token
 * so the next attempt fetches a new one. */
void hwai__auth_token_rejected(
    hwai_client *client, const hwai__auth_scope *scope, const char *token);

#endif
