/* Randomized tests of the server-sent events parser. The random streams favour
 * field names, line ends, colons, NUL and multi-byte characters. Each is parsed
 * whole, byte by byte and in random feed sizes. Every result must match that of
 * the simple whole-stream reference parser in this file. The generator has a
 * fixed seed, so every run checks the same streams. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hwai/error.h"
#include "stream/sse.h"

/* The parser allows this many bytes beyond the limit on one line, for a field
 * name such as "retry: ". */
#define FIELD_PREFIX_MAX 7u
#define STREAM_COUNT 400u
#define STREAM_MAX_LEN 8000u

typedef struct byte_string {
    char *bytes;
    size_t len;
} byte_string;

typedef struct fuzz_event {
    byte_string type;
    byte_string data;
    byte_string id;
    long retry_ms;
} fuzz_event;

typedef struct fuzz_result {
    fuzz_event *events;
    size_t count;
    size_t capacity;
    hwai_status status;
    bool incomplete;
    size_t max_event_bytes;
} fuzz_result;

/* xorshift64 with the shifts 13, 7 and 17: small, fast and reproducible. */
static uint64_t random_state;

static uint64_t next_random(void)
{
    uint64_t x = random_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    random_state = x;
    return x;
}

static size_t random_below(size_t bound)
{
    return (size_t)(next_random() % bound);
}

static byte_string copy_string(const char *bytes, size_t len)
{
    byte_string copy = { malloc(len + 1), len };
    assert_non_null(copy.bytes);
    if (len > 0) {
        memcpy(copy.bytes, bytes, len);
    }
    copy.bytes[len] = '\0';
    return copy;
}

static void add_event(
    fuzz_result *result,
    const char *type,
    size_t type_len,
    const char *data,
    size_t data_len,
    const char *id,
    size_t id_len,
    long retry_ms)
{
    if (result->count == result->capacity) {
        result->capacity = result->capacity ? result->capacity * 2 : 16;
        result->events = realloc(result->events, result->capacity * sizeof(*result->events));
        assert_non_null(result->events);
    }
    fuzz_event *event = &result->events[result->count++];
    event->type = copy_string(type, type_len);
    event->data = copy_string(data, data_len);
    event->id = copy_string(id, id_len);
    event->retry_ms = retry_ms;
}

static void fuzz_result_cleanup(fuzz_result *result)
{
    for (size_t i = 0; i < result->count; i++) {
        free(result->events[i].type.bytes);
        free(result->events[i].data.bytes);
        free(result->events[i].id.bytes);
    }
    free(result->events);
    memset(result, 0, sizeof(*result));
}

static hwai_status collect_event(const hwai__sse_event *event, void *user_data)
{
    fuzz_result *result = user_data;
    assert_true(event->data_len > 0);
    assert_true(event->data_len <= result->max_event_bytes);
    assert_true(event->type_len <= result->max_event_bytes + FIELD_PREFIX_MAX);
    assert_true(event->id_len <= result->max_event_bytes + FIELD_PREFIX_MAX);
    add_event(
        result, event->type, event->type_len, event->data, event->data_len, event->id,
        event->id_len, event->retry_ms);
    return HWAI_OK;
}

/* Reference parser: the same rules applied to a whole stream at once, written
 * for clarity rather than speed. */
typedef struct reference_state {
    size_t max_event_bytes;
    byte_string data; /* data lines, each followed by LF */
    size_t data_capacity;
    byte_string type;
    byte_string id;
    long block_retry_ms;
    bool block_started;
} reference_state;

static void set_string(byte_string *target, const char *bytes, size_t len)
{
    free(target->bytes);
    *target = copy_string(bytes, len);
}

static bool reference_add_data(reference_state *state, const char *value, size_t len)
{
    if (state->data.len + len > state->max_event_bytes) {
        return false;
    }
    size_t need = state->data.len + len + 1;
    if (need > state->data_capacity) {
        state->data_capacity = need * 2;
        state->data.bytes = realloc(state->data.bytes, state->data_capacity);
        assert_non_null(state->data.bytes);
    }
    memcpy(state->data.bytes + state->data.len, value, len);
    state->data.bytes[state->data.len + len] = '\n';
    state->data.len = need;
    return true;
}

