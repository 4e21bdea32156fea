/* Tests of the incremental server-sent events parser. Most streams are replayed
 * whole, split at every offset, split at every pair of offsets and one byte at a
 * time, and every replay must produce the same events. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwai/error.h"
#include "stream/sse.h"

#define KIB 1024u
#define DEFAULT_MAX_EVENT_BYTES (64u * KIB)
/* Streams shorter than this are also replayed split at every pair of offsets. */
#define PAIR_SPLIT_MAX_LEN 200u

/* Expected event. Strings may contain NUL, so each has a length. */
typedef struct expected_event {
    const char *type;
    size_t type_len;
    const char *data;
    size_t data_len;
    const char *id;
    size_t id_len;
    long retry_ms;
} expected_event;

#define LIT(s) s, sizeof(s) - 1
#define EVENT(type, data, id)             \
    {                                     \
        LIT(type), LIT(data), LIT(id), -1 \
    }
#define EVENT_RETRY(type, data, id, retry)   \
    {                                        \
        LIT(type), LIT(data), LIT(id), retry \
    }

/* Copy of a dispatched event, owned by the test. */
typedef struct collected_event {
    char *type;
    size_t type_len;
    char *data;
    size_t data_len;
    char *id;
    size_t id_len;
    long retry_ms;
} collected_event;

/* Outcome of parsing one stream: the events, the first status other than
 * HWAI_OK from feed or finish, and whether finish reported a partial event. */
typedef struct run_result {
    collected_event *events;
    size_t count;
    size_t capacity;
    hwai_status status;
    bool incomplete;
    /* Number of events after which the callback returns HWAI_E_CANCELLED, or 0
     * to never stop the parser. */
    size_t stop_after;
} run_result;

static char *copy_bytes(const char *bytes, size_t len)
{
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, bytes, len);
    copy[len] = '\0';
    return copy;
}

static hwai_status collect_event(const hwai__sse_event *event, void *user_data)
{
    run_result *result = user_data;

    /* Blocks with empty data dispatch nothing. */
    assert_true(event->data_len > 0);
    /* Every string the parser lends must be terminated, even with NUL inside. */
    assert_int_equal(event->type[event->type_len], '\0');
    assert_int_equal(event->data[event->data_len], '\0');
    assert_int_equal(event->id[event->id_len], '\0');

    if (result->count == result->capacity) {
        result->capacity = result->capacity ? result->capacity * 2 : 8;
        result->events = realloc(result->events, result->capacity * sizeof(*result->events));
        assert_non_null(result->events);
    }
    collected_event *copy = &result->events[result->count++];
    copy->type = copy_bytes(event->type, event->type_len);
    copy->type_len = event->type_len;
    copy->data = copy_bytes(event->data, event->data_len);
    copy->data_len = event->data_len;
    copy->id = copy_bytes(event->id, event->id_len);
    copy->id_len = event->id_len;
    copy->retry_ms = event->retry_ms;
    if (result->stop_after > 0 && result->count >= result->stop_after) {
        return HWAI_E_CANCELLED;
    }
    return HWAI_OK;
}

/* Feeds a string without NUL bytes, collecting the events into result. */
static hwai_status
feed_text(hwai__sse_parser *parser, const char *text, run_result *result, hwai_error **err)
{
    return hwai__sse_feed(parser, text, strlen(text), collect_event, result, err);
}

static void run_result_cleanup(run_result *result)
{
    for (size_t i = 0; i < result->count; i++) {
        free(result->events[i].type);
        free(result->events[i].data);
        free(result->events[i].id);
    }
    free(result->events);
    memset(result, 0, sizeof(*result));
}

/* Parses the chunks in order, then finishes the stream unless a feed failed. */
static void run_chunks(
    const char *const *chunks,
    const size_t *lens,
    size_t count,
    size_t max_event_bytes,
    run_result *result)
{
    hwai__sse_parser parser;
    assert_int_equal(hwai__sse_parser_init(&parser, max_event_bytes, NULL), HWAI_OK);
    result->status = HWAI_OK;
    for (size_t i = 0; i < count && result->status == HWAI_OK; i++) {
        result->status = hwai__sse_feed(&parser, chunks[i], lens[i], collect_event, result, NULL);
    }
    if (result->status == HWAI_OK) {
        result->status =
            hwai__sse_finish(&result->incomplete, &parser, collect_event, result, NULL);
    }
    hwai__sse_parser_cleanup(&parser);
}

/* Parses stream cut at the given ascending offsets. */
static void run_cuts(
    const char *stream,
    size_t len,
    const size_t *cuts,
    size_t cut_count,
    size_t max_event_bytes,
    run_result *result)
{
    const char *chunks[8];
    size_t lens[8];
    size_t start = 0;
    assert_true(cut_count < 8);
    for (size_t i = 0; i <= cut_count; i++) {
        size_t end = i < cut_count ? cuts[i] : len;
        chunks[i] = stream + start;
        lens[i] = end - start;
        start = end;
    }
    run_chunks(chunks, lens, cut_count + 1, max_event_bytes, result);
}

static void run_whole(const char *stream, size_t len, size_t max_event_bytes, run_result *result)
{
    run_cuts(stream, len, NULL, 0, max_event_bytes, result);
}

