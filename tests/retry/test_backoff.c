/* Retry policy, retry decisions, Retry-After parsing and backoff delays. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error_internal.h"
#include "retry/backoff.h"

/* Wed, 21 Oct 2015 07:27:00 GMT. */
#define NOW ((time_t)1445412420)
/* max_delay_ms in the Retry-After table: at most 300 s is honoured. */
#define MAX_HONOURED_MS 300000u
/* The caller's overall deadline in the Retry-After table: 600 s. */
#define CALL_DEADLINE_MS 600000u

/* A random source that returns a fixed list of values, then 0s. */
typedef struct scripted_random {
    const uint64_t *values;
    size_t count;
    size_t calls;
} scripted_random;

static uint64_t scripted_next(void *state)
{
    scripted_random *script = state;
    uint64_t value = script->calls < script->count ? script->values[script->calls] : 0;
    script->calls++;
    return value;
}

static hwai_retry_policy make_policy(uint32_t base_ms, uint32_t max_ms, uint32_t attempts)
{
    hwai_retry_policy policy = HWAI_RETRY_POLICY_INIT;
    policy.base_delay_ms = base_ms;
    policy.max_delay_ms = max_ms;
    policy.max_attempts = attempts;
    return policy;
}

static void assert_retry_after(const char *value, time_t now, uint64_t expected_ms)
{
    uint64_t delay_ms = 12345;
    if (!hwai__parse_retry_after(value, now, &delay_ms)) {
        fail_msg("Retry-After \"%s\" was rejected, expected %" PRIu64 " ms", value, expected_ms);
    }
    if (delay_ms != expected_ms) {
        fail_msg(
            "Retry-After \"%s\" gave %" PRIu64 " ms, expected %" PRIu64 " ms", value, delay_ms,
            expected_ms);
    }
}

static void assert_retry_after_invalid(const char *value, time_t now)
{
    uint64_t delay_ms = 12345;
    if (hwai__parse_retry_after(value, now, &delay_ms)) {
        fail_msg(
            "Retry-After \"%s\" was accepted as %" PRIu64 " ms, expected rejection",
            value ? value : "(NULL)", delay_ms);
    }
    assert_int_equal(delay_ms, 12345);
}

/* ---- Retry-After ---- */

/* Field case: Retry-After in seconds and in all three HTTP date forms, at a
 * fixed clock, with at most 300 s honoured. Variants: "120", "30", " 30 ",
 * "0", IMF-fixdate, RFC 850 and asctime one minute ahead, an IMF-fixdate in the
 * past. Each value is also passed through hwai__backoff_delay_ms, which must
 * return it unchanged because it is under the cap and must not draw a random
 * number. */
static void test_retry_after_table(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        uint64_t expected_ms;
    } cases[] = {
        { "120", 120000 },
        { "30", 30000 },
        { " 30 ", 30000 },
        { "0", 0 },
        { "Wed, 21 Oct 2015 07:28:00 GMT", 60000 },
        { "Wednesday, 21-Oct-15 07:28:00 GMT", 60000 },
        { "Wed Oct 21 07:28:00 2015", 60000 },
        { "Wed, 21 Oct 2015 07:00:00 GMT", 0 },
    };
    hwai_retry_policy policy = make_policy(500, MAX_HONOURED_MS, 3);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_retry_after(cases[i].value, NOW, cases[i].expected_ms);

        uint64_t parsed = 0;
        assert_true(hwai__parse_retry_after(cases[i].value, NOW, &parsed));
        scripted_random script = { NULL, 0, 0 };
        uint64_t delay = hwai__backoff_delay_ms(&policy, 1, &parsed, scripted_next, &script);
        assert_int_equal(delay, cases[i].expected_ms);
        assert_int_equal(script.calls, 0);
    }
}

/* Field case: values that are neither delay-seconds nor an HTTP date, which
 * leave the caller with the computed backoff. Variants: "-3", "+3", "1.5",
 * "abc", empty, NULL, blanks only, digits followed by text, a unit suffix, a
 * hexadecimal number, an inner space. */
static void test_retry_after_invalid_values(void **state)
{
    (void)state;
    static const char *const values[] = {
        "-3", "+3", "1.5", "abc", "", "   ", "\t", "120abc", "30 s", "0x10", "1 2", "3e2",
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        assert_retry_after_invalid(values[i], NOW);
    }
    assert_retry_after_invalid(NULL, NOW);
    assert_false(hwai__parse_retry_after("30", NOW, NULL));
}

/* Field case: with an invalid or absent Retry-After, the delay is the computed
 * full-jitter backoff. Variants: absent (NULL), and "1.5" rejected first. */
static void test_retry_after_absent_uses_backoff(void **state)
{
    (void)state;
    hwai_retry_policy policy = make_policy(500, MAX_HONOURED_MS, 3);
    const uint64_t values[] = { 1234567 };

    scripted_random script = { values, 1, 0 };
    assert_int_equal(hwai__backoff_delay_ms(&policy, 1, NULL, scripted_next, &script), 103);
    assert_int_equal(script.calls, 1);

    uint64_t parsed = 0;
    assert_false(hwai__parse_retry_after("1.5", NOW, &parsed));
    script.calls = 0;
    assert_int_equal(
        hwai__backoff_delay_ms(&policy, 2, NULL, scripted_next, &script), 1234567 % 1001);
}