static void reference_retry(reference_state *state, const char *value, size_t len)
{
    long ms = 0;
    if (len == 0) {
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9') {
            return;
        }
        int digit = value[i] - '0';
        if (ms > (LONG_MAX - digit) / 10) {
            return;
        }
        ms = ms * 10 + digit;
    }
    state->block_retry_ms = ms;
}

static void reference_dispatch(reference_state *state, fuzz_result *result)
{
    if (state->data.len > 1) {
        const char *type = state->type.len > 0 ? state->type.bytes : "message";
        size_t type_len = state->type.len > 0 ? state->type.len : strlen("message");
        add_event(
            result, type, type_len, state->data.bytes, state->data.len - 1,
            state->id.bytes ? state->id.bytes : "", state->id.len, state->block_retry_ms);
    }
    state->data.len = 0;
    set_string(&state->type, "", 0);
    state->block_retry_ms = -1;
    state->block_started = false;
}

/* Interprets one line. Returns false when its data exceeds the limit. */
static bool
reference_line(reference_state *state, const char *line, size_t len, fuzz_result *result)
{
    if (len == 0) {
        reference_dispatch(state, result);
        return true;
    }
    if (line[0] == ':') {
        return true;
    }
    state->block_started = true;
    size_t name_len = 0;
    while (name_len < len && line[name_len] != ':') {
        name_len++;
    }
    const char *value = line + len;
    size_t value_len = 0;
    if (name_len < len) {
        value = line + name_len + 1;
        value_len = len - name_len - 1;
        if (value_len > 0 && value[0] == ' ') {
            value++;
            value_len--;
        }
    }
    if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        return reference_add_data(state, value, value_len);
    }
    if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        set_string(&state->type, value, value_len);
    } else if (name_len == 2 && memcmp(line, "id", 2) == 0) {
        if (!memchr(value, '\0', value_len)) {
            set_string(&state->id, value, value_len);
        }
    } else if (name_len == 5 && memcmp(line, "retry", 5) == 0) {
        reference_retry(state, value, value_len);
    }
    return true;
}

static void
reference_parse(const char *stream, size_t len, size_t max_event_bytes, fuzz_result *result)
{
    reference_state state = { .max_event_bytes = max_event_bytes, .block_retry_ms = -1 };
    size_t max_line = max_event_bytes + FIELD_PREFIX_MAX;
    size_t pos = 0;
    result->status = HWAI_OK;
    result->max_event_bytes = max_event_bytes;
    if (len >= 3 && memcmp(stream, "\xEF\xBB\xBF", 3) == 0) {
        pos = 3;
    }
    while (pos < len) {
        size_t end = pos;
        while (end < len && stream[end] != '\r' && stream[end] != '\n') {
            end++;
        }
        if (end - pos > max_line) {
            result->status = HWAI_E_STREAM_EVENT_TOO_LARGE;
            break;
        }
        if (end == len) {
            /* The stream ends inside this line, so finish interprets it. */
            result->incomplete = true;
        }
        if (!reference_line(&state, stream + pos, end - pos, result)) {
            result->status = HWAI_E_STREAM_EVENT_TOO_LARGE;
            break;
        }
        pos = end + 1;
        if (end + 1 < len && stream[end] == '\r' && stream[end + 1] == '\n') {
            pos++;
        }
    }
    /* Only an error in the final partial line happens inside finish, which has
     * already reported the partial line by then. */
    if (result->status == HWAI_OK) {
        result->incomplete = result->incomplete || state.block_started;
        reference_dispatch(&state, result);
    }
    free(state.data.bytes);
    free(state.type.bytes);
    free(state.id.bytes);
}

/* Parses the stream incrementally in feeds whose sizes are drawn from
 * [1, max_feed], checking the bound on buffered bytes after every feed. */