static void run_bytewise(const char *stream, size_t len, size_t max_event_bytes, run_result *result)
{
    hwai__sse_parser parser;
    assert_int_equal(hwai__sse_parser_init(&parser, max_event_bytes, NULL), HWAI_OK);
    result->status = HWAI_OK;
    for (size_t i = 0; i < len && result->status == HWAI_OK; i++) {
        result->status = hwai__sse_feed(&parser, stream + i, 1, collect_event, result, NULL);
    }
    if (result->status == HWAI_OK) {
        result->status =
            hwai__sse_finish(&result->incomplete, &parser, collect_event, result, NULL);
    }
    hwai__sse_parser_cleanup(&parser);
}

static bool bytes_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a_len == b_len && memcmp(a, b, a_len) == 0;
}

static bool same_result(const run_result *a, const run_result *b)
{
    if (a->status != b->status || a->incomplete != b->incomplete || a->count != b->count) {
        return false;
    }
    for (size_t i = 0; i < a->count; i++) {
        const collected_event *x = &a->events[i];
        const collected_event *y = &b->events[i];
        if (!bytes_equal(x->type, x->type_len, y->type, y->type_len) ||
            !bytes_equal(x->data, x->data_len, y->data, y->data_len) ||
            !bytes_equal(x->id, x->id_len, y->id, y->id_len) || x->retry_ms != y->retry_ms) {
            return false;
        }
    }
    return true;
}

static void assert_field(
    size_t index,
    const char *field,
    const char *got,
    size_t got_len,
    const char *want,
    size_t want_len)
{
    if (!bytes_equal(got, got_len, want, want_len)) {
        fail_msg(
            "event %zu: %s is \"%.*s\" (%zu bytes), expected \"%.*s\" (%zu bytes)", index, field,
            (int)got_len, got, got_len, (int)want_len, want, want_len);
    }
}

static void
assert_events(const run_result *result, const expected_event *expected, size_t expected_count)
{
    assert_int_equal(result->count, expected_count);
    for (size_t i = 0; i < expected_count; i++) {
        const collected_event *got = &result->events[i];
        const expected_event *want = &expected[i];
        assert_field(i, "type", got->type, got->type_len, want->type, want->type_len);
        assert_field(i, "data", got->data, got->data_len, want->data, want->data_len);
        assert_field(i, "id", got->id, got->id_len, want->id, want->id_len);
        if (got->retry_ms != want->retry_ms) {
            fail_msg("event %zu: retry is %ld, expected %ld", i, got->retry_ms, want->retry_ms);
        }
    }
}

static void assert_same_as_whole(
    const run_result *whole, const run_result *split, const char *how, size_t at1, size_t at2)
{
    if (!same_result(whole, split)) {
        fail_msg(
            "split %s (offsets %zu, %zu): %zu events with status %d, "
            "whole stream: %zu events with status %d",
            how, at1, at2, split->count, (int)split->status, whole->count, (int)whole->status);
    }
}

/* Replays the stream split in every way the file header lists and compares
 * each replay with the whole-stream result. */
static void assert_split_invariant(
    const char *stream, size_t len, size_t max_event_bytes, const run_result *whole)
{
    for (size_t cut = 0; cut <= len; cut++) {
        run_result split = { 0 };
        run_cuts(stream, len, &cut, 1, max_event_bytes, &split);
        assert_same_as_whole(whole, &split, "in two", cut, cut);
        run_result_cleanup(&split);
    }
    if (len < PAIR_SPLIT_MAX_LEN) {
        for (size_t first = 0; first <= len; first++) {
            for (size_t second = first; second <= len; second++) {
                size_t cuts[2] = { first, second };
                run_result split = { 0 };
                run_cuts(stream, len, cuts, 2, max_event_bytes, &split);
                assert_same_as_whole(whole, &split, "in three", first, second);
                run_result_cleanup(&split);
            }
        }
    }
    run_result bytewise = { 0 };
    run_bytewise(stream, len, max_event_bytes, &bytewise);
    assert_same_as_whole(whole, &bytewise, "byte by byte", 0, 0);
    run_result_cleanup(&bytewise);
}

/* Checks the events of a stream in every replay. The whole-stream result goes to
 * whole for further checks, and the caller cleans it up. */
static void check_stream_limit(
    const char *stream,
    size_t len,
    size_t max_event_bytes,
    const expected_event *expected,
    size_t expected_count,
    run_result *whole)
{
    run_whole(stream, len, max_event_bytes, whole);
    assert_events(whole, expected, expected_count);
    assert_split_invariant(stream, len, max_event_bytes, whole);
}

static void check_stream(
    const char *stream,
    size_t len,
    const expected_event *expected,
    size_t expected_count,
    run_result *whole)
{
    check_stream_limit(stream, len, DEFAULT_MAX_EVENT_BYTES, expected, expected_count, whole);
}

#define CHECK_OK(stream, expected)                                                            \
    do {                                                                                      \
        run_result whole_ = { 0 };                                                            \
        check_stream(LIT(stream), expected, sizeof(expected) / sizeof(expected[0]), &whole_); \
        assert_int_equal(whole_.status, HWAI_OK);                                             \
        run_result_cleanup(&whole_);                                                          \
    } while (0)

#define CHECK_NO_EVENTS(stream)                      \
    do {                                             \
        run_result whole_ = { 0 };                   \
        check_stream(LIT(stream), NULL, 0, &whole_); \
        assert_int_equal(whole_.status, HWAI_OK);    \
        run_result_cleanup(&whole_);                 \
    } while (0)

