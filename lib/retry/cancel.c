#include "retry/cancel.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct cancel_watch {
    int id;
    hwai__cancel_wake_cb wake;
    void *user_data;
} cancel_watch;

/* The flag is written once, under the lock, and read without it. The lock also
 * guards the watch list and orders cancellation against sleepers. Nothing here
 * is async-signal-safe, so a signal handler must hand cancellation to a thread. */
struct hwai_cancel_token {
    atomic_bool cancelled;
    pthread_mutex_t lock;
    pthread_cond_t wakeup; /* on CLOCK_MONOTONIC, broadcast on cancellation */
    cancel_watch *watches; /* in registration order */
    size_t watch_count;
    size_t watch_capacity;
    int next_watch_id;
};

/* Sleeps longer than this many seconds (about 31.7 years) are shortened to it,
 * which keeps the deadline inside a 32-bit time_t. */
#define MAX_SLEEP_SECONDS 1000000000u

static int init_monotonic_cond(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0) {
        return rc;
    }
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0) {
        rc = pthread_cond_init(cond, &attr);
    }
    pthread_condattr_destroy(&attr);
    return rc;
}

hwai_status hwai_cancel_token_new(hwai_cancel_token **out)
{
    if (!out) {
        return HWAI_E_INVALID_ARG;
    }
    *out = NULL;
    hwai_cancel_token *token = calloc(1, sizeof(*token));
    if (!token) {
        return HWAI_E_NOMEM;
    }
    atomic_init(&token->cancelled, false);
    token->next_watch_id = 1;
    /* Both initialisations fail only for lack of memory or other resources. */
    if (pthread_mutex_init(&token->lock, NULL) != 0) {
        free(token);
        return HWAI_E_NOMEM;
    }
    if (init_monotonic_cond(&token->wakeup) != 0) {
        pthread_mutex_destroy(&token->lock);
        free(token);
        return HWAI_E_NOMEM;
    }
    *out = token;
    return HWAI_OK;
}

/* Sets the flag, wakes sleepers and calls every registered wake function, all
 * under the lock, so hwai__cancel_unwatch() can wait for a running call. */
void hwai_cancel_token_cancel(hwai_cancel_token *token)
{
    if (!token) {
        return;
    }
    pthread_mutex_lock(&token->lock);
    if (!atomic_load(&token->cancelled)) {
        atomic_store(&token->cancelled, true);
        pthread_cond_broadcast(&token->wakeup);
        for (size_t i = 0; i < token->watch_count; i++) {
            token->watches[i].wake(token->watches[i].user_data);
        }
    }
    pthread_mutex_unlock(&token->lock);
}

bool hwai__cancel_is_set(const hwai_cancel_token *token)
{
    return token && atomic_load(&token->cancelled);
}

int hwai_cancel_token_is_cancelled(const hwai_cancel_token *token)
{
    return hwai__cancel_is_set(token) ? 1 : 0;
}

void hwai_cancel_token_free(hwai_cancel_token *token)
{
    if (!token) {
        return;
    }
    pthread_cond_destroy(&token->wakeup);
    pthread_mutex_destroy(&token->lock);
    free(token->watches);
    free(token);
}

/* ---- sleeping ---- */

static struct timespec monotonic_deadline(uint64_t ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    uint64_t seconds = ms / 1000;
    if (seconds > MAX_SLEEP_SECONDS) {
        seconds = MAX_SLEEP_SECONDS;
    }
    deadline.tv_sec += (time_t)seconds;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    return deadline;
}

static void sleep_until(const struct timespec *deadline)
{
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL) == EINTR) {
    }
}

bool hwai__cancel_sleep_ms(hwai_cancel_token *token, uint64_t ms)
{
    if (hwai__cancel_is_set(token)) {
        return false;
    }
    if (ms == 0) {
        return true;
    }
    struct timespec deadline = monotonic_deadline(ms);
    if (!token) {
        sleep_until(&deadline);
        return true;
    }
    pthread_mutex_lock(&token->lock);
    while (!atomic_load(&token->cancelled)) {
        /* Returns 0 on a wakeup (real or spurious), ETIMEDOUT at the deadline. */
        if (pthread_cond_timedwait(&token->wakeup, &token->lock, &deadline) != 0) {
            break;
        }
    }
    bool slept_whole_time = !atomic_load(&token->cancelled);
    pthread_mutex_unlock(&token->lock);
    return slept_whole_time;
}

/* ---- wake-up callbacks ---- */

/* Makes room for one more watch, or returns false when memory ran out. The
 * caller holds the lock. */
static bool reserve_watch_slot(hwai_cancel_token *token)
{
    if (token->watch_count < token->watch_capacity) {
        return true;
    }
    size_t capacity = token->watch_capacity ? token->watch_capacity * 2 : 4;
    cancel_watch *grown = realloc(token->watches, capacity * sizeof(*grown));
    if (!grown) {
        return false;
    }
    token->watches = grown;
    token->watch_capacity = capacity;
    return true;
}

static bool watch_id_in_use(const hwai_cancel_token *token, int id)
{
    for (size_t i = 0; i < token->watch_count; i++) {
        if (token->watches[i].id == id) {
            return true;
        }
    }
    return false;
}

/* Returns the next id not registered now. Ids restart at 1 after INT_MAX. */
static int take_watch_id(hwai_cancel_token *token)
{
    int id;
    do {
        id = token->next_watch_id;
        token->next_watch_id = id == INT_MAX ? 1 : id + 1;
    } while (watch_id_in_use(token, id));
    return id;
}

int hwai__cancel_watch(hwai_cancel_token *token, hwai__cancel_wake_cb wake, void *user_data)
{
    if (!wake) {
        return -1;
    }
    if (!token) {
        return 0;
    }
    pthread_mutex_lock(&token->lock);
    if (atomic_load(&token->cancelled)) {
        pthread_mutex_unlock(&token->lock);
        wake(user_data);
        return 0;
    }
    int id = -1;
    if (reserve_watch_slot(token)) {
        id = take_watch_id(token);
        token->watches[token->watch_count] = (cancel_watch){ id, wake, user_data };
        token->watch_count++;
    }
    pthread_mutex_unlock(&token->lock);
    return id;
}

void hwai__cancel_unwatch(hwai_cancel_token *token, int id)
{
    if (!token || id <= 0) {
        return;
    }
    pthread_mutex_lock(&token->lock);
    for (size_t i = 0; i < token->watch_count; i++) {
        if (token->watches[i].id == id) {
            size_t after = token->watch_count - i - 1;
            memmove(&token->watches[i], &token->watches[i + 1], after * sizeof(cancel_watch));
            token->watch_count--;
            break;
        }
    }
    pthread_mutex_unlock(&token->lock);
}