static void parse_in_feeds(
    const char *stream, size_t len, size_t max_event_bytes, size_t max_feed, fuzz_result *result)
{
    hwai__sse_parser parser;
    assert_int_equal(hwai__sse_parser_init(&parser, max_event_bytes, NULL), HWAI_OK);
    result->status = HWAI_OK;
    result->max_event_bytes = max_event_bytes;
    size_t pos = 0;
    while (pos < len && result->status == HWAI_OK) {
        size_t n = 1 + random_below(max_feed);
        if (n > len - pos) {
            n = len - pos;
        }
        result->status = hwai__sse_feed(&parser, stream + pos, n, collect_event, result, NULL);
        pos += n;
        assert_true(parser.line.len <= max_event_bytes + FIELD_PREFIX_MAX);
        assert_true(parser.data.len <= max_event_bytes + 1);
    }
    if (result->status == HWAI_OK) {
        result->status =
            hwai__sse_finish(&result->incomplete, &parser, collect_event, result, NULL);
    }
    hwai__sse_parser_cleanup(&parser);
}

static void parse_whole(const char *stream, size_t len, size_t max_event_bytes, fuzz_result *result)
{
    hwai__sse_parser parser;
    assert_int_equal(hwai__sse_parser_init(&parser, max_event_bytes, NULL), HWAI_OK);
    result->max_event_bytes = max_event_bytes;
    result->status = hwai__sse_feed(&parser, stream, len, collect_event, result, NULL);
    if (result->status == HWAI_OK) {
        result->status =
            hwai__sse_finish(&result->incomplete, &parser, collect_event, result, NULL);
    }
    hwai__sse_parser_cleanup(&parser);
}