/* One event split over several chunks, including the blank line and the field
 * name. The replays cover every other split position. */
static void test_sse_event_split_over_chunks(void **state)
{
    (void)state;
    const char *chunks[] = {
        "data: {\"choices\":[{\"delta\":{\"content\":\"Hel",
        "lo\"}}]}\n",
        "\n",
        "da",
        "ta: {\"choices\":[{\"delta\":{\"content\":\" world\"},\"finish_reason\":\"stop\"}]}"
        "\n\ndata: [DONE]\n\n",
    };
    const expected_event expected[] = {
        EVENT("message", "{\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}", ""),
        EVENT(
            "message",
            "{\"choices\":[{\"delta\":{\"content\":\" world\"},\"finish_reason\":\"stop\"}]}", ""),
        EVENT("message", "[DONE]", ""),
    };
    size_t lens[5];
    char joined[512];
    size_t joined_len = 0;
    for (size_t i = 0; i < 5; i++) {
        lens[i] = strlen(chunks[i]);
        assert_true(joined_len + lens[i] <= sizeof(joined));
        memcpy(joined + joined_len, chunks[i], lens[i]);
        joined_len += lens[i];
    }

    run_result as_sent = { 0 };
    run_chunks(chunks, lens, 5, DEFAULT_MAX_EVENT_BYTES, &as_sent);
    assert_int_equal(as_sent.status, HWAI_OK);
    assert_false(as_sent.incomplete);
    assert_events(&as_sent, expected, 3);
    run_result_cleanup(&as_sent);

    run_result whole = { 0 };
    check_stream(joined, joined_len, expected, 3, &whole);
    run_result_cleanup(&whole);
}

/* A 100 KiB event delivered in 1 KiB chunks arrives whole: no fixed-size line
 * buffer truncates it. */
static void test_sse_large_event_in_small_chunks(void **state)
{
    (void)state;
    size_t payload_len = 100 * KIB;
    size_t stream_len = strlen("data: ") + payload_len + strlen("\n\n");
    char *stream = malloc(stream_len);
    assert_non_null(stream);
    memcpy(stream, "data: ", 6);
    for (size_t i = 0; i < payload_len; i++) {
        stream[6 + i] = (char)('a' + i % 26);
    }
    memcpy(stream + 6 + payload_len, "\n\n", 2);

    hwai__sse_parser parser;
    run_result result = { 0 };
    assert_int_equal(hwai__sse_parser_init(&parser, 1024 * KIB, NULL), HWAI_OK);
    for (size_t off = 0; off < stream_len; off += KIB) {
        size_t n = stream_len - off < KIB ? stream_len - off : KIB;
        assert_int_equal(
            hwai__sse_feed(&parser, stream + off, n, collect_event, &result, NULL), HWAI_OK);
        /* The event must arrive as soon as the blank line does, not at finish. */
        if (off + n < stream_len) {
            assert_int_equal(result.count, 0);
        }
    }
    assert_int_equal(result.count, 1);
    assert_int_equal(result.events[0].data_len, payload_len);
    assert_memory_equal(result.events[0].data, stream + 6, payload_len);
    bool incomplete = true;
    assert_int_equal(hwai__sse_finish(&incomplete, &parser, collect_event, &result, NULL), HWAI_OK);
    assert_false(incomplete);
    assert_int_equal(result.count, 1);
    hwai__sse_parser_cleanup(&parser);
    run_result_cleanup(&result);
    free(stream);
}

/* Covers: `data:` with no space, `data:  x` keeping the second space, `data`
 * without a colon (an empty data field, so nothing is dispatched), `data:[DONE]`,
 * and `data: ` with one space before an empty value. */
static void test_sse_data_without_space(void **state)
{
    (void)state;
    const expected_event no_space[] = {
        EVENT("message", "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}", ""),
    };
    CHECK_OK("data:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", no_space);

    const expected_event one_space_removed[] = { EVENT("message", " x", "") };
    CHECK_OK("event:message\ndata:  x\n\n", one_space_removed);

    CHECK_NO_EVENTS("data\n\n");
    CHECK_NO_EVENTS("data:\n\n");
    CHECK_NO_EVENTS("data: \n\n");

    const expected_event done[] = { EVENT("message", "[DONE]", "") };
    CHECK_OK("data:[DONE]\n\n", done);

    const expected_event all_four[] = {
        EVENT("message", "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}", ""),
        EVENT("message", " x", ""),
        EVENT("message", "[DONE]", ""),
    };
    CHECK_OK(
        "data:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
        "event:message\ndata:  x\n\n"
        "data\n\n"
        "data:[DONE]\n\n",
        all_four);
}

/* Covers: `: ping` and bare `:` comments followed by blank lines, an
 * `event: ping` block with empty data, and the last event id `1` carried past
 * all of them to the next event. */