/* Field case: a delay-seconds value far beyond 64 bits of milliseconds.
 * Variants: "99999999999999999999" saturates at UINT64_MAX without overflow,
 * which is over the 600 s call deadline, and hwai__backoff_delay_ms caps it at
 * max_delay_ms. Boundaries: the largest exact value, the first saturated one,
 * and 100 digits. */
static void test_retry_after_huge_saturates(void **state)
{
    (void)state;
    uint64_t parsed = 0;
    assert_true(hwai__parse_retry_after("99999999999999999999", NOW, &parsed));
    assert_true(parsed == UINT64_MAX);
    assert_true(parsed > CALL_DEADLINE_MS);

    hwai_retry_policy policy = make_policy(500, MAX_HONOURED_MS, 3);
    assert_int_equal(hwai__backoff_delay_ms(&policy, 1, &parsed, NULL, NULL), MAX_HONOURED_MS);

    /* UINT64_MAX / 1000 seconds still fits in milliseconds, but one more does not. */
    assert_retry_after("18446744073709551", NOW, UINT64_C(18446744073709551000));
    assert_retry_after("18446744073709552", NOW, UINT64_MAX);
    assert_retry_after("18446744073709551615", NOW, UINT64_MAX);
    assert_retry_after("18446744073709551616", NOW, UINT64_MAX);

    char digits[101];
    memset(digits, '9', 100);
    digits[100] = '\0';
    assert_retry_after(digits, NOW, UINT64_MAX);
    assert_retry_after("000000000000000000000000000000042", NOW, 42000);
}

static void test_retry_after_whitespace(void **state)
{
    (void)state;
    assert_retry_after("\t30\t", NOW, 30000);
    assert_retry_after("  Wed, 21 Oct 2015 07:28:00 GMT \t", NOW, 60000);
    assert_retry_after_invalid("\n30", NOW);
    assert_retry_after_invalid("30\r\n", NOW);
}

static void test_retry_after_date_details(void **state)
{
    (void)state;
    /* asctime pads a one-digit day with a space. */
    assert_retry_after("Sun Nov  1 07:27:00 2015", NOW, UINT64_C(11) * 86400 * 1000);
    assert_retry_after("Sun Nov 01 07:27:00 2015", NOW, UINT64_C(11) * 86400 * 1000);
    /* Names are matched without regard to case. */
    assert_retry_after("wed, 21 OCT 2015 07:28:00 gmt", NOW, 60000);
    assert_retry_after("WEDNESDAY, 21-oct-15 07:28:00 GMT", NOW, 60000);
    /* A leap second is one second past 07:28:59. */
    assert_retry_after("Wed, 21 Oct 2015 07:28:60 GMT", NOW, 120000);
    /* Leap days of 2016 and 2000 exist. */
    assert_retry_after("Mon, 29 Feb 2016 00:00:00 GMT", NOW, (UINT64_C(1456704000) - NOW) * 1000);
    assert_retry_after("Tue, 29 Feb 2000 00:00:00 GMT", NOW, 0);
    /* The largest date an IMF-fixdate can spell. */
    assert_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", NOW, (UINT64_C(253402300799) - NOW) * 1000);
    /* The weekday is not compared with the date. */
    assert_retry_after("Mon, 21 Oct 2015 07:28:00 GMT", NOW, 60000);
}

static void test_retry_after_date_rejects_ranges(void **state)
{
    (void)state;
    static const char *const values[] = {
        "Wed, 32 Oct 2015 07:28:00 GMT",     "Wed, 00 Oct 2015 07:28:00 GMT",
        "Sat, 31 Apr 2015 07:28:00 GMT",     "Sun, 29 Feb 2015 07:28:00 GMT",
        "Mon, 29 Feb 2100 07:28:00 GMT",     "Wed, 21 Oct 2015 24:00:00 GMT",
        "Wed, 21 Oct 2015 07:60:00 GMT",     "Wed, 21 Oct 2015 07:28:61 GMT",
        "Wed, 21 Foo 2015 07:28:00 GMT",     "Xyz, 21 Oct 2015 07:28:00 GMT",
        "Wednesday, 32-Oct-15 07:28:00 GMT", "Wed Oct 32 07:28:00 2015",
        "Wed Oct 21 25:28:00 2015",
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        assert_retry_after_invalid(values[i], NOW);
    }
}

