/* Cancellation tokens: interruptible sleeps and wake-up callbacks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "retry/cancel.h"

/* How long a sleep may run on after the token was cancelled. */
#define CANCEL_LATENCY_LIMIT_MS 50.0

static double monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec duration = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&duration, &duration) != 0) {
    }
}

static hwai_cancel_token *new_token(void)
{
    hwai_cancel_token *token = NULL;
    assert_int_equal(hwai_cancel_token_new(&token), HWAI_OK);
    assert_non_null(token);
    return token;
}

/* ---- sleeping ---- */

typedef struct sleeper {
    hwai_cancel_token *token;
    uint64_t ms;
    bool completed;
    double returned_at_ms;
} sleeper;

static void *run_sleeper(void *arg)
{
    sleeper *s = arg;
    s->completed = hwai__cancel_sleep_ms(s->token, s->ms);
    s->returned_at_ms = monotonic_ms();
    return NULL;
}

static void test_cancel_sleep_ends_on_cancel(void **state)
{
    (void)state;
    hwai_cancel_token *token = new_token();
    sleeper s = { token, 5000, true, 0 };
    double started_ms = monotonic_ms();
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, run_sleeper, &s), 0);

    sleep_ms(20);
    double cancelled_at_ms = monotonic_ms();
    hwai_cancel_token_cancel(token);
    assert_int_equal(pthread_join(thread, NULL), 0);

    assert_false(s.completed);
    double latency_ms = s.returned_at_ms - cancelled_at_ms;
    if (latency_ms >= CANCEL_LATENCY_LIMIT_MS) {
        fail_msg("sleep returned %.1f ms after the cancel", latency_ms);
    }
    assert_true(s.returned_at_ms - started_ms >= 15.0);
    hwai_cancel_token_free(token);
}

static void test_cancel_sleep_wakes_every_sleeper(void **state)
{
    (void)state;
    enum { SLEEPERS = 4 };
    hwai_cancel_token *token = new_token();
    sleeper sleepers[SLEEPERS];
    pthread_t threads[SLEEPERS];
    for (int i = 0; i < SLEEPERS; i++) {
        sleepers[i] = (sleeper){ token, 5000, true, 0 };
        assert_int_equal(pthread_create(&threads[i], NULL, run_sleeper, &sleepers[i]), 0);
    }
    sleep_ms(20);
    double cancelled_at_ms = monotonic_ms();
    hwai_cancel_token_cancel(token);
    for (int i = 0; i < SLEEPERS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_false(sleepers[i].completed);
        double latency_ms = sleepers[i].returned_at_ms - cancelled_at_ms;
        if (latency_ms >= CANCEL_LATENCY_LIMIT_MS) {
            fail_msg("sleeper %d returned %.1f ms after the cancel", i, latency_ms);
        }
    }
    hwai_cancel_token_free(token);
}

static void test_cancel_sleep_without_token_lasts(void **state)
{
    (void)state;
    double started_ms = monotonic_ms();
    assert_true(hwai__cancel_sleep_ms(NULL, 30));
    double elapsed_ms = monotonic_ms() - started_ms;
    assert_true(elapsed_ms >= 30.0);
    assert_true(elapsed_ms < 1000.0);
}

static void test_cancel_sleep_live_token_lasts(void **state)
{
    (void)state;
    hwai_cancel_token *token = new_token();
    double started_ms = monotonic_ms();
    assert_true(hwai__cancel_sleep_ms(token, 30));
    double elapsed_ms = monotonic_ms() - started_ms;
    assert_true(elapsed_ms >= 30.0);
    assert_true(elapsed_ms < 1000.0);
    assert_true(hwai__cancel_sleep_ms(token, 0));
    hwai_cancel_token_free(token);
}

static void test_cancel_sleep_when_already_cancelled(void **state)
{
    (void)state;
    hwai_cancel_token *token = new_token();
    hwai_cancel_token_cancel(token);
    double started_ms = monotonic_ms();
    assert_false(hwai__cancel_sleep_ms(token, 5000));
    assert_false(hwai__cancel_sleep_ms(token, UINT64_MAX));
    assert_false(hwai__cancel_sleep_ms(token, 0));
    assert_true(monotonic_ms() - started_ms < CANCEL_LATENCY_LIMIT_MS);
    assert_true(hwai__cancel_sleep_ms(NULL, 0));
    hwai_cancel_token_free(token);
}