static void test_sse_comments_and_empty_blocks(void **state)
{
    (void)state;
    const expected_event expected[] = {
        EVENT("message", "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}", "1"),
        EVENT("message", "{\"choices\":[{\"delta\":{\"content\":\"b\"}}]}", "1"),
        EVENT("message", "[DONE]", "1"),
    };
    CHECK_OK(
        "id: 1\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
        ": ping\n\n"
        ":\n\n"
        "event: ping\ndata: \n\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]\n\n",
        expected);

    /* A comment inside a block neither ends it nor adds to its data. */
    const expected_event inside[] = { EVENT("message", "a\nb", "") };
    CHECK_OK("data: a\n: ping - 2\ndata: b\n\n", inside);

    CHECK_NO_EVENTS(": ping\n\n:\n\n: ping - 2\n\n");
    CHECK_NO_EVENTS("\n\n\n\r\n\r\r");
}

/* The event type of a block whose data is empty does not leak into the next
 * block, just as after a dispatched event. */
static void test_sse_event_type_resets(void **state)
{
    (void)state;
    const expected_event expected[] = {
        EVENT("message", "after empty block", ""),
        EVENT("delta", "typed", ""),
        EVENT("message", "after typed event", ""),
        EVENT("message", "empty event field", ""),
    };
    CHECK_OK(
        "event: ping\ndata:\n\n"
        "data: after empty block\n\n"
        "event: delta\ndata: typed\n\n"
        "data: after typed event\n\n"
        "event:\ndata: empty event field\n\n",
        expected);
}

/* Covers the three stream ends with a complete final event (blank line, single
 * LF, no newline), which all dispatch it, and the two truncated ones (a complete
 * event only, a partial line). */
static void test_sse_end_of_stream(void **state)
{
    (void)state;
    const char *delta_x = "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}";
    const char *stop = "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}";
    const expected_event two_events[] = {
        EVENT("message", "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}", ""),
        EVENT("message", "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}", ""),
    };
    const char *endings[] = { "\n\n", "\n", "" };
    for (size_t i = 0; i < 3; i++) {
        char stream[256];
        snprintf(stream, sizeof(stream), "data: %s\n\ndata: %s%s", delta_x, stop, endings[i]);
        print_message("stream ending with %zu line ends\n", strlen(endings[i]));
        run_result whole = { 0 };
        check_stream(stream, strlen(stream), two_events, 2, &whole);
        assert_int_equal(whole.status, HWAI_OK);
        /* Without the closing blank line, finish reports the block as incomplete. */
        assert_int_equal(whole.incomplete, i != 0);
        run_result_cleanup(&whole);
    }

    run_result complete_only = { 0 };
    check_stream(
        LIT("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"), two_events, 1,
        &complete_only);
    assert_int_equal(complete_only.status, HWAI_OK);
    assert_false(complete_only.incomplete);
    run_result_cleanup(&complete_only);

    const expected_event partial[] = { EVENT("message", "{\"choices\":[{\"del", "") };
    run_result partial_line = { 0 };
    check_stream(LIT("data: {\"choices\":[{\"del"), partial, 1, &partial_line);
    assert_int_equal(partial_line.status, HWAI_OK);
    assert_true(partial_line.incomplete);
    run_result_cleanup(&partial_line);
}

/* An event that the finish call dispatches still carries the id and retry of
 * its block. */
static void test_sse_finish_keeps_fields(void **state)
{
    (void)state;
    const expected_event expected[] = { EVENT_RETRY("done", "last", "7", 1500) };
    run_result whole = { 0 };
    check_stream(LIT("id: 7\nevent: done\nretry: 1500\ndata: last"), expected, 1, &whole);
    assert_true(whole.incomplete);
    run_result_cleanup(&whole);

    /* Fields without data leave nothing to dispatch, but the block was cut. */
    run_result no_data = { 0 };
    check_stream(LIT("event: done\n"), NULL, 0, &no_data);
    assert_true(no_data.incomplete);
    run_result_cleanup(&no_data);
}

static void test_sse_partial_state_queries(void **state)
{
    (void)state;
    hwai__sse_parser parser;
    run_result result = { 0 };
    assert_int_equal(hwai__sse_parser_init(&parser, DEFAULT_MAX_EVENT_BYTES, NULL), HWAI_OK);
    assert_false(hwai__sse_parser_has_partial_line(&parser));
    assert_false(hwai__sse_parser_has_partial_event(&parser));

    assert_int_equal(feed_text(&parser, "da", &result, NULL), HWAI_OK);
    assert_true(hwai__sse_parser_has_partial_line(&parser));
    assert_true(hwai__sse_parser_has_partial_event(&parser));

    assert_int_equal(feed_text(&parser, "ta: x\n", &result, NULL), HWAI_OK);
    assert_false(hwai__sse_parser_has_partial_line(&parser));
    assert_true(hwai__sse_parser_has_partial_event(&parser));

    /* A CR whose LF may still come is a complete line end. */
    assert_int_equal(feed_text(&parser, "\r", &result, NULL), HWAI_OK);
    assert_int_equal(result.count, 1);
    assert_false(hwai__sse_parser_has_partial_line(&parser));
    assert_false(hwai__sse_parser_has_partial_event(&parser));

    assert_int_equal(feed_text(&parser, ": ping\n", &result, NULL), HWAI_OK);
    assert_false(hwai__sse_parser_has_partial_event(&parser));

    bool incomplete = true;
    assert_int_equal(hwai__sse_finish(&incomplete, &parser, collect_event, &result, NULL), HWAI_OK);
    assert_false(incomplete);
    hwai__sse_parser_cleanup(&parser);
    run_result_cleanup(&result);
}