static bool strings_equal(const byte_string *a, const byte_string *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

static void assert_same_events(
    const fuzz_result *expected, const fuzz_result *got, size_t stream_index, const char *how)
{
    if (got->status != expected->status || got->incomplete != expected->incomplete) {
        fail_msg(
            "stream %zu parsed %s: status %d, incomplete %d; reference: status %d, "
            "incomplete %d",
            stream_index, how, (int)got->status, (int)got->incomplete, (int)expected->status,
            (int)expected->incomplete);
    }
    if (got->count != expected->count) {
        fail_msg(
            "stream %zu parsed %s: %zu events, reference: %zu", stream_index, how, got->count,
            expected->count);
    }
    for (size_t i = 0; i < got->count; i++) {
        const fuzz_event *a = &expected->events[i];
        const fuzz_event *b = &got->events[i];
        if (!strings_equal(&a->type, &b->type) || !strings_equal(&a->data, &b->data) ||
            !strings_equal(&a->id, &b->id) || a->retry_ms != b->retry_ms) {
            fail_msg("stream %zu parsed %s: event %zu differs", stream_index, how, i);
        }
    }
}

/* Field names for generated lines, weighted towards data. "" followed by a
 * colon makes a comment line. */
static const char *const field_names[] = {
    "data", "data", "data", "event", "id", "retry", "foo", "",
};
static const char *const value_pieces[] = {
    "x",
    " ",
    ":",
    "{\"a\":1}",
    "[DONE]",
    "1500",
    "0",
    "\xE4\xB8\xAD",
    "\xF0\x9F\x98\x80",
    "\xEF\xBB\xBF",
    "\xEF\xBB",
    "\r",
    "\n",
};
static const char *const line_ends[] = { "\n", "\n", "\r", "\r\n" };

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef struct stream_writer {
    char *bytes;
    size_t len;
    size_t capacity;
} stream_writer;

static void write_bytes(stream_writer *writer, const char *bytes, size_t len)
{
    if (len > writer->capacity - writer->len) {
        len = writer->capacity - writer->len;
    }
    memcpy(writer->bytes + writer->len, bytes, len);
    writer->len += len;
}

static void write_string(stream_writer *writer, const char *str)
{
    write_bytes(writer, str, strlen(str));
}

static void write_byte(stream_writer *writer, char byte)
{
    write_bytes(writer, &byte, 1);
}

/* Writes a field value of random pieces, random bytes, NUL and high bytes. The
 * pieces include CR and LF, which end the line early. */
static void write_value(stream_writer *writer)
{
    size_t count = random_below(12);
    for (size_t i = 0; i < count; i++) {
        size_t kind = random_below(100);
        if (kind < 70) {
            write_string(writer, value_pieces[random_below(ARRAY_LEN(value_pieces))]);
        } else if (kind < 80) {
            write_byte(writer, (char)(0x80 + random_below(0x80)));
        } else if (kind < 85) {
            write_byte(writer, '\0');
        } else {
            write_byte(writer, (char)random_below(256));
        }
    }
}

/* Writes one line: mostly field lines, with blank lines, comments, lines of
 * random bytes and, rarely, a long line that reaches the smaller size limits. */
static void write_line(stream_writer *writer)
{
    size_t kind = random_below(100);
    if (kind < 25) {
        /* Blank line: only the line end below. */
    } else if (kind < 80) {
        write_string(writer, field_names[random_below(ARRAY_LEN(field_names))]);
        if (random_below(10) > 0) {
            write_string(writer, random_below(2) ? ": " : ":");
        }
        write_value(writer);
    } else if (kind < 97) {
        size_t n = random_below(20);
        for (size_t i = 0; i < n; i++) {
            write_byte(writer, (char)random_below(256));
        }
    } else {
        write_string(writer, "data: ");
        for (size_t n = 1 + random_below(600); n > 0; n--) {
            write_byte(writer, 'a');
        }
    }
    write_string(writer, line_ends[random_below(ARRAY_LEN(line_ends))]);
}

/* Fills stream with random lines up to len bytes, cutting the last one if needed.
 * Returns the number of bytes written. */
static size_t generate_stream(char *stream, size_t len)
{
    stream_writer writer = { stream, 0, len };
    /* A byte order mark, or only the first bytes of one, at the very start. */
    size_t start = random_below(8);
    if (start < 2) {
        write_string(&writer, "\xEF\xBB\xBF");
    } else if (start == 2) {
        write_string(&writer, "\xEF\xBB");
    } else if (start == 3) {
        write_string(&writer, "\xEF");
    }
    while (writer.len < writer.capacity) {
        write_line(&writer);
    }
    return writer.len;
}

static void check_one_stream(const char *stream, size_t len, size_t index)
{
    static const size_t limits[] = { 32, 256, 1024, 65536 };
    size_t max_event_bytes = limits[index % (sizeof(limits) / sizeof(limits[0]))];

    fuzz_result reference = { 0 };
    reference_parse(stream, len, max_event_bytes, &reference);

    fuzz_result whole = { 0 };
    parse_whole(stream, len, max_event_bytes, &whole);
    assert_same_events(&reference, &whole, index, "whole");

    static const size_t max_feeds[] = { 1, 3, 17, 700 };
    for (size_t i = 0; i < sizeof(max_feeds) / sizeof(max_feeds[0]); i++) {
        fuzz_result split = { 0 };
        parse_in_feeds(stream, len, max_event_bytes, max_feeds[i], &split);
        assert_same_events(&reference, &split, index, "in random feeds");
        fuzz_result_cleanup(&split);
    }
    fuzz_result_cleanup(&whole);
    fuzz_result_cleanup(&reference);
}

/* Covers about 1.6 million random bytes: no crash, no event or buffer over the
 * limit, and the same events as the reference whether a stream arrives whole,
 * byte by byte or in random feed sizes. */
static void test_sse_fuzz_random_streams(void **state)
{
    (void)state;
    char *stream = malloc(STREAM_MAX_LEN);
    assert_non_null(stream);
    random_state = 0x9E3779B97F4A7C15u;
    size_t total = 0;
    for (size_t i = 0; i < STREAM_COUNT; i++) {
        size_t len = generate_stream(stream, 1 + random_below(STREAM_MAX_LEN));
        check_one_stream(stream, len, i);
        total += len;
    }
    assert_true(total > 1000000);
    free(stream);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_fuzz_random_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
