/* Applies the client's credentials to a request that is about to be sent. */
#ifndef HWAI_AUTH_AUTH_H
#define HWAI_AUTH_AUTH_H

#include "hwai/credentials.h"
#include "util/buf.h"
#include "util/headers.h"
#include "util/url.h"

typedef struct hwai__auth_request {
    const char *method;
    const char *path;          /* as sent, percent-encoded */
    const hwai__query *query;  /* decoded pairs, or NULL */
    const char *authority;     /* host[:port] for the Host header */
    hwai__headers *headers;    /* in and out */
    const void *body;
    size_t body_len;
} hwai__auth_request;

/* Adds the authorization headers for creds (none when creds is NULL) and
 * appends the URI to send (path, then the canonical query) to uri_out. Signed
 * requests are signed anew on every call, so each retry gets a fresh date. */
hwai_status hwai__auth_apply(
    const hwai_credentials *creds,
    const hwai__auth_request *req,
    hwai__buf *uri_out,
    hwai_error **err);

#endif