/* Covers LF, CR and CRLF line ends, mixed in one stream, blank lines made of
 * each, and CR followed by LF as two line ends only when a line is between. */
static void test_sse_line_ends(void **state)
{
    (void)state;
    const expected_event two[] = { EVENT("message", "a\nb", ""), EVENT("message", "c", "") };
    CHECK_OK("data: a\ndata: b\n\ndata: c\n\n", two);
    CHECK_OK("data: a\rdata: b\r\rdata: c\r\r", two);
    CHECK_OK("data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n", two);
    CHECK_OK("data: a\rdata: b\n\r\ndata: c\r\n\r", two);
    const expected_event three_lines[] = { EVENT("message", "a\nb\nc", "") };
    CHECK_OK("data: a\r\ndata: b\r\ndata: c\n\n", three_lines);

    /* "\n\r" is two line ends, so it dispatches. "\r\n" is one, so it does not. */
    const expected_event lf_cr[] = { EVENT("message", "a", ""), EVENT("message", "b", "") };
    CHECK_OK("data: a\n\rdata: b\r\n\r\n", lf_cr);
    const expected_event crlf_once[] = { EVENT("message", "a\nb", "") };
    CHECK_OK("data: a\r\ndata: b\r\n\r\n", crlf_once);
}

/* A CR at the end of one feed and an LF at the start of the next are exactly
 * one line end, even when empty feeds come between them. */
static void test_sse_crlf_across_feeds(void **state)
{
    (void)state;
    const char *chunks[] = { "data: a\r", "", "\ndata: b\r", "\n\r", "", "\n" };
    size_t lens[6];
    for (size_t i = 0; i < 6; i++) {
        lens[i] = strlen(chunks[i]);
    }
    run_result result = { 0 };
    run_chunks(chunks, lens, 6, DEFAULT_MAX_EVENT_BYTES, &result);
    const expected_event expected[] = { EVENT("message", "a\nb", "") };
    assert_int_equal(result.status, HWAI_OK);
    assert_false(result.incomplete);
    assert_events(&result, expected, 1);
    run_result_cleanup(&result);

    /* A CR ends the line at once: the event is dispatched before the LF comes. */
    hwai__sse_parser parser;
    assert_int_equal(hwai__sse_parser_init(&parser, DEFAULT_MAX_EVENT_BYTES, NULL), HWAI_OK);
    assert_int_equal(feed_text(&parser, "data: a\r\r", &result, NULL), HWAI_OK);
    assert_int_equal(result.count, 1);
    assert_int_equal(feed_text(&parser, "\ndata: b\n\n", &result, NULL), HWAI_OK);
    assert_int_equal(result.count, 2);
    hwai__sse_parser_cleanup(&parser);
    run_result_cleanup(&result);
}

/* Covers a byte order mark at the start, which is skipped even when the replays
 * split it, and a second one, which is kept and makes an unknown field name.
 * Also covers a stream that starts with only part of one, and one inside data. */
static void test_sse_byte_order_mark(void **state)
{
    (void)state;
    const expected_event one[] = { EVENT("message", "x", "") };
    CHECK_OK(
        "\xEF\xBB\xBF"
        "data: x\n\n",
        one);
    CHECK_OK(
        "\xEF\xBB\xBF\xEF\xBB\xBF"
        "data: y\n\ndata: x\n\n",
        one);
    CHECK_NO_EVENTS("\xEF\xBB\xBF");
    CHECK_NO_EVENTS("\xEF\xBB");

    /* Bytes that only begin like a byte order mark belong to the first line. */
    const expected_event partial[] = { EVENT("\xEF\xBB", "x", "") };
    CHECK_OK("event: \xEF\xBB\ndata: x\n\n", partial);
    CHECK_NO_EVENTS("\xEF\xBB"
                    "data: x\n\n");
    CHECK_NO_EVENTS("\xEF"
                    "data: x\n\n");
    const expected_event blank_first[] = { EVENT("message", "x", "") };
    CHECK_OK("\xEF\xBB\xBF\ndata: x\n\n", blank_first);

    const expected_event in_data[] = { EVENT("message", "\xEF\xBB\xBFx", "") };
    CHECK_OK("data: \xEF\xBB\xBFx\n\n", in_data);

    run_result cut = { 0 };
    check_stream(LIT("\xEF\xBB"), NULL, 0, &cut);
    assert_true(cut.incomplete);
    run_result_cleanup(&cut);
}

/* Multi-byte UTF-8 characters (Chinese, an emoji) pass through byte for byte,
 * whichever byte of the character a split falls on. */
static void test_sse_utf8_split_inside_character(void **state)
{
    (void)state;
    const expected_event expected[] = {
        EVENT("回答", "你好，世界 😀", "编号-1"),
        EVENT("message", "😀😀\n中", "编号-1"),
    };
    CHECK_OK(
        "event: 回答\nid: 编号-1\ndata: 你好，世界 😀\n\n"
        "data: 😀😀\ndata: 中\n\n",
        expected);

    /* Invalid UTF-8 is not repaired or rejected either. */
    const expected_event invalid[] = { EVENT("message", "\xFF\xC0\x80\xE4\xB8", "") };
    CHECK_OK("data: \xFF\xC0\x80\xE4\xB8\n\n", invalid);
}

