#include "retry/backoff.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "core/error_internal.h"
#include "crypto/crypto.h"
#include "util/str.h"

#define MAX_ATTEMPTS_LIMIT 10u

/* ---- policy ---- */

hwai_status hwai_retry_policy_init(hwai_retry_policy *policy, unsigned int version)
{
    if (!policy || version != HWAI_RETRY_POLICY_VERSION) {
        return HWAI_E_INVALID_ARG;
    }
    policy->version = HWAI_RETRY_POLICY_VERSION;
    policy->max_attempts = HWAI_DEFAULT_MAX_ATTEMPTS;
    policy->base_delay_ms = HWAI_DEFAULT_RETRY_BASE_DELAY_MS;
    policy->max_delay_ms = HWAI_DEFAULT_RETRY_MAX_DELAY_MS;
    return HWAI_OK;
}

/* Copies policy with its zero fields replaced by the defaults, without any
 * checks. A NULL policy gives the defaults. */
static hwai_retry_policy apply_defaults(const hwai_retry_policy *policy)
{
    hwai_retry_policy out = HWAI_RETRY_POLICY_INIT;
    if (policy) {
        out = *policy;
    }
    if (out.max_attempts == 0) {
        out.max_attempts = HWAI_DEFAULT_MAX_ATTEMPTS;
    }
    if (out.base_delay_ms == 0) {
        out.base_delay_ms = HWAI_DEFAULT_RETRY_BASE_DELAY_MS;
    }
    if (out.max_delay_ms == 0) {
        out.max_delay_ms = HWAI_DEFAULT_RETRY_MAX_DELAY_MS;
    }
    return out;
}

hwai_status
hwai__retry_policy_resolve(const hwai_retry_policy *in, hwai_retry_policy *out, hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "retry policy output is NULL");
    }
    if (in && in->version != HWAI_RETRY_POLICY_VERSION) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "hwai_retry_policy version %u is not supported: expected %u "
            "(initialise with HWAI_RETRY_POLICY_INIT or hwai_retry_policy_init)",
            in->version, HWAI_RETRY_POLICY_VERSION);
    }
    hwai_retry_policy resolved = apply_defaults(in);
    if (resolved.max_attempts > MAX_ATTEMPTS_LIMIT) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "hwai_retry_policy max_attempts %u is too large: the maximum is %u",
            resolved.max_attempts, MAX_ATTEMPTS_LIMIT);
    }
    if (resolved.base_delay_ms > resolved.max_delay_ms) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "hwai_retry_policy base_delay_ms %u is above max_delay_ms %u",
            resolved.base_delay_ms, resolved.max_delay_ms);
    }
    *out = resolved;
    return HWAI_OK;
}

/* ---- which failures are retried ---- */

/* The API gateway's code for a request it throttled before forwarding it. The
 * gateway spells its prefix both ways, so both spellings are listed. */
static const char *const throttled_codes[] = { "APIG.0308", "APIGW.0308" };

