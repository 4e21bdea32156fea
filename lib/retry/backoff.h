/* Retry decisions and backoff delays. Pure functions of their inputs: the
 * clock and the random source are passed in, so tests need no real sleeps. */
#ifndef HWAI_RETRY_BACKOFF_H
#define HWAI_RETRY_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "hwai/retry.h"

/* The policy with zero fields replaced by the defaults; HWAI_E_INVALID_ARG for
 * an unknown version, max_attempts over 10, or base over max. */
hwai_status
hwai__retry_policy_resolve(const hwai_retry_policy *in, hwai_retry_policy *out, hwai_error **err);

/* How a call may be repeated. */
typedef enum hwai__idempotency {
    /* No side effects (inference): any retryable failure may be retried. */
    HWAI__IDEMPOTENT = 1,
    /* Side effects: retried only when the request cannot have reached the
     * server (name resolution or connect failed). */
    HWAI__NOT_IDEMPOTENT = 2
} hwai__idempotency;

/* What one attempt ended with. */
typedef struct hwai__attempt_outcome {
    hwai_status status;     /* HWAI_OK, a transport status, or HWAI_E_SERVICE */
    int http_status;        /* 0 when no response arrived */
    const char *error_code; /* service code such as "APIG.0308", or NULL */
} hwai__attempt_outcome;

/* Whether the outcome may be retried under the idempotency class. */
bool hwai__retry_allowed(const hwai__attempt_outcome *outcome, hwai__idempotency idempotency);

/* Parses a Retry-After value: delay-seconds (digits only, surrounding spaces
 * allowed) or an HTTP date in any of the three formats of RFC 9110 (IMF-fixdate,
 * obsolete RFC 850, asctime), measured from now (seconds since the epoch, UTC).
 * A date in the past gives 0. Returns false for anything else (negative,
 * fractional, signed, empty, garbage); a huge value saturates at UINT64_MAX
 * milliseconds instead of overflowing. */
bool hwai__parse_retry_after(const char *value, time_t now, uint64_t *delay_ms_out);

/* A random source: returns 64 random bits. Thread-safe. */
typedef uint64_t (*hwai__random_fn)(void *state);

/* Random source for production: a per-thread xoshiro-style generator seeded
 * from getrandom(), so instances created in the same second (or in many
 * threads) differ. */
uint64_t hwai__random_u64(void *unused);

/* The delay before retry number `retry` (1 for the first retry): Retry-After
 * when given (retry_after_ms non-NULL), capped at max_delay_ms; otherwise full
 * jitter, uniform in [0, min(max_delay_ms, base_delay_ms * 2^(retry - 1))]. */
uint64_t hwai__backoff_delay_ms(
    const hwai_retry_policy *policy,
    unsigned int retry,
    const uint64_t *retry_after_ms,
    hwai__random_fn random,
    void *random_state);

#endif