static void test_retry_after_date_rejects_syntax(void **state)
{
    (void)state;
    static const char *const values[] = {
        "Wed, 21 Oct 2015 07:28:00",           /* no GMT */
        "Wed, 21 Oct 2015 07:28:00 UTC",       /* another zone */
        "Wed, 21 Oct 2015 07:28:00 GMT x",     /* trailing text */
        "Wed, 1 Oct 2015 07:28:00 GMT",        /* one-digit day */
        "Wed, 21 Oct 15 07:28:00 GMT",         /* two-digit year in IMF-fixdate */
        "Wed, 21 Oct 2015 7:28:00 GMT",        /* one-digit hour */
        "Wed,21 Oct 2015 07:28:00 GMT",        /* no space after the comma */
        "Wed, 21-Oct-15 07:28:00 GMT",         /* RFC 850 with a short day name */
        "Wednesday, 21 Oct 2015 07:28:00 GMT", /* IMF-fixdate with a long name */
        "Wednesday, 21-Oct-2015 07:28:00 GMT", /* four-digit year in RFC 850 */
        "Wed Oct 21 07:28:00 15",              /* two-digit year in asctime */
        "Wed Oct 21 07:28:00 2015 GMT",        /* zone in asctime */
        "Wed Oct  21 07:28:00 2015",           /* padded two-digit day */
        "2015-10-21T07:28:00Z",                /* ISO 8601 */
        "Wed",
        "Wed, ",
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        assert_retry_after_invalid(values[i], NOW);
    }
}

/* RFC 9110 reads a two-digit year as the latest year with those digits that is
 * at most 50 years after the current one. */
static void test_retry_after_two_digit_year(void **state)
{
    (void)state;
    /* In 2015: 65 is 2065 (exactly 50 years on), 66 is 1966. */
    assert_retry_after(
        "Thursday, 01-Jan-65 00:00:00 GMT", NOW, (UINT64_C(2997993600) - NOW) * 1000);
    assert_retry_after("Saturday, 01-Jan-66 00:00:00 GMT", NOW, 0);

    /* In 2090: 40 is 2140, 41 is 2041, and 89 is 2089. */
    const time_t in_2090 = (time_t)3786912000;
    assert_retry_after(
        "Friday, 01-Jan-40 00:00:00 GMT", in_2090,
        (UINT64_C(5364662400) - (uint64_t)in_2090) * 1000);
    assert_retry_after("Tuesday, 01-Jan-41 00:00:00 GMT", in_2090, 0);
    assert_retry_after("Saturday, 01-Jan-89 00:00:00 GMT", in_2090, 0);
}

/* Clocks far from the present must not overflow (checked by UBSan builds). */
static void test_retry_after_extreme_clocks(void **state)
{
    (void)state;
    assert_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", (time_t)-86400, 86400000);
    assert_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", (time_t)INT64_MAX, 0);
    assert_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", (time_t)INT64_MIN, UINT64_MAX);
    assert_retry_after("120", (time_t)INT64_MIN, 120000);

    /* RFC 850 years resolve near the clock's year, which no IMF-fixdate can
     * spell there, so they are rejected rather than overflowing. */
    assert_retry_after_invalid("Wednesday, 21-Oct-15 07:28:00 GMT", (time_t)INT64_MIN);
    assert_retry_after_invalid("Wednesday, 21-Oct-15 07:28:00 GMT", (time_t)INT64_MAX);
}

/* ---- backoff delays ---- */

/* Full jitter with an injected source: each delay is the drawn value modulo
 * ceiling + 1, the ceilings being 500, 1000, 2000, 4000, 8000 and 8000 ms. */
static void test_backoff_exact_with_injected_source(void **state)
{
    (void)state;
    hwai_retry_policy policy = make_policy(500, 8000, 6);
    static const uint64_t values[] = {
        1234567,
        987654321,
        UINT64_C(0xdeadbeefcafebabe),
        28049,
        UINT64_C(0x8000000000000005),
        UINT64_C(0x0123456789abcdef),
    };
    static const uint64_t expected[] = { 103, 654, 1605, 42, 895, 6621 };
    scripted_random script = { values, 6, 0 };
    for (unsigned int retry = 1; retry <= 6; retry++) {
        uint64_t delay = hwai__backoff_delay_ms(&policy, retry, NULL, scripted_next, &script);
        if (delay != expected[retry - 1]) {
            fail_msg(
                "retry %u: delay %" PRIu64 ", expected %" PRIu64, retry, delay,
                expected[retry - 1]);
        }
    }
    assert_int_equal(script.calls, 6);
}

/* Both ends of [0, ceiling] are reachable. */
static void test_backoff_range_inclusive(void **state)
{
    (void)state;
    hwai_retry_policy policy = make_policy(500, 8000, 6);
    const uint64_t top_values[] = { UINT64_C(501) * 1000000 + 500 };
    scripted_random top = { top_values, 1, 0 };
    assert_int_equal(hwai__backoff_delay_ms(&policy, 1, NULL, scripted_next, &top), 500);

    const uint64_t bottom_values[] = { UINT64_C(8001) * 1000000 };
    scripted_random bottom = { bottom_values, 1, 0 };
    assert_int_equal(hwai__backoff_delay_ms(&policy, 5, NULL, scripted_next, &bottom), 0);

    /* UINT64_MAX is never rejected: 2^64 mod 501 is 49 and UINT64_MAX mod 501 is 48. */
    const uint64_t max_values[] = { UINT64_MAX };
    scripted_random max = { max_values, 1, 0 };
    assert_int_equal(hwai__backoff_delay_ms(&policy, 1, NULL, scripted_next, &max), 48);
}