static bool is_throttled_code(const char *code)
{
    if (!code) {
        return false;
    }
    for (size_t i = 0; i < sizeof(throttled_codes) / sizeof(throttled_codes[0]); i++) {
        if (strcmp(code, throttled_codes[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool is_auth_failure(int http_status)
{
    return http_status == 401 || http_status == 403;
}

/* Whether a service error response may succeed later, for a call without side
 * effects. 401 and 403 never count, because the gateway locks an AK for minutes
 * after a few failed signatures in a row and repeating them would lock the
 * user out. */
static bool service_error_retryable(int http_status, const char *code)
{
    if (is_auth_failure(http_status)) {
        return false;
    }
    switch (http_status) {
    case 429:
    case 500:
    case 502:
    case 503:
    case 504: return true;
    default: return is_throttled_code(code);
    }
}

/* Whether a service error response shows that the request was turned away
 * before the backend could act on it. HTTP 429 and APIG.0308 mean the request
 * was throttled and not processed. A 500, 502, 503 or 504 may come after the
 * backend started or even finished the work, so it gives no such guarantee. */
static bool service_error_unprocessed(int http_status, const char *code)
{
    if (is_auth_failure(http_status)) {
        return false;
    }
    return http_status == 429 || is_throttled_code(code);
}

int hwai_status_is_retryable(hwai_status status)
{
    switch (status) {
    case HWAI_E_CONNECT:
    case HWAI_E_TIMEOUT:
    case HWAI_E_TRANSPORT: return 1;
    default: return 0;
    }
}

int hwai_error_is_retryable(const hwai_error *err)
{
    if (!err) {
        return 0;
    }
    if (err->status == HWAI_E_SERVICE) {
        return service_error_retryable(err->http_status, err->code) ? 1 : 0;
    }
    return hwai_status_is_retryable(err->status);
}

/* A connect failure is retried for every call because the request was never
 * sent. A timeout or a connection lost mid-transfer may come after the server
 * acted, so only idempotent calls repeat it. An unknown idempotency class is
 * treated as HWAI__NOT_IDEMPOTENT. */
bool hwai__retry_allowed(const hwai__attempt_outcome *outcome, hwai__idempotency idempotency)
{
    if (!outcome) {
        return false;
    }
    bool idempotent = idempotency == HWAI__IDEMPOTENT;
    switch (outcome->status) {
    case HWAI_E_CONNECT: return true;
    case HWAI_E_TIMEOUT:
    case HWAI_E_TRANSPORT: return idempotent;
    case HWAI_E_SERVICE:
        if (idempotent) {
            return service_error_retryable(outcome->http_status, outcome->error_code);
        }
        return service_error_unprocessed(outcome->http_status, outcome->error_code);
    default: return false;
    }
}

/* ---- Retry-After ---- */

static uint64_t saturating_mul(uint64_t a, uint64_t b)
{
    if (a != 0 && b > UINT64_MAX / a) {
        return UINT64_MAX;
    }
    return a * b;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_leap_year(int64_t year)
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

static int days_in_month(int64_t year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month == 2 && is_leap_year(year)) {
        return 29;
    }
    return days[month - 1];
}

/* Counts Gregorian leap years in [1, year). Years before 1 give a negative count. */
static int64_t leap_years_before(int64_t year)
{
    int64_t y = year - 1;
    return floor_div(y, 4) - floor_div(y, 100) + floor_div(y, 400);
}

/* Returns the days from 1970-01-01 to a proleptic Gregorian date (month 1..12). */
static int64_t days_from_civil(int64_t year, int month, int day)
{
    static const int days_before_month[12] = {
        0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334,
    };
    int64_t days = (year - 1970) * 365 + leap_years_before(year) - leap_years_before(1970);
    days += days_before_month[month - 1] + day - 1;
    if (month > 2 && is_leap_year(year)) {
        days += 1;
    }
    return days;
}

/* The year that contains day `days` counted from 1970-01-01. */
static int64_t year_of_day(int64_t days)
{
    /* Every 400 Gregorian years contain exactly 146097 days. Within one such
     * cycle, rest / 365 overshoots the year by at most one. */
    int64_t cycles = floor_div(days, 146097);
    int64_t rest = days - cycles * 146097;
    int64_t year = 1970 + cycles * 400 + rest / 365;
    while (days_from_civil(year, 1, 1) > days) {
        year--;
    }
    return year;
}

/* RFC 9110, section 5.6.7: a two-digit year is the most recent year with those
 * last two digits that is not more than 50 years after the current year. */
static int64_t resolve_two_digit_year(int two_digits, time_t now)
{
    int64_t current = year_of_day(floor_div((int64_t)now, 86400));
    int64_t year = floor_div(current, 100) * 100 + two_digits;
    if (year > current + 50) {
        year -= 100;
    } else if (year + 100 <= current + 50) {
        year += 100;
    }
    return year;
}

typedef struct http_date {
    int64_t year;
    int month; /* 1..12 */
    int day;
    int hour;
    int minute;
    int second;
} http_date;

/* Reading position in a trimmed header value. `end` points past its last byte. */
typedef struct date_cursor {
    const char *pos;
    const char *end;
} date_cursor;

static bool take_char(date_cursor *cursor, char expected)
{
    if (cursor->pos == cursor->end || *cursor->pos != expected) {
        return false;
    }
    cursor->pos++;
    return true;
}

/* Reads exactly `count` ASCII digits. */
static bool take_digits(date_cursor *cursor, int count, int *out)
{
    if (cursor->end - cursor->pos < count) {
        return false;
    }
    int value = 0;
    for (int i = 0; i < count; i++) {
        char c = cursor->pos[i];
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + (c - '0');
    }
    cursor->pos += count;
    *out = value;
    return true;
}

/* Reads one of the names, ignoring ASCII case, and stores its index in the
 * list. */
static bool take_name(date_cursor *cursor, const char *const *names, int count, int *index)
{
    for (int i = 0; i < count; i++) {
        size_t len = strlen(names[i]);
        if ((size_t)(cursor->end - cursor->pos) >= len &&
            hwai__strncasecmp(cursor->pos, names[i], len) == 0) {
            cursor->pos += len;
            *index = i;
            return true;
        }
    }
    return false;
}

static const char *const short_day_names[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const long_day_names[] = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
};
static const char *const month_names[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static bool take_month(date_cursor *cursor, http_date *date)
{
    int index;
    if (!take_name(cursor, month_names, 12, &index)) {
        return false;
    }
    date->month = index + 1;
    return true;
}

/* hour ":" minute ":" second, two digits each. */
static bool take_time_of_day(date_cursor *cursor, http_date *date)
{
    return take_digits(cursor, 2, &date->hour) && take_char(cursor, ':') &&
           take_digits(cursor, 2, &date->minute) && take_char(cursor, ':') &&
           take_digits(cursor, 2, &date->second);
}

static bool take_gmt_and_end(date_cursor *cursor)
{
    int index;
    static const char *const gmt[] = { "GMT" };
    return take_name(cursor, gmt, 1, &index) && cursor->pos == cursor->end;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
static bool parse_imf_fixdate(date_cursor cursor, http_date *date)
{
    int index;
    int year;
    if (!take_name(&cursor, short_day_names, 7, &index) || !take_char(&cursor, ',') ||
        !take_char(&cursor, ' ') || !take_digits(&cursor, 2, &date->day) ||
        !take_char(&cursor, ' ') || !take_month(&cursor, date) || !take_char(&cursor, ' ') ||
        !take_digits(&cursor, 4, &year) || !take_char(&cursor, ' ') ||
        !take_time_of_day(&cursor, date) || !take_char(&cursor, ' ')) {
        return false;
    }
    date->year = year;
    return take_gmt_and_end(&cursor);
}

/* Obsolete RFC 850 date: "Sunday, 06-Nov-94 08:49:37 GMT". */
static bool parse_rfc850_date(date_cursor cursor, time_t now, http_date *date)
{
    int index;
    int two_digit_year;
    if (!take_name(&cursor, long_day_names, 7, &index) || !take_char(&cursor, ',') ||
        !take_char(&cursor, ' ') || !take_digits(&cursor, 2, &date->day) ||
        !take_char(&cursor, '-') || !take_month(&cursor, date) || !take_char(&cursor, '-') ||
        !take_digits(&cursor, 2, &two_digit_year) || !take_char(&cursor, ' ') ||
        !take_time_of_day(&cursor, date) || !take_char(&cursor, ' ')) {
        return false;
    }
    date->year = resolve_two_digit_year(two_digit_year, now);
    return take_gmt_and_end(&cursor);
}

/* ANSI C asctime() date: "Sun Nov  6 08:49:37 1994", the day of the month
 * being two digits or a space and one digit. */
static bool parse_asctime_date(date_cursor cursor, http_date *date)
{
    int index;
    int year;
    if (!take_name(&cursor, short_day_names, 7, &index) || !take_char(&cursor, ' ') ||
        !take_month(&cursor, date) || !take_char(&cursor, ' ')) {
        return false;
    }
    bool day_read = take_char(&cursor, ' ') ? take_digits(&cursor, 1, &date->day)
                                            : take_digits(&cursor, 2, &date->day);
    if (!day_read || !take_char(&cursor, ' ') || !take_time_of_day(&cursor, date) ||
        !take_char(&cursor, ' ') || !take_digits(&cursor, 4, &year)) {
        return false;
    }
    date->year = year;
    return cursor.pos == cursor.end;
}

/* Checks the field ranges, allowing a leap second (60). Years outside 0..9999,
 * which only an RFC 850 date read against an absurd clock can give, are
 * rejected because no IMF-fixdate can spell them. The day name is not compared
 * with the date, so a wrong weekday is accepted. */
static bool http_date_valid(const http_date *date)
{
    return date->year >= 0 && date->year <= 9999 && date->day >= 1 &&
           date->day <= days_in_month(date->year, date->month) && date->hour <= 23 &&
           date->minute <= 59 && date->second <= 60;
}

/* Parses an HTTP date in any of its three formats into seconds since the epoch.
 * Names of days and months are matched without regard to ASCII case. */
static bool parse_http_date(date_cursor cursor, time_t now, int64_t *seconds_out)
{
    http_date date;
    memset(&date, 0, sizeof(date));
    if (!parse_imf_fixdate(cursor, &date) && !parse_rfc850_date(cursor, now, &date) &&
        !parse_asctime_date(cursor, &date)) {
        return false;
    }
    if (!http_date_valid(&date)) {
        return false;
    }
    int64_t days = days_from_civil(date.year, date.month, date.day);
    *seconds_out = days * 86400 + date.hour * 3600 + date.minute * 60 + date.second;
    return true;
}

/* Parses delay-seconds: one or more ASCII digits, nothing else. */
static bool parse_delay_seconds(date_cursor cursor, uint64_t *delay_ms_out)
{
    if (cursor.pos == cursor.end) {
        return false;
    }
    uint64_t seconds = 0;
    for (const char *p = cursor.pos; p < cursor.end; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        uint64_t digit = (uint64_t)(*p - '0');
        if (seconds > (UINT64_MAX - digit) / 10) {
            seconds = UINT64_MAX;
        } else if (seconds != UINT64_MAX) {
            seconds = seconds * 10 + digit;
        }
    }
    *delay_ms_out = saturating_mul(seconds, 1000);
    return true;
}

static bool is_optional_whitespace(char c)
{
    return c == ' ' || c == '\t';
}

bool hwai__parse_retry_after(const char *value, time_t now, uint64_t *delay_ms_out)
{
    if (!value || !delay_ms_out) {
        return false;
    }
    date_cursor cursor = { value, value + strlen(value) };
    while (cursor.pos < cursor.end && is_optional_whitespace(*cursor.pos)) {
        cursor.pos++;
    }
    while (cursor.end > cursor.pos && is_optional_whitespace(cursor.end[-1])) {
        cursor.end--;
    }
    if (cursor.pos == cursor.end) {
        return false;
    }
    /* A value that starts with a digit is delay-seconds or nothing: reading
     * "120" as a date would give the year 120. */
    if (*cursor.pos >= '0' && *cursor.pos <= '9') {
        return parse_delay_seconds(cursor, delay_ms_out);
    }
    int64_t date_seconds;
    if (!parse_http_date(cursor, now, &date_seconds)) {
        return false;
    }
    if (date_seconds <= (int64_t)now) {
        *delay_ms_out = 0;
        return true;
    }
    /* The true difference is positive and below 2^64, so unsigned subtraction
     * gives it exactly even when now is far below zero. */
    uint64_t seconds = (uint64_t)date_seconds - (uint64_t)(int64_t)now;
    *delay_ms_out = saturating_mul(seconds, 1000);
    return true;
}

/* ---- random source ---- */

/* xoshiro256** from D. Blackman and S. Vigna, "Scrambled Linear Pseudorandom
 * Number Generators", ACM TOMS 47(4), 2021. It has 256 bits of state and a
 * period of 2^256 - 1, and the state must not be all zero. */
typedef struct xoshiro_state {
    uint64_t s[4];
    pid_t owner_pid; /* 0 until seeded */
} xoshiro_state;

static _Thread_local xoshiro_state thread_rng;

static uint64_t rotate_left(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(xoshiro_state *state)
{
    uint64_t *s = state->s;
    uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotate_left(s[3], 45);
    return result;
}

/* SplitMix64 step (Vigna), used only to spread a fallback seed over 256 bits. */
static uint64_t splitmix64_next(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Seeds from a counter shared by all threads, the state's address and the
 * monotonic clock. The seeds differ between threads but are predictable. */
static void seed_without_getrandom(xoshiro_state *state)
{
    static atomic_uint_fast64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = atomic_fetch_add(&counter, 1) ^ (uint64_t)(uintptr_t)state;
    x ^= (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    for (int i = 0; i < 4; i++) {
        state->s[i] = splitmix64_next(&x);
    }
}

/* Seeds the calling thread's generator on first use, and again in a child
 * process after fork(), which would otherwise repeat the parent's sequence. */
static void seed_thread_rng(xoshiro_state *state, pid_t pid)
{
    if (hwai__random_bytes(state->s, sizeof(state->s)) != HWAI_OK) {
        /* NOTE: reached only where getrandom() fails (Linux before 3.17, or a
         * seccomp filter); the delays then stay spread out but are guessable. */
        seed_without_getrandom(state);
    }
    if ((state->s[0] | state->s[1] | state->s[2] | state->s[3]) == 0) {
        state->s[0] = 1;
    }
    state->owner_pid = pid;
}

uint64_t hwai__random_u64(void *unused)
{
    (void)unused;
    pid_t pid = getpid();
    if (thread_rng.owner_pid != pid) {
        seed_thread_rng(&thread_rng, pid);
    }
    return xoshiro_next(&thread_rng);
}

/* ---- delays ---- */

/* Returns a uniform value in [0, bound) for bound >= 1. Draws below
 * 2^64 mod bound are rejected, so every remainder is equally likely. */
static uint64_t uniform_below(uint64_t bound, hwai__random_fn random, void *random_state)
{
    uint64_t threshold = (0 - bound) % bound;
    /* A real source is rejected 64 times in a row with probability below
     * 2^-2048; the limit only keeps a broken source from looping forever. */
    for (int i = 0; i < 64; i++) {
        uint64_t x = random(random_state);
        if (x >= threshold) {
            return x % bound;
        }
    }
    return random(random_state) % bound;
}

/* min(max_delay_ms, base_delay_ms * 2^(retry - 1)) without overflow. */
static uint64_t jitter_ceiling_ms(const hwai_retry_policy *policy, unsigned int retry)
{
    unsigned int shift = retry - 1;
    /* base_delay_ms is at least 1, so from a shift of 32 on the product is at
     * least 2^32, above any uint32_t max_delay_ms. */
    if (shift >= 32) {
        return policy->max_delay_ms;
    }
    uint64_t ceiling = (uint64_t)policy->base_delay_ms << shift;
    return ceiling < policy->max_delay_ms ? ceiling : policy->max_delay_ms;
}

/* A NULL policy and zero fields take the defaults. Retry 0 counts as 1, and a
 * NULL random source means hwai__random_u64. */
uint64_t hwai__backoff_delay_ms(
    const hwai_retry_policy *policy,
    unsigned int retry,
    const uint64_t *retry_after_ms,
    hwai__random_fn random,
    void *random_state)
{
    hwai_retry_policy effective = apply_defaults(policy);
    if (retry_after_ms) {
        uint64_t cap = effective.max_delay_ms;
        return *retry_after_ms < cap ? *retry_after_ms : cap;
    }
    if (retry == 0) {
        retry = 1;
    }
    if (!random) {
        random = hwai__random_u64;
    }
    uint64_t ceiling = jitter_ceiling_ms(&effective, retry);
    return uniform_below(ceiling + 1, random, random_state);
}
