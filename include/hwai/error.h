/**
 * @file error.h
 * @brief Status codes and the detailed error object every fallible call can return.
 *
 * Every call that can fail returns an ::hwai_status. Calls that take an optional
 * `hwai_error **err` as their last parameter also store a detailed error there on
 * failure: the HTTP status, the service's error code (such as `APIG.0301`), a
 * message, the request id and the number of attempts. Pass NULL when the status
 * alone is enough. There is no thread-local "last error".
 *
 * Set `*err` to NULL before the first call. On failure a call stores a new
 * error there, freeing the one it held; on success it leaves `*err` as it was.
 * So one variable can serve several calls, but test the returned status, not
 * `*err`, and free `*err` with hwai_error_free() when done.
 */
#ifndef HWAI_ERROR_H
#define HWAI_ERROR_H

#include "hwai/common.h"

HWAI_BEGIN_DECL

/**
 * Result of every fallible call. Values are pinned and never renumbered; new
 * values are only added. They are grouped by area: 1xx arguments and
 * configuration, 2xx transport, 3xx authentication, 4xx service responses,
 * 5xx streams, 6xx call control.
 */
typedef enum hwai_status {
    HWAI_OK = 0,

    /** An argument is NULL, out of range or malformed; the message names it. */
    HWAI_E_INVALID_ARG = 100,
    /** Memory allocation failed. */
    HWAI_E_NOMEM = 101,
    /** The operation or option is not supported by this build or service. */
    HWAI_E_UNSUPPORTED = 102,
    /** The client configuration is incomplete or inconsistent (region, project id,
     * endpoint); the message names the setting to fix. */
    HWAI_E_CONFIG = 103,
    /** A plain http:// URL was given for a host that is neither loopback nor allowed
     * by the caller; nothing was sent. */
    HWAI_E_INSECURE_URL = 104,

    /** The transfer failed after it started (connection reset, protocol error). */
    HWAI_E_TRANSPORT = 200,
    /** Name resolution or the TCP connection failed; the request was not sent. */
    HWAI_E_CONNECT = 201,
    /** A timeout expired (connect, total or deadline). */
    HWAI_E_TIMEOUT = 202,
    /** TLS handshake or certificate verification failed. */
    HWAI_E_TLS = 203,
    /** The response body is larger than the configured maximum. */
    HWAI_E_RESPONSE_TOO_LARGE = 204,
    /** The response headers are larger than the configured maximum. */
    HWAI_E_HEADERS_TOO_LARGE = 205,

    /** No usable credentials, or credentials rejected locally (empty AK or SK). */
    HWAI_E_AUTH = 300,
    /** The request could not be signed (bad date, path or header). */
    HWAI_E_SIGN = 301,

    /** The service responded with an HTTP status of 400 or more; see the error's
     * HTTP status and service code. */
    HWAI_E_SERVICE = 400,
    /** The service's response is not valid JSON or lacks a required field. */
    HWAI_E_BAD_RESPONSE = 401,
    /** The service's response has an unexpected Content-Type. */
    HWAI_E_CONTENT_TYPE = 402,
    /** The service's response nests JSON deeper than the parser allows. */
    HWAI_E_JSON_DEPTH = 403,

    /** The stream ended before `[DONE]` or a finish reason; the text received so far
     * stays available. */
    HWAI_E_STREAM_TRUNCATED = 500,
    /** A server-sent event exceeded the maximum event size. */
    HWAI_E_STREAM_EVENT_TOO_LARGE = 501,
    /** The service reported an error inside the stream, after HTTP 200. */
    HWAI_E_STREAM_ERROR = 502,

    /** The call was cancelled by the caller. */
    HWAI_E_CANCELLED = 600,

    /** An internal invariant failed; please report it. */
    HWAI_E_INTERNAL = 900
} hwai_status;

/** Detailed error, allocated by the library; free it with hwai_error_free(). */
typedef struct hwai_error hwai_error;

/**
 * @brief Returns a short static English description of a status, such as
 * "invalid argument". Unknown values give "unknown status". Thread-safe.
 */
HWAI_API const char *hwai_status_str(hwai_status status);

/**
 * @brief Returns the status recorded in the error, or ::HWAI_OK for NULL.
 */
HWAI_API hwai_status hwai_error_status(const hwai_error *err);

/**
 * @brief Returns a human-readable message, never NULL ("" for NULL).
 *
 * The pointer is borrowed and lives as long as @p err. Messages never contain
 * secrets (SK, tokens, API keys, passwords).
 */
HWAI_API const char *hwai_error_message(const hwai_error *err);

/**
 * @brief Returns the HTTP status of the last response, or 0 when no response arrived.
 */
HWAI_API int hwai_error_http_status(const hwai_error *err);

/**
 * @brief Returns the service's error code (for example "APIG.0301"), or NULL.
 *
 * When an error body carried no code, this is the HTTP status as text. The
 * pointer is borrowed and lives as long as @p err.
 */
HWAI_API const char *hwai_error_code(const hwai_error *err);

/**
 * @brief Returns the request id from the response's X-Request-Id header, or NULL.
 */
HWAI_API const char *hwai_error_request_id(const hwai_error *err);

/**
 * @brief Returns how many attempts were made (1 when the call was not retried,
 * 0 when nothing was sent).
 */
HWAI_API unsigned int hwai_error_attempts(const hwai_error *err);

/**
 * @brief Tells whether the error's service code is @p code.
 *
 * The API gateway spells its prefix both `APIG.` and `APIGW.`, so those two are
 * treated as the same: "APIG.0301" matches "APIGW.0301". Other codes compare
 * exactly.
 *
 * @return 1 on a match, 0 otherwise or when either argument is NULL
 */
HWAI_API int hwai_error_code_is(const hwai_error *err, const char *code);

/**
 * @brief Frees an error. Accepts NULL.
 */
HWAI_API void hwai_error_free(hwai_error *err);

HWAI_END_DECL

#endif /* HWAI_ERROR_H */
