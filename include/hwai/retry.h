/**
 * @file retry.h
 * @brief Retry policy, per-call deadlines and cancellation.
 *
 * Retries are on by default, unlike in the official Huawei Cloud SDKs, because
 * AI services throttle often and a throttled call usually succeeds a second
 * later. The rules:
 * - retried: a connection that failed before the request was sent (DNS,
 *   connect), HTTP 429 and the gateway's throttling code `APIG.0308`, HTTP 500,
 *   502, 503 and 504;
 * - never retried: 401 and 403 (the gateway locks an AK for minutes after a
 *   few failed signatures in a row, so a retry loop would lock the user out),
 *   other 4xx responses, and invalid input;
 * - inference calls (chat, NLP, CV) are idempotent and may be retried after a
 *   timeout or a connection lost mid-response; calls with side effects are
 *   retried only when the request cannot have reached the server;
 * - a stream is retried only before its first piece reached the caller;
 * - each attempt is signed anew;
 * - the delay before retry n (n = 1, 2, ...) is a random value in
 *   [0, min(max_delay_ms, base_delay_ms * 2^(n-1))] ("full jitter"), unless
 *   the response carried `Retry-After` (seconds or an HTTP date), which is used
 *   instead, capped at max_delay_ms;
 * - the call's deadline covers every attempt and every delay: when the next
 *   delay would pass it, the last error is returned at once.
 * The error after the last attempt carries the attempt count
 * (hwai_error_attempts()) and the last HTTP status and service code.
 */
#ifndef HWAI_RETRY_H
#define HWAI_RETRY_H

#include "hwai/common.h"
#include "hwai/error.h"

HWAI_BEGIN_DECL

#define HWAI_RETRY_POLICY_VERSION 1

/** Default number of attempts, the first one included. */
#define HWAI_DEFAULT_MAX_ATTEMPTS 3u
/** Default base delay of the exponential backoff: 200 ms. */
#define HWAI_DEFAULT_RETRY_BASE_DELAY_MS 200u
/** Default cap on one delay, `Retry-After` included: 20 seconds. */
#define HWAI_DEFAULT_RETRY_MAX_DELAY_MS 20000u

/**
 * Retry policy of a client. Initialise with ::HWAI_RETRY_POLICY_INIT or
 * hwai_retry_policy_init(); zero fields take the defaults above.
 */
typedef struct hwai_retry_policy {
    /** Must be ::HWAI_RETRY_POLICY_VERSION. */
    unsigned int version;
    /** Attempts in all, the first one included; 1 turns retries off. At most 10. */
    uint32_t max_attempts;
    /** Base delay of the exponential backoff, in milliseconds. */
    uint32_t base_delay_ms;
    /** Cap on one delay, in milliseconds; also caps `Retry-After`. */
    uint32_t max_delay_ms;
} hwai_retry_policy;

#define HWAI_RETRY_POLICY_INIT             \
    {                                      \
        HWAI_RETRY_POLICY_VERSION, 0, 0, 0 \
    }

/**
 * @brief Initialises @p policy to the defaults for the given struct version.
 *
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p policy is NULL or @p version is unknown
 */
HWAI_API HWAI_NODISCARD hwai_status
hwai_retry_policy_init(hwai_retry_policy *policy, unsigned int version);

/**
 * @brief Tells whether a failed call with this status may succeed if tried
 * again later (timeouts, connection failures, throttling and server errors).
 *
 * ::HWAI_E_SERVICE counts as retryable only with the HTTP status: use
 * hwai_error_is_retryable() for a full response.
 *
 * @return 1 when retryable, 0 otherwise
 */
HWAI_API int hwai_status_is_retryable(hwai_status status);

/**
 * @brief Tells whether the failure described by @p err may succeed if tried
 * again later, by the rules at the top of this header. 0 for NULL.
 */
HWAI_API int hwai_error_is_retryable(const hwai_error *err);

/**
 * A cancellation token: trigger it from any thread to end the calls and
 * streams it was given to, with ::HWAI_E_CANCELLED. Backoff delays are cut
 * short at once; a transfer in progress stops within about 100 ms.
 */
typedef struct hwai_cancel_token hwai_cancel_token;

/**
 * @brief Makes a cancellation token.
 *
 * @param[out] out receives the token; free with hwai_cancel_token_free()
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p out is NULL
 * @retval HWAI_E_NOMEM        out of memory
 */
HWAI_API HWAI_NODISCARD hwai_status hwai_cancel_token_new(hwai_cancel_token **out);

/**
 * @brief Cancels every call using the token, now and later. Thread-safe, and
 * safe to call more than once. Accepts NULL.
 *
 * It takes a lock, so it is not async-signal-safe: from a signal handler, wake
 * a thread (for example through a pipe) that calls it.
 */
HWAI_API void hwai_cancel_token_cancel(hwai_cancel_token *token);

/**
 * @brief Returns 1 once hwai_cancel_token_cancel() was called, else 0.
 */
HWAI_API int hwai_cancel_token_is_cancelled(const hwai_cancel_token *token);

/**
 * @brief Frees a token. No call may still be using it. Accepts NULL.
 */
HWAI_API void hwai_cancel_token_free(hwai_cancel_token *token);

HWAI_END_DECL

#endif /* HWAI_RETRY_H */