/* Draws below 2^64 mod (ceiling + 1) would favour small delays, so they are
 * drawn again. */
static void test_backoff_rejects_biased_draws(void **state)
{
    (void)state;
    hwai_retry_policy policy = make_policy(500, 8000, 6);
    /* For ceiling 500, 2^64 mod 501 = 49: 0 and 48 are rejected, 49 is kept. */
    const uint64_t values[] = { 0, 48, 49 };
    scripted_random script = { values, 3, 0 };
    assert_int_equal(hwai__backoff_delay_ms(&policy, 1, NULL, scripted_next, &script), 49);
    assert_int_equal(script.calls, 3);

    /* A source stuck below the threshold still ends. */
    scripted_random stuck = { NULL, 0, 0 };
    assert_int_equal(hwai__backoff_delay_ms(&policy, 1, NULL, scripted_next, &stuck), 0);
    assert_in_range(stuck.calls, 2, 100);
}

/* The exponent is capped: a large retry number gives max_delay_ms as the
 * ceiling instead of an overflowed shift. */
static void test_backoff_large_retry_numbers(void **state)
{
    (void)state;
    hwai_retry_policy policy = make_policy(500, 8000, 6);
    static const unsigned int retries[] = { 7, 31, 32, 33, 63, 64, 65, 1000, UINT32_MAX };
    for (size_t i = 0; i < sizeof(retries) / sizeof(retries[0]); i++) {
        const uint64_t values[] = { UINT64_C(8001) * 1000 + 8000 };
        scripted_random script = { values, 1, 0 };
        uint64_t delay = hwai__backoff_delay_ms(&policy, retries[i], NULL, scripted_next, &script);
        if (delay != 8000) {
            fail_msg("retry %u: delay %" PRIu64 ", expected 8000", retries[i], delay);
        }
    }

    /* base * 2 passes UINT32_MAX, so the ceiling is max_delay_ms and the range
     * contains 2^32 values. */
    hwai_retry_policy wide = make_policy(3000000000u, UINT32_MAX, 6);
    const uint64_t values[] = { UINT64_C(0x123456789abcdef0) };
    scripted_random script = { values, 1, 0 };
    assert_int_equal(
        hwai__backoff_delay_ms(&wide, 2, NULL, scripted_next, &script), UINT64_C(0x9abcdef0));
}

static void test_backoff_defaults_and_retry_zero(void **state)
{
    (void)state;
    const uint64_t values[] = { 1000 };

    /* NULL policy and zero fields: base 200 ms, so retry 1 draws in [0, 200]. */
    scripted_random script = { values, 1, 0 };
    assert_int_equal(hwai__backoff_delay_ms(NULL, 1, NULL, scripted_next, &script), 1000 % 201);
    hwai_retry_policy zero = HWAI_RETRY_POLICY_INIT;
    script.calls = 0;
    assert_int_equal(hwai__backoff_delay_ms(&zero, 1, NULL, scripted_next, &script), 1000 % 201);

    /* Retry 0 counts as the first retry. */
    hwai_retry_policy policy = make_policy(500, 8000, 6);
    script.calls = 0;
    assert_int_equal(hwai__backoff_delay_ms(&policy, 0, NULL, scripted_next, &script), 1000 % 501);

    /* Retry-After is capped at the default max_delay_ms of 20 s. */
    uint64_t retry_after = 60000;
    assert_int_equal(hwai__backoff_delay_ms(NULL, 1, &retry_after, NULL, NULL), 20000);

    /* Without a source, hwai__random_u64 is used, within the same range. */
    for (int i = 0; i < 100; i++) {
        assert_in_range(hwai__backoff_delay_ms(&policy, 3, NULL, NULL, NULL), 0, 2000);
    }
}

/* Field case: clients that seed per instance from the clock retry in lockstep.
 * 1000 policies are made in 8 threads within the same second (base 500 ms,
 * cap 8 s, 6 attempts), each picking a delay for retry k = 1..6 from
 * hwai__random_u64. Variants: per-k spread (at least 100 distinct
 * milliseconds among the 1000), per-k range [0, min(8000, 500 * 2^(k-1))], and
 * distinct first draws across the 8 threads. */
#define SPREAD_THREADS 8
#define SPREAD_PER_THREAD 125
#define SPREAD_RETRIES 6

typedef struct spread_worker {
    uint64_t first_draw;
    uint64_t delays[SPREAD_PER_THREAD][SPREAD_RETRIES];
    int failed;
} spread_worker;

