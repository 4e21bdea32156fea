/* Waiting on a cancellation token inside the library: interruptible sleeps for
 * backoff delays, and wake-up callbacks for transfers in progress. */
#ifndef HWAI_RETRY_CANCEL_H
#define HWAI_RETRY_CANCEL_H

#include <stdbool.h>
#include <stdint.h>

#include "hwai/retry.h"

/* Returns whether the token was cancelled, and false for NULL. */
bool hwai__cancel_is_set(const hwai_cancel_token *token);

/* Sleeps for ms milliseconds on the monotonic clock, or until the token is
 * cancelled. Returns true when the whole time passed, false as soon as the
 * token is (or already was) cancelled. A NULL token sleeps the whole time. */
bool hwai__cancel_sleep_ms(hwai_cancel_token *token, uint64_t ms);

/* Wake-up function of a transfer. It runs with the token's lock held, so it
 * must return quickly. */
typedef void (*hwai__cancel_wake_cb)(void *user_data);

/* Registers wake to be called once, with user_data, when the token is
 * cancelled. Returns a registration id above 0 for hwai__cancel_unwatch().
 * Returns 0 when nothing was registered, because the token is NULL or because
 * it was already cancelled and wake was called at once in this thread. Returns
 * -1 when wake is NULL or memory ran out.
 *
 * hwai_cancel_token_cancel() calls wake with the token's lock held, so wake
 * must not call back into the token (watch, unwatch or sleep on it). */
int hwai__cancel_watch(hwai_cancel_token *token, hwai__cancel_wake_cb wake, void *user_data);

/* Removes a registration. Once this returns, its wake function is neither
 * running nor going to run, so user_data may be freed. Ids of 0 or below and a
 * NULL token are ignored. */
void hwai__cancel_unwatch(hwai_cancel_token *token, int id);

#endif