static void test_sse_nul_bytes_in_data(void **state)
{
    (void)state;
    const expected_event expected[] = {
        EVENT("message", "a\0b\n\0", ""),
        EVENT("t\0u", "\0", ""),
    };
    CHECK_OK("data: a\0b\ndata: \0\n\nevent: t\0u\ndata:\0\n\n", expected);
}

/* Covers valid retry values (reported with the block that set them, and as the
 * stream's last value) and invalid ones: empty, signed, spaced, fractional,
 * and too large for a long. */
static void test_sse_retry_field(void **state)
{
    (void)state;
    const expected_event expected[] = {
        EVENT_RETRY("message", "a", "", 3000),
        EVENT("message", "b", ""),
        EVENT_RETRY("message", "c", "", 0),
        EVENT_RETRY("message", "d", "", 25),
        EVENT("message", "e", ""),
    };
    CHECK_OK(
        "retry: 3000\ndata: a\n\n"
        "data: b\n\n"
        "retry:0\ndata: c\n\n"
        "retry: 25\nretry: x\ndata: d\n\n"
        "retry:\nretry: -1\nretry: +5\nretry:  7\nretry: 1.5\nretry: 12 \n"
        "retry: 99999999999999999999999999\ndata: e\n\n",
        expected);

    hwai__sse_parser parser;
    run_result result = { 0 };
    assert_int_equal(hwai__sse_parser_init(&parser, DEFAULT_MAX_EVENT_BYTES, NULL), HWAI_OK);
    assert_int_equal(hwai__sse_parser_retry_ms(&parser), -1);
    /* A block without data dispatches nothing but still sets the retry time. */
    assert_int_equal(feed_text(&parser, "retry: 4500\n\nretry: no\n\n", &result, NULL), HWAI_OK);
    assert_int_equal(result.count, 0);
    assert_int_equal(hwai__sse_parser_retry_ms(&parser), 4500);
    hwai__sse_parser_cleanup(&parser);
    run_result_cleanup(&result);
}

/* Covers an id that persists across events, one that is replaced, an empty id
 * that clears it, and an id containing NUL, which is ignored. */
static void test_sse_id_field(void **state)
{
    (void)state;
    const expected_event expected[] = {
        EVENT("message", "a", ""),  EVENT("message", "b", "1"), EVENT("message", "c", "1"),
        EVENT("message", "d", "2"), EVENT("message", "e", "2"), EVENT("message", "f", ""),
    };
    CHECK_OK(
        "data: a\n\n"
        "id: 1\ndata: b\n\n"
        "data: c\n\n"
        "id:2\ndata: d\n\n"
        "id: 3\0x\ndata: e\n\n"
        "id\ndata: f\n\n",
        expected);

    hwai__sse_parser parser;
    run_result result = { 0 };
    size_t id_len = 99;
    assert_int_equal(hwai__sse_parser_init(&parser, DEFAULT_MAX_EVENT_BYTES, NULL), HWAI_OK);
    assert_string_equal(hwai__sse_parser_last_event_id(&parser, &id_len), "");
    assert_int_equal(id_len, 0);
    /* The id of a block that dispatches nothing still becomes the last event id. */
    assert_int_equal(feed_text(&parser, "id: 42\n\n", &result, NULL), HWAI_OK);
    assert_string_equal(hwai__sse_parser_last_event_id(&parser, &id_len), "42");
    assert_int_equal(id_len, 2);
    hwai__sse_parser_cleanup(&parser);
    run_result_cleanup(&result);
}

/* Covers unknown fields, field names that differ only by case or a space, and
 * data lines joined with LF (including empty ones). */
static void test_sse_fields(void **state)
{
    (void)state;
    const expected_event expected[] = {
        EVENT("message", "kept", ""),
        EVENT("message", "\n", ""),
        EVENT("message", "a\n\nb", ""),
        EVENT("message", "x: y:z", ""),
    };
    CHECK_OK(
        "foo: bar\nDATA: upper\ndata : spaced\nEvent: t\ndata: kept\n\n"
        "data\ndata\n\n"
        "data: a\ndata\ndata: b\n\n"
        "data: x: y:z\n\n",
        expected);
}

static hwai_error *
run_capped(const char *stream, size_t len, size_t max_event_bytes, run_result *result)
{
    hwai__sse_parser parser;
    hwai_error *err = NULL;
    assert_int_equal(hwai__sse_parser_init(&parser, max_event_bytes, NULL), HWAI_OK);
    result->status = hwai__sse_feed(&parser, stream, len, collect_event, result, &err);
    if (result->status == HWAI_OK) {
        result->status =
            hwai__sse_finish(&result->incomplete, &parser, collect_event, result, &err);
    }
    hwai__sse_parser_cleanup(&parser);
    return err;
}

/* Covers data of exactly the limit in one line and in several, a type of
 * exactly the limit, and data one byte over the limit in one line and in
 * several. The error message names the limit. */