static void *run_spread_worker(void *arg)
{
    spread_worker *worker = arg;
    worker->first_draw = hwai__random_u64(NULL);
    for (int i = 0; i < SPREAD_PER_THREAD; i++) {
        hwai_retry_policy requested;
        hwai_retry_policy policy;
        if (hwai_retry_policy_init(&requested, HWAI_RETRY_POLICY_VERSION) != HWAI_OK) {
            worker->failed = 1;
            return NULL;
        }
        requested.base_delay_ms = 500;
        requested.max_delay_ms = 8000;
        requested.max_attempts = SPREAD_RETRIES;
        if (hwai__retry_policy_resolve(&requested, &policy, NULL) != HWAI_OK) {
            worker->failed = 1;
            return NULL;
        }
        for (unsigned int k = 1; k <= SPREAD_RETRIES; k++) {
            worker->delays[i][k - 1] =
                hwai__backoff_delay_ms(&policy, k, NULL, hwai__random_u64, NULL);
        }
    }
    return NULL;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static size_t count_distinct(uint64_t *values, size_t count)
{
    qsort(values, count, sizeof(values[0]), compare_u64);
    size_t distinct = count > 0 ? 1 : 0;
    for (size_t i = 1; i < count; i++) {
        distinct += values[i] != values[i - 1];
    }
    return distinct;
}

static void test_backoff_jitter_spread_threads(void **state)
{
    (void)state;
    spread_worker *workers = calloc(SPREAD_THREADS, sizeof(*workers));
    assert_non_null(workers);
    pthread_t threads[SPREAD_THREADS];
    for (int t = 0; t < SPREAD_THREADS; t++) {
        assert_int_equal(pthread_create(&threads[t], NULL, run_spread_worker, &workers[t]), 0);
    }
    for (int t = 0; t < SPREAD_THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(workers[t].failed, 0);
    }

    uint64_t firsts[SPREAD_THREADS];
    for (int t = 0; t < SPREAD_THREADS; t++) {
        firsts[t] = workers[t].first_draw;
    }
    assert_int_equal(count_distinct(firsts, SPREAD_THREADS), SPREAD_THREADS);

    uint64_t column[SPREAD_THREADS * SPREAD_PER_THREAD];
    for (unsigned int k = 1; k <= SPREAD_RETRIES; k++) {
        uint64_t ceiling = (UINT64_C(500) << (k - 1)) < 8000 ? (UINT64_C(500) << (k - 1)) : 8000;
        size_t n = 0;
        for (int t = 0; t < SPREAD_THREADS; t++) {
            for (int i = 0; i < SPREAD_PER_THREAD; i++) {
                uint64_t delay = workers[t].delays[i][k - 1];
                if (delay > ceiling) {
                    fail_msg("retry %u: delay %" PRIu64 " above %" PRIu64, k, delay, ceiling);
                }
                column[n++] = delay;
            }
        }
        size_t distinct = count_distinct(column, n);
        if (distinct < 100) {
            fail_msg("retry %u: only %zu distinct delays among %zu", k, distinct, n);
        }
    }
    free(workers);
}

/* A child made by fork() must not repeat its parent's sequence. */
static void test_random_differs_after_fork(void **state)
{
    (void)state;
    (void)hwai__random_u64(NULL);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint64_t child_value = hwai__random_u64(NULL);
        ssize_t written = write(fds[1], &child_value, sizeof(child_value));
        _exit(written == (ssize_t)sizeof(child_value) ? 0 : 1);
    }
    uint64_t parent_value = hwai__random_u64(NULL);
    uint64_t child_value = 0;
    assert_int_equal(read(fds[0], &child_value, sizeof(child_value)), sizeof(child_value));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(fds[0]);
    close(fds[1]);
    assert_true(parent_value != child_value);
}

/* ---- retry decisions ---- */

typedef struct allowed_case {
    hwai_status status;
    int http_status;
    const char *code;
    bool idempotent;     /* expected for HWAI__IDEMPOTENT */
    bool not_idempotent; /* expected for HWAI__NOT_IDEMPOTENT */
} allowed_case;

static void assert_allowed_case(const allowed_case *c)
{
    hwai__attempt_outcome outcome = { c->status, c->http_status, c->code };
    bool idempotent = hwai__retry_allowed(&outcome, HWAI__IDEMPOTENT);
    bool not_idempotent = hwai__retry_allowed(&outcome, HWAI__NOT_IDEMPOTENT);
    if (idempotent != c->idempotent || not_idempotent != c->not_idempotent) {
        fail_msg(
            "status %d, HTTP %d, code %s: idempotent %d (expected %d), "
            "not idempotent %d (expected %d)",
            (int)c->status, c->http_status, c->code ? c->code : "(none)", idempotent, c->idempotent,
            not_idempotent, c->not_idempotent);
    }
}

/* Every status outside HWAI_E_SERVICE, for both idempotency classes: a connect
 * failure always, a timeout or transport failure only when idempotent, nothing
 * else. */
