/* AK/SK request signing (SDK-HMAC-SHA256, V11-HMAC-SHA256, SDK-HMAC-SM3). The
 * client's request path and hwai_sign() both call hwai__sign(). */
#ifndef HWAI_AUTH_SIGNER_H
#define HWAI_AUTH_SIGNER_H

#include <time.h>

#include "hwai/sign.h"
#include "util/headers.h"
#include "util/url.h"

typedef struct hwai__sign_params {
    hwai_sign_algorithm algorithm; /* 0 means SDK-HMAC-SHA256 */
    const char *method;
    const char *path;         /* as sent, percent-encoded; must start with '/' */
    const hwai__query *query; /* decoded pairs, or NULL */
    /* In and out: the signer adds X-Sdk-Date (unless present), Host (unless
     * present and host is non-NULL), X-Sdk-Content-Sha256 when the rules ask for
     * it, and Authorization. */
    hwai__headers *headers;
    const char *host; /* authority for the Host header; NULL adds none */
    const void *body;
    size_t body_len;
    const char *ak;
    const char *sk;
    const char *service; /* V11 scope */
    const char *region;  /* V11 scope */
    time_t now;          /* for X-Sdk-Date when absent; 0 means time(NULL) */
} hwai__sign_params;

typedef struct hwai__sign_result {
    char *canonical_request;
    char *string_to_sign;
    char *signed_headers;
    char *signature;
    char *authorization;
    char *uri; /* path, then '?' and the canonical query when there is one */
} hwai__sign_result;

/* Signs a request: adds the headers listed in hwai__sign_params to
 * params->headers, replaces any Authorization header with a fresh one and fills
 * out, which the caller frees with hwai__sign_result_cleanup(). Errors:
 * HWAI_E_AUTH for an empty AK or SK, HWAI_E_SIGN for a bad X-Sdk-Date, path or
 * header set, HWAI_E_INVALID_ARG for a NULL or malformed argument or a V11 scope
 * without service or region, HWAI_E_UNSUPPORTED for SM3 in a build without it. */
hwai_status hwai__sign(const hwai__sign_params *params, hwai__sign_result *out, hwai_error **err);
/* Frees every string of result, wiping the canonical request (it contains header
 * values such as X-Security-Token), the signature and the Authorization value. */
void hwai__sign_result_cleanup(hwai__sign_result *result);

/* Derives the V11-HMAC-SHA256 signing key for the scope info (YYYYMMDD/region/service):
 * PRK = HMAC-SHA256(AK, SK), OKM = HMAC-SHA256(PRK, info || 0x01), and the key is the
 * lowercase hex text of OKM. out receives 64 characters and a NUL; wipe it after use. */
hwai_status hwai__sign_v11_key(const char *ak, const char *sk, const char *info, char out[65]);

#endif