static void test_sse_size_limit_boundary(void **state)
{
    (void)state;
    const expected_event at_limit[] = {
        EVENT("message", "0123456789", ""),
        EVENT("message", "0123\n5678\n", ""),
        EVENT_RETRY("0123456789", "ab", "", 1),
    };
    run_result whole = { 0 };
    check_stream_limit(
        LIT("data: 0123456789\n\n"
            "data: 0123\ndata: 5678\ndata\n\n"
            "retry: 1\nevent: 0123456789\ndata: ab\n\n"),
        10, at_limit, 3, &whole);
    assert_int_equal(whole.status, HWAI_OK);
    run_result_cleanup(&whole);

    run_result one_line = { 0 };
    hwai_error *err = run_capped(LIT("data: a\n\ndata: 0123456789A\n\n"), 10, &one_line);
    assert_int_equal(one_line.status, HWAI_E_STREAM_EVENT_TOO_LARGE);
    assert_int_equal(one_line.count, 1);
    assert_non_null(strstr(hwai_error_message(err), "10 bytes"));
    hwai_error_free(err);
    run_result_cleanup(&one_line);

    run_result many_lines = { 0 };
    err = run_capped(LIT("data: 01234\ndata: 01234\n\n"), 10, &many_lines);
    assert_int_equal(many_lines.status, HWAI_E_STREAM_EVENT_TOO_LARGE);
    assert_int_equal(many_lines.count, 0);
    assert_non_null(strstr(hwai_error_message(err), "10 bytes"));
    hwai_error_free(err);
    run_result_cleanup(&many_lines);

    /* The partial line that finish interprets is held to the same limit, and
     * finish still reports it as incomplete. */
    run_result at_finish = { 0 };
    err = run_capped(LIT("data: 0123456789A"), 10, &at_finish);
    assert_int_equal(at_finish.status, HWAI_E_STREAM_EVENT_TOO_LARGE);
    assert_true(at_finish.incomplete);
    assert_int_equal(at_finish.count, 0);
    hwai_error_free(err);
    run_result_cleanup(&at_finish);
}

static void test_sse_size_limit_split_invariant(void **state)
{
    (void)state;
    /* The error and the events before it are the same wherever the stream splits. */
    const char *streams[] = {
        "data: a\n\ndata: 0123456789A\n\ndata: b\n\n",
        "data: a\n\ndata: 01234\ndata: 012345\n\n",
        "data: a\n\nevent: 0123456789ABCDEFG\ndata: b\n\n",
        "data: a\n\n: 0123456789ABCDEFGHIJ",
    };
    for (size_t i = 0; i < 4; i++) {
        run_result whole = { 0 };
        run_whole(streams[i], strlen(streams[i]), 10, &whole);
        print_message("stream %zu\n", i);
        assert_int_equal(whole.status, HWAI_E_STREAM_EVENT_TOO_LARGE);
        assert_int_equal(whole.count, 1);
        assert_split_invariant(streams[i], strlen(streams[i]), 10, &whole);
        run_result_cleanup(&whole);
    }
}

/* One long line without a line end fails while it arrives, before the parser
 * buffers more than the limit. */
static void test_sse_size_limit_long_line(void **state)
{
    (void)state;
    size_t limit = 4 * KIB;
    char chunk[KIB];
    memset(chunk, 'x', sizeof(chunk));
    memcpy(chunk, "data: ", 6);

    hwai__sse_parser parser;
    run_result result = { 0 };
    hwai_error *err = NULL;
    hwai_status status = HWAI_OK;
    size_t fed = 0;
    assert_int_equal(hwai__sse_parser_init(&parser, limit, NULL), HWAI_OK);
    while (status == HWAI_OK && fed < 64 * limit) {
        status = hwai__sse_feed(&parser, chunk, sizeof(chunk), collect_event, &result, &err);
        fed += sizeof(chunk);
        assert_true(parser.line.len <= limit + strlen("retry: "));
        memset(chunk, 'x', 6);
    }
    assert_int_equal(status, HWAI_E_STREAM_EVENT_TOO_LARGE);
    assert_true(fed <= limit + sizeof(chunk));
    assert_int_equal(hwai_error_status(err), HWAI_E_STREAM_EVENT_TOO_LARGE);
    assert_non_null(strstr(hwai_error_message(err), "4096 bytes"));
    assert_int_equal(result.count, 0);
    hwai_error_free(err);
    hwai__sse_parser_cleanup(&parser);
    run_result_cleanup(&result);
}

/* The buffers keep their memory from one event to the next, so a steady stream
 * of similar events allocates nothing after the first. */
static void test_sse_buffers_reused(void **state)
{
    (void)state;
    hwai__sse_parser parser;
    run_result result = { 0 };
    const char *event = "event: delta\nid: 5\ndata: {\"a\":1}\ndata: {\"b\":2}\n\n";
    assert_int_equal(hwai__sse_parser_init(&parser, DEFAULT_MAX_EVENT_BYTES, NULL), HWAI_OK);
    size_t event_len = strlen(event);
    /* The first feed ends mid-line so that the line buffer is used too. */
    hwai_status status =
        hwai__sse_feed(&parser, event, event_len - 5, collect_event, &result, NULL);
    assert_int_equal(status, HWAI_OK);
    status = hwai__sse_feed(&parser, event + event_len - 5, 5, collect_event, &result, NULL);
    assert_int_equal(status, HWAI_OK);
    const char *data = parser.data.data;
    const char *type = parser.type.data;
    const char *id = parser.last_id.data;
    const char *line = parser.line.data;
    assert_non_null(line);
    for (int i = 0; i < 1000; i++) {
        size_t cut = (size_t)i % event_len;
        status = hwai__sse_feed(&parser, event, cut, collect_event, &result, NULL);
        assert_int_equal(status, HWAI_OK);
        status =
            hwai__sse_feed(&parser, event + cut, event_len - cut, collect_event, &result, NULL);
        assert_int_equal(status, HWAI_OK);
    }
    assert_int_equal(result.count, 1001);
    assert_ptr_equal(parser.data.data, data);
    assert_ptr_equal(parser.type.data, type);
    assert_ptr_equal(parser.last_id.data, id);
    assert_ptr_equal(parser.line.data, line);
    hwai__sse_parser_cleanup(&parser);
    run_result_cleanup(&result);
}

