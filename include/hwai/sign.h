/**
 * @file sign.h
 * @brief Signs an HTTP request with AK/SK credentials without sending it.
 *
 * Clients sign every request they send with the same function, so this is also
 * the tool for diagnosing a gateway's `APIG.0301` (signature mismatch): compare
 * the canonical request and string to sign printed here with the gateway's view.
 *
 * The rules are those of Huawei Cloud's SDK-HMAC-SHA256 algorithm:
 * - the path is percent-decoded, then every segment percent-encoded again with
 *   only `A-Z a-z 0-9 - . _ ~` left literal (uppercase hex), and a trailing `/`
 *   added;
 * - the query is split on `&` and on the first `=` of each piece, both halves
 *   percent-decoded (`+` stays a literal plus), sorted by decoded key then value,
 *   and re-encoded the same way; the signed query is also what is sent;
 * - every header is signed except names containing `_`; values are trimmed;
 * - `Host` is added from the URL unless given, `X-Sdk-Date` is added with the
 *   current UTC time unless given, and a `Content-Type` other than JSON or BSON
 *   adds `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`;
 * - two headers whose names differ only in case are rejected.
 */
#ifndef HWAI_SIGN_H
#define HWAI_SIGN_H

#include "hwai/common.h"
#include "hwai/credentials.h"
#include "hwai/error.h"

HWAI_BEGIN_DECL

/** One HTTP header. */
typedef struct hwai_http_header {
    const char *name;
    const char *value;
} hwai_http_header;

/** Signing algorithm. */
typedef enum hwai_sign_algorithm {
    /** `SDK-HMAC-SHA256`, the default. */
    HWAI_SIGN_SDK_HMAC_SHA256 = 1,
    /** `V11-HMAC-SHA256`: a key derived from AK/SK for one service and region. */
    HWAI_SIGN_V11_HMAC_SHA256 = 2,
    /** `SDK-HMAC-SM3`, where the build provides the SM3 hash. */
    HWAI_SIGN_SDK_HMAC_SM3 = 3
} hwai_sign_algorithm;

#define HWAI_SIGN_INPUT_VERSION 1

/** Request to sign. Initialise with ::HWAI_SIGN_INPUT_INIT or hwai_sign_input_init(). */
typedef struct hwai_sign_input {
    /** Must be ::HWAI_SIGN_INPUT_VERSION. */
    unsigned int version;
    /** HTTP method; upper-cased before signing. */
    const char *method;
    /** Absolute URL, `scheme://host[:port]/path[?query]`; the path is taken as
     * sent, already percent-encoded. */
    const char *url;
    /** Headers to send and sign; may include `X-Sdk-Date` and `Host`. */
    const hwai_http_header *headers;
    size_t header_count;
    /** Body bytes, or NULL for none. */
    const void *body;
    size_t body_len;
    /** 0 means ::HWAI_SIGN_SDK_HMAC_SHA256. */
    hwai_sign_algorithm algorithm;
    /** Service name of the V11 scope, such as "nlp"; V11 only. */
    const char *service;
    /** Region id of the V11 scope, such as "cn-north-4"; V11 only. */
    const char *region;
} hwai_sign_input;

#define HWAI_SIGN_INPUT_INIT                                                                      \
    {                                                                                             \
        HWAI_SIGN_INPUT_VERSION, NULL, NULL, NULL, 0, NULL, 0, (hwai_sign_algorithm)0, NULL, NULL \
    }

/**
 * @brief Initialises @p input to an empty input of the given struct version.
 *
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p input is NULL or @p version is unknown
 */
HWAI_API HWAI_NODISCARD hwai_status
hwai_sign_input_init(hwai_sign_input *input, unsigned int version);

/** A signed request; free with hwai_signed_request_free(). Strings are borrowed. */
typedef struct hwai_signed_request {
    /** Upper-cased method. */
    const char *method;
    /** URI to send: the path as given, then `?` and the canonical query if any. */
    const char *uri;
    /** Every header of the signed request, `Authorization` included, in the
     * order given, followed by those the signer added. */
    const hwai_http_header *headers;
    size_t header_count;
    /** Intermediate values, for comparing with a gateway's or another signer's. */
    const char *canonical_request;
    const char *string_to_sign;
    const char *signed_headers;
    const char *signature;
    const char *authorization;
} hwai_signed_request;

/**
 * @brief Signs a request with AK/SK credentials. Opens no connection.
 *
 * When @p creds carry a security token, `X-Security-Token` is added and signed.
 *
 * @param[out] out   receives the signed request; free with hwai_signed_request_free()
 * @param[in]  creds AK/SK credentials
 * @param[in]  input what to sign
 * @param[out] err   optional detailed error
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  a NULL argument, a URL without scheme, host or path,
 *                             or credentials that are not AK/SK
 * @retval HWAI_E_SIGN         a malformed `X-Sdk-Date`, or a header name that differs
 *                             from another only in case. A `%` not followed by two hex
 *                             digits is kept as a literal `%` (sent as `%25`), as the
 *                             official signer reads it
 * @retval HWAI_E_UNSUPPORTED  an algorithm this build lacks
 * @retval HWAI_E_NOMEM        out of memory
 */
HWAI_API HWAI_NODISCARD hwai_status hwai_sign(
    hwai_signed_request **out,
    const hwai_credentials *creds,
    const hwai_sign_input *input,
    hwai_error **err);

/**
 * @brief Frees a signed request, wiping its Authorization value. Accepts NULL.
 */
HWAI_API void hwai_signed_request_free(hwai_signed_request *req);

HWAI_END_DECL

#endif /* HWAI_SIGN_H */