/* ---- flag and NULL handling ---- */

static void test_cancel_token_flag(void **state)
{
    (void)state;
    hwai_cancel_token *token = new_token();
    assert_int_equal(hwai_cancel_token_is_cancelled(token), 0);
    assert_false(hwai__cancel_is_set(token));
    hwai_cancel_token_cancel(token);
    assert_int_equal(hwai_cancel_token_is_cancelled(token), 1);
    assert_true(hwai__cancel_is_set(token));
    hwai_cancel_token_cancel(token);
    assert_int_equal(hwai_cancel_token_is_cancelled(token), 1);
    hwai_cancel_token_free(token);
}

static void count_call(void *user_data)
{
    atomic_int *calls = user_data;
    atomic_fetch_add(calls, 1);
}

static void test_cancel_null_arguments(void **state)
{
    (void)state;
    assert_int_equal(hwai_cancel_token_new(NULL), HWAI_E_INVALID_ARG);
    hwai_cancel_token_cancel(NULL);
    assert_int_equal(hwai_cancel_token_is_cancelled(NULL), 0);
    assert_false(hwai__cancel_is_set(NULL));
    hwai_cancel_token_free(NULL);

    atomic_int calls = 0;
    assert_int_equal(hwai__cancel_watch(NULL, count_call, &calls), 0);
    assert_int_equal(atomic_load(&calls), 0);
    hwai__cancel_unwatch(NULL, 1);

    hwai_cancel_token *token = new_token();
    assert_int_equal(hwai__cancel_watch(token, NULL, &calls), -1);
    hwai__cancel_unwatch(token, 0);
    hwai__cancel_unwatch(token, -1);
    hwai__cancel_unwatch(token, 12345);
    hwai_cancel_token_free(token);
}

/* ---- wake-up callbacks ---- */

static void test_cancel_watch_called_once(void **state)
{
    (void)state;
    hwai_cancel_token *token = new_token();
    atomic_int calls[3] = { 0, 0, 0 };
    int ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = hwai__cancel_watch(token, count_call, &calls[i]);
        assert_true(ids[i] > 0);
    }
    assert_true(ids[0] != ids[1]);
    assert_true(ids[1] != ids[2]);
    assert_true(ids[0] != ids[2]);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(atomic_load(&calls[i]), 0);
    }

    hwai_cancel_token_cancel(token);
    hwai_cancel_token_cancel(token);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(atomic_load(&calls[i]), 1);
    }
    for (int i = 0; i < 3; i++) {
        hwai__cancel_unwatch(token, ids[i]);
    }
    hwai_cancel_token_free(token);
}

static void test_cancel_late_watch_runs_at_once(void **state)
{
    (void)state;
    hwai_cancel_token *token = new_token();
    hwai_cancel_token_cancel(token);
    atomic_int calls = 0;
    assert_int_equal(hwai__cancel_watch(token, count_call, &calls), 0);
    assert_int_equal(atomic_load(&calls), 1);
    hwai_cancel_token_cancel(token);
    assert_int_equal(atomic_load(&calls), 1);
    hwai_cancel_token_free(token);
}

static void test_cancel_unwatch_skips_callback(void **state)
{
    (void)state;
    hwai_cancel_token *token = new_token();
    atomic_int removed = 0;
    atomic_int remaining = 0;
    int removed_id = hwai__cancel_watch(token, count_call, &removed);
    int remaining_id = hwai__cancel_watch(token, count_call, &remaining);
    assert_true(removed_id > 0);
    assert_true(remaining_id > 0);

    hwai__cancel_unwatch(token, removed_id);
    hwai__cancel_unwatch(token, removed_id);
    hwai_cancel_token_cancel(token);
    assert_int_equal(atomic_load(&removed), 0);
    assert_int_equal(atomic_load(&remaining), 1);

    hwai__cancel_unwatch(token, remaining_id);
    hwai_cancel_token_free(token);
}

/* Grows the watch list past its first allocation and removes from the middle.
 * The remaining callbacks run once each, in registration order. */