/* A callback status other than HWAI_OK stops the feed at once, is returned
 * unchanged, and is returned again by later calls. */
static void test_sse_callback_stops_parser(void **state)
{
    (void)state;
    hwai__sse_parser parser;
    run_result result = { .stop_after = 1 };
    hwai_error *err = NULL;
    assert_int_equal(hwai__sse_parser_init(&parser, DEFAULT_MAX_EVENT_BYTES, NULL), HWAI_OK);
    hwai_status status = feed_text(&parser, "data: a\n\ndata: b\n\n", &result, &err);
    assert_int_equal(status, HWAI_E_CANCELLED);
    assert_null(err);
    assert_int_equal(result.count, 1);

    assert_int_equal(feed_text(&parser, "data: c\n\n", &result, &err), HWAI_E_CANCELLED);
    assert_int_equal(result.count, 1);
    assert_non_null(strstr(hwai_error_message(err), "already stopped"));
    bool incomplete = false;
    status = hwai__sse_finish(&incomplete, &parser, collect_event, &result, NULL);
    assert_int_equal(status, HWAI_E_CANCELLED);
    hwai_error_free(err);
    hwai__sse_parser_cleanup(&parser);
    run_result_cleanup(&result);

    /* The same holds for an event that only finish dispatches. */
    run_result at_finish = { .stop_after = 1 };
    const char *chunks[] = { "data: a" };
    size_t lens[] = { strlen("data: a") };
    run_chunks(chunks, lens, 1, DEFAULT_MAX_EVENT_BYTES, &at_finish);
    assert_int_equal(at_finish.status, HWAI_E_CANCELLED);
    assert_int_equal(at_finish.count, 1);
    run_result_cleanup(&at_finish);
}

static void test_sse_invalid_arguments(void **state)
{
    (void)state;
    hwai__sse_parser parser;
    run_result result = { 0 };
    hwai_error *err = NULL;

    assert_int_equal(hwai__sse_parser_init(&parser, 0, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "max_event_bytes"));
    assert_int_equal(hwai__sse_parser_init(NULL, 10, &err), HWAI_E_INVALID_ARG);

    assert_int_equal(hwai__sse_parser_init(&parser, 10, NULL), HWAI_OK);
    hwai_status status = hwai__sse_feed(&parser, NULL, 0, collect_event, &result, &err);
    assert_int_equal(status, HWAI_OK);
    status = hwai__sse_feed(&parser, NULL, 3, collect_event, &result, &err);
    assert_int_equal(status, HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "bytes is NULL"));
    status = hwai__sse_feed(&parser, LIT("data: a\n"), NULL, &result, &err);
    assert_int_equal(status, HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "callback"));
    /* Argument errors leave the parser usable. */
    assert_int_equal(feed_text(&parser, "data: a\n", &result, &err), HWAI_OK);
    assert_int_equal(hwai__sse_finish(NULL, &parser, collect_event, &result, &err), HWAI_OK);
    assert_int_equal(result.count, 1);

    assert_int_equal(feed_text(&parser, "data: b\n\n", &result, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "already finished"));
    status = hwai__sse_finish(NULL, &parser, collect_event, &result, &err);
    assert_int_equal(status, HWAI_E_INVALID_ARG);
    assert_int_equal(result.count, 1);

    hwai_error_free(err);
    hwai__sse_parser_cleanup(&parser);
    hwai__sse_parser_cleanup(NULL);
    run_result_cleanup(&result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_event_split_over_chunks),
        cmocka_unit_test(test_sse_large_event_in_small_chunks),
        cmocka_unit_test(test_sse_data_without_space),
        cmocka_unit_test(test_sse_comments_and_empty_blocks),
        cmocka_unit_test(test_sse_event_type_resets),
        cmocka_unit_test(test_sse_end_of_stream),
        cmocka_unit_test(test_sse_finish_keeps_fields),
        cmocka_unit_test(test_sse_partial_state_queries),
        cmocka_unit_test(test_sse_line_ends),
        cmocka_unit_test(test_sse_crlf_across_feeds),
        cmocka_unit_test(test_sse_byte_order_mark),
        cmocka_unit_test(test_sse_utf8_split_inside_character),
        cmocka_unit_test(test_sse_nul_bytes_in_data),
        cmocka_unit_test(test_sse_retry_field),
        cmocka_unit_test(test_sse_id_field),
        cmocka_unit_test(test_sse_fields),
        cmocka_unit_test(test_sse_size_limit_boundary),
        cmocka_unit_test(test_sse_size_limit_split_invariant),
        cmocka_unit_test(test_sse_size_limit_long_line),
        cmocka_unit_test(test_sse_buffers_reused),
        cmocka_unit_test(test_sse_callback_stops_parser),
        cmocka_unit_test(test_sse_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