static void test_retry_allowed_by_status(void **state)
{
    (void)state;
    static const allowed_case cases[] = {
        { HWAI_OK, 0, NULL, false, false },
        { HWAI_E_INVALID_ARG, 0, NULL, false, false },
        { HWAI_E_NOMEM, 0, NULL, false, false },
        { HWAI_E_UNSUPPORTED, 0, NULL, false, false },
        { HWAI_E_CONFIG, 0, NULL, false, false },
        { HWAI_E_INSECURE_URL, 0, NULL, false, false },
        { HWAI_E_TRANSPORT, 0, NULL, true, false },
        { HWAI_E_CONNECT, 0, NULL, true, true },
        { HWAI_E_TIMEOUT, 0, NULL, true, false },
        { HWAI_E_TLS, 0, NULL, false, false },
        { HWAI_E_RESPONSE_TOO_LARGE, 0, NULL, false, false },
        { HWAI_E_HEADERS_TOO_LARGE, 0, NULL, false, false },
        { HWAI_E_AUTH, 0, NULL, false, false },
        { HWAI_E_SIGN, 0, NULL, false, false },
        { HWAI_E_BAD_RESPONSE, 0, NULL, false, false },
        { HWAI_E_CONTENT_TYPE, 0, NULL, false, false },
        { HWAI_E_JSON_DEPTH, 0, NULL, false, false },
        { HWAI_E_STREAM_TRUNCATED, 0, NULL, false, false },
        { HWAI_E_STREAM_EVENT_TOO_LARGE, 0, NULL, false, false },
        { HWAI_E_STREAM_ERROR, 0, NULL, false, false },
        { HWAI_E_CANCELLED, 0, NULL, false, false },
        { HWAI_E_INTERNAL, 0, NULL, false, false },
        /* An HTTP status on a non-service outcome changes nothing. */
        { HWAI_E_CANCELLED, 429, "APIG.0308", false, false },
        { HWAI_E_TIMEOUT, 503, NULL, true, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_allowed_case(&cases[i]);
    }
}

/* Service error responses: 429 and the gateway's throttling code are retried
 * for every call, and 500, 502, 503 and 504 only for idempotent calls because
 * the backend may have acted. 401 and 403 never are, whatever the code. */
static void test_retry_allowed_service_errors(void **state)
{
    (void)state;
    static const allowed_case cases[] = {
        { HWAI_E_SERVICE, 429, NULL, true, true },
        { HWAI_E_SERVICE, 429, "429", true, true },
        { HWAI_E_SERVICE, 429, "APIG.0308", true, true },
        { HWAI_E_SERVICE, 429, "APIGW.0308", true, true },
        { HWAI_E_SERVICE, 400, "APIG.0308", true, true },
        { HWAI_E_SERVICE, 400, "APIGW.0308", true, true },
        { HWAI_E_SERVICE, 500, NULL, true, false },
        { HWAI_E_SERVICE, 502, NULL, true, false },
        { HWAI_E_SERVICE, 503, NULL, true, false },
        { HWAI_E_SERVICE, 503, "ModelArts.0001", true, false },
        { HWAI_E_SERVICE, 504, NULL, true, false },
        { HWAI_E_SERVICE, 501, NULL, false, false },
        { HWAI_E_SERVICE, 505, NULL, false, false },
        { HWAI_E_SERVICE, 401, NULL, false, false },
        { HWAI_E_SERVICE, 401, "APIG.0308", false, false },
        { HWAI_E_SERVICE, 401, "APIGW.0301", false, false },
        { HWAI_E_SERVICE, 403, NULL, false, false },
        { HWAI_E_SERVICE, 403, "APIGW.0308", false, false },
        { HWAI_E_SERVICE, 400, NULL, false, false },
        { HWAI_E_SERVICE, 400, "APIG.0301", false, false },
        { HWAI_E_SERVICE, 404, NULL, false, false },
        { HWAI_E_SERVICE, 408, NULL, false, false },
        { HWAI_E_SERVICE, 0, NULL, false, false },
        { HWAI_E_SERVICE, 400, "APIG.03081", false, false },
        { HWAI_E_SERVICE, 400, "XAPIG.0308", false, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_allowed_case(&cases[i]);
    }
}

/* An unknown idempotency class is treated as having side effects. */
static void test_retry_allowed_unknown_class(void **state)
{
    (void)state;
    hwai__attempt_outcome timeout = { HWAI_E_TIMEOUT, 0, NULL };
    hwai__attempt_outcome unavailable = { HWAI_E_SERVICE, 503, NULL };
    hwai__attempt_outcome connect = { HWAI_E_CONNECT, 0, NULL };
    hwai__attempt_outcome throttled = { HWAI_E_SERVICE, 429, NULL };
    static const int classes[] = { 0, 3, -1 };
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        hwai__idempotency unknown = (hwai__idempotency)classes[i];
        assert_false(hwai__retry_allowed(&timeout, unknown));
        assert_false(hwai__retry_allowed(&unavailable, unknown));
        assert_true(hwai__retry_allowed(&connect, unknown));
        assert_true(hwai__retry_allowed(&throttled, unknown));
    }
    assert_false(hwai__retry_allowed(NULL, HWAI__IDEMPOTENT));
}

/* ---- public retryability ---- */

static void test_status_is_retryable(void **state)
{
    (void)state;
    static const hwai_status retryable[] = { HWAI_E_CONNECT, HWAI_E_TIMEOUT, HWAI_E_TRANSPORT };
    static const hwai_status not_retryable[] = {
        HWAI_OK,
        HWAI_E_INVALID_ARG,
        HWAI_E_NOMEM,
        HWAI_E_UNSUPPORTED,
        HWAI_E_CONFIG,
        HWAI_E_INSECURE_URL,
        HWAI_E_TLS,
        HWAI_E_RESPONSE_TOO_LARGE,
        HWAI_E_HEADERS_TOO_LARGE,
        HWAI_E_AUTH,
        HWAI_E_SIGN,
        HWAI_E_SERVICE,
        HWAI_E_BAD_RESPONSE,
        HWAI_E_CONTENT_TYPE,
        HWAI_E_JSON_DEPTH,
        HWAI_E_STREAM_TRUNCATED,
        HWAI_E_STREAM_EVENT_TOO_LARGE,
        HWAI_E_STREAM_ERROR,
        HWAI_E_CANCELLED,
        HWAI_E_INTERNAL,
        (hwai_status)12345,
    };
    for (size_t i = 0; i < sizeof(retryable) / sizeof(retryable[0]); i++) {
        assert_int_equal(hwai_status_is_retryable(retryable[i]), 1);
    }
    for (size_t i = 0; i < sizeof(not_retryable) / sizeof(not_retryable[0]); i++) {
        if (hwai_status_is_retryable(not_retryable[i]) != 0) {
            fail_msg("status %d counted as retryable", (int)not_retryable[i]);
        }
    }
}

static int service_error_retryable(int http_status, const char *code)
{
    hwai_error *err = NULL;
    hwai__error_set_http(&err, HWAI_E_SERVICE, http_status, code, "req-1", "service failed");
    assert_non_null(err);
    int result = hwai_error_is_retryable(err);
    hwai_error_free(err);
    return result;
}

static int plain_error_retryable(hwai_status status)
{
    hwai_error *err = NULL;
    hwai__error_set(&err, status, "failed");
    assert_non_null(err);
    int result = hwai_error_is_retryable(err);
    hwai_error_free(err);
    return result;
}

static void test_error_is_retryable(void **state)
{
    (void)state;
    assert_int_equal(hwai_error_is_retryable(NULL), 0);

    assert_int_equal(service_error_retryable(429, "429"), 1);
    assert_int_equal(service_error_retryable(500, "500"), 1);
    assert_int_equal(service_error_retryable(502, NULL), 1);
    assert_int_equal(service_error_retryable(503, "ModelArts.0001"), 1);
    assert_int_equal(service_error_retryable(504, "504"), 1);
    assert_int_equal(service_error_retryable(400, "APIG.0308"), 1);
    assert_int_equal(service_error_retryable(400, "APIGW.0308"), 1);

    assert_int_equal(service_error_retryable(401, "APIG.0308"), 0);
    assert_int_equal(service_error_retryable(401, "APIGW.0301"), 0);
    assert_int_equal(service_error_retryable(403, "APIGW.0308"), 0);
    assert_int_equal(service_error_retryable(403, "403"), 0);
    assert_int_equal(service_error_retryable(400, "APIG.0301"), 0);
    assert_int_equal(service_error_retryable(404, "404"), 0);
    assert_int_equal(service_error_retryable(501, "501"), 0);

    assert_int_equal(plain_error_retryable(HWAI_E_CONNECT), 1);
    assert_int_equal(plain_error_retryable(HWAI_E_TIMEOUT), 1);
    assert_int_equal(plain_error_retryable(HWAI_E_TRANSPORT), 1);
    assert_int_equal(plain_error_retryable(HWAI_E_TLS), 0);
    assert_int_equal(plain_error_retryable(HWAI_E_INVALID_ARG), 0);
    assert_int_equal(plain_error_retryable(HWAI_E_CANCELLED), 0);
    assert_int_equal(plain_error_retryable(HWAI_E_AUTH), 0);
    /* A service status without an HTTP status is not retryable. */
    assert_int_equal(plain_error_retryable(HWAI_E_SERVICE), 0);
}

/* ---- policy ---- */

static void test_policy_init(void **state)
{
    (void)state;
    hwai_retry_policy policy;
    memset(&policy, 0xff, sizeof(policy));
    assert_int_equal(hwai_retry_policy_init(&policy, HWAI_RETRY_POLICY_VERSION), HWAI_OK);
    assert_int_equal(policy.version, HWAI_RETRY_POLICY_VERSION);
    assert_int_equal(policy.max_attempts, HWAI_DEFAULT_MAX_ATTEMPTS);
    assert_int_equal(policy.base_delay_ms, HWAI_DEFAULT_RETRY_BASE_DELAY_MS);
    assert_int_equal(policy.max_delay_ms, HWAI_DEFAULT_RETRY_MAX_DELAY_MS);

    assert_int_equal(hwai_retry_policy_init(NULL, HWAI_RETRY_POLICY_VERSION), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_retry_policy_init(&policy, 0), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_retry_policy_init(&policy, 2), HWAI_E_INVALID_ARG);
}

static void assert_resolves_to_defaults(const hwai_retry_policy *in)
{
    hwai_retry_policy out;
    memset(&out, 0, sizeof(out));
    assert_int_equal(hwai__retry_policy_resolve(in, &out, NULL), HWAI_OK);
    assert_int_equal(out.version, HWAI_RETRY_POLICY_VERSION);
    assert_int_equal(out.max_attempts, 3);
    assert_int_equal(out.base_delay_ms, 200);
    assert_int_equal(out.max_delay_ms, 20000);
}

static void test_policy_resolve_defaults(void **state)
{
    (void)state;
    hwai_retry_policy zero = HWAI_RETRY_POLICY_INIT;
    assert_resolves_to_defaults(&zero);
    assert_resolves_to_defaults(NULL);
    hwai_retry_policy initialised;
    assert_int_equal(hwai_retry_policy_init(&initialised, HWAI_RETRY_POLICY_VERSION), HWAI_OK);
    assert_resolves_to_defaults(&initialised);

    /* Set fields are kept. */
    hwai_retry_policy custom = make_policy(500, 8000, 10);
    hwai_retry_policy out;
    assert_int_equal(hwai__retry_policy_resolve(&custom, &out, NULL), HWAI_OK);
    assert_int_equal(out.max_attempts, 10);
    assert_int_equal(out.base_delay_ms, 500);
    assert_int_equal(out.max_delay_ms, 8000);

    hwai_retry_policy single = make_policy(0, 0, 1);
    assert_int_equal(hwai__retry_policy_resolve(&single, &out, NULL), HWAI_OK);
    assert_int_equal(out.max_attempts, 1);
}

static void assert_policy_rejected(const hwai_retry_policy *in, const char *message_part)
{
    hwai_retry_policy out = make_policy(1, 2, 3);
    hwai_error *err = NULL;
    assert_int_equal(hwai__retry_policy_resolve(in, &out, &err), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_error_status(err), HWAI_E_INVALID_ARG);
    const char *message = hwai_error_message(err);
    if (!strstr(message, message_part)) {
        fail_msg("message \"%s\" lacks \"%s\"", message, message_part);
    }
    /* The output is left untouched. */
    assert_int_equal(out.base_delay_ms, 1);
    hwai_error_free(err);
    /* Without an error pointer the status is the same. */
    assert_int_equal(hwai__retry_policy_resolve(in, &out, NULL), HWAI_E_INVALID_ARG);
}

static void test_policy_resolve_rejects(void **state)
{
    (void)state;
    hwai_retry_policy too_many = make_policy(0, 0, 11);
    assert_policy_rejected(&too_many, "max_attempts 11");

    hwai_retry_policy far_too_many = make_policy(0, 0, UINT32_MAX);
    assert_policy_rejected(&far_too_many, "max_attempts");

    hwai_retry_policy version_zero = make_policy(0, 0, 0);
    version_zero.version = 0;
    assert_policy_rejected(&version_zero, "version 0");

    hwai_retry_policy version_future = make_policy(0, 0, 0);
    version_future.version = HWAI_RETRY_POLICY_VERSION + 1;
    assert_policy_rejected(&version_future, "version 2");

    hwai_retry_policy base_over_max = make_policy(9000, 8000, 0);
    assert_policy_rejected(&base_over_max, "base_delay_ms 9000");

    /* A base above the default maximum of 20 s needs a maximum set too. */
    hwai_retry_policy base_over_default = make_policy(30000, 0, 0);
    assert_policy_rejected(&base_over_default, "max_delay_ms 20000");

    hwai_error *err = NULL;
    assert_int_equal(hwai__retry_policy_resolve(NULL, NULL, &err), HWAI_E_INVALID_ARG);
    hwai_error_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_table),
        cmocka_unit_test(test_retry_after_invalid_values),
        cmocka_unit_test(test_retry_after_absent_uses_backoff),
        cmocka_unit_test(test_retry_after_huge_saturates),
        cmocka_unit_test(test_retry_after_whitespace),
        cmocka_unit_test(test_retry_after_date_details),
        cmocka_unit_test(test_retry_after_date_rejects_ranges),
        cmocka_unit_test(test_retry_after_date_rejects_syntax),
        cmocka_unit_test(test_retry_after_two_digit_year),
        cmocka_unit_test(test_retry_after_extreme_clocks),
        cmocka_unit_test(test_backoff_exact_with_injected_source),
        cmocka_unit_test(test_backoff_range_inclusive),
        cmocka_unit_test(test_backoff_rejects_biased_draws),
        cmocka_unit_test(test_backoff_large_retry_numbers),
        cmocka_unit_test(test_backoff_defaults_and_retry_zero),
        cmocka_unit_test(test_backoff_jitter_spread_threads),
        cmocka_unit_test(test_random_differs_after_fork),
        cmocka_unit_test(test_retry_allowed_by_status),
        cmocka_unit_test(test_retry_allowed_service_errors),
        cmocka_unit_test(test_retry_allowed_unknown_class),
        cmocka_unit_test(test_status_is_retryable),
        cmocka_unit_test(test_error_is_retryable),
        cmocka_unit_test(test_policy_init),
        cmocka_unit_test(test_policy_resolve_defaults),
        cmocka_unit_test(test_policy_resolve_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