#define MANY_WATCHES 100

typedef struct ordered_call {
    int index;
    int *order;
    int *order_count;
} ordered_call;

static void record_order(void *user_data)
{
    ordered_call *call = user_data;
    call->order[(*call->order_count)++] = call->index;
}

static void test_cancel_many_watches(void **state)
{
    (void)state;
    hwai_cancel_token *token = new_token();
    int order[MANY_WATCHES];
    int order_count = 0;
    ordered_call calls[MANY_WATCHES];
    int ids[MANY_WATCHES];
    for (int i = 0; i < MANY_WATCHES; i++) {
        calls[i] = (ordered_call){ i, order, &order_count };
        ids[i] = hwai__cancel_watch(token, record_order, &calls[i]);
        assert_true(ids[i] > 0);
    }
    for (int i = 0; i < MANY_WATCHES; i += 2) {
        hwai__cancel_unwatch(token, ids[i]);
    }
    hwai_cancel_token_cancel(token);
    assert_int_equal(order_count, MANY_WATCHES / 2);
    for (int i = 0; i < order_count; i++) {
        assert_int_equal(order[i], 2 * i + 1);
    }
    hwai_cancel_token_free(token);
}

/* Once unwatch returns, a wake function that was running has finished. */
typedef struct slow_wake {
    atomic_int started;
    atomic_int finished;
} slow_wake;

static void run_slow_wake(void *user_data)
{
    slow_wake *wake = user_data;
    atomic_store(&wake->started, 1);
    sleep_ms(30);
    atomic_store(&wake->finished, 1);
}

static void *cancel_in_thread(void *arg)
{
    hwai_cancel_token_cancel(arg);
    return NULL;
}

static void test_cancel_unwatch_waits_for_running_wake(void **state)
{
    (void)state;
    hwai_cancel_token *token = new_token();
    slow_wake wake = { 0, 0 };
    int id = hwai__cancel_watch(token, run_slow_wake, &wake);
    assert_true(id > 0);

    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, cancel_in_thread, token), 0);
    double give_up_ms = monotonic_ms() + 5000.0;
    while (!atomic_load(&wake.started) && monotonic_ms() < give_up_ms) {
        sleep_ms(1);
    }
    assert_int_equal(atomic_load(&wake.started), 1);
    hwai__cancel_unwatch(token, id);
    assert_int_equal(atomic_load(&wake.finished), 1);

    assert_int_equal(pthread_join(thread, NULL), 0);
    hwai_cancel_token_free(token);
}

/* Several threads cancelling at once still call each wake function once. */
static void test_cancel_concurrent_cancels(void **state)
{
    (void)state;
    enum { CANCELLERS = 8 };
    hwai_cancel_token *token = new_token();
    atomic_int calls = 0;
    int id = hwai__cancel_watch(token, count_call, &calls);
    assert_true(id > 0);
    pthread_t threads[CANCELLERS];
    for (int i = 0; i < CANCELLERS; i++) {
        assert_int_equal(pthread_create(&threads[i], NULL, cancel_in_thread, token), 0);
    }
    for (int i = 0; i < CANCELLERS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    assert_int_equal(atomic_load(&calls), 1);
    assert_int_equal(hwai_cancel_token_is_cancelled(token), 1);
    hwai_cancel_token_free(token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_sleep_ends_on_cancel),
        cmocka_unit_test(test_cancel_sleep_wakes_every_sleeper),
        cmocka_unit_test(test_cancel_sleep_without_token_lasts),
        cmocka_unit_test(test_cancel_sleep_live_token_lasts),
        cmocka_unit_test(test_cancel_sleep_when_already_cancelled),
        cmocka_unit_test(test_cancel_token_flag),
        cmocka_unit_test(test_cancel_null_arguments),
        cmocka_unit_test(test_cancel_watch_called_once),
        cmocka_unit_test(test_cancel_late_watch_runs_at_once),
        cmocka_unit_test(test_cancel_unwatch_skips_callback),
        cmocka_unit_test(test_cancel_many_watches),
        cmocka_unit_test(test_cancel_unwatch_waits_for_running_wake),
        cmocka_unit_test(test_cancel_concurrent_cancels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
