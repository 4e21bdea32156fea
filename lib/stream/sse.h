/* Incremental parser for server-sent events (text/event-stream), following
 * "Parsing an event stream" and "Interpreting an event stream" in the WHATWG HTML
 * standard (sections 9.2.5 and 9.2.6 of html.spec.whatwg.org/server-sent-events.html).
 *
 * The parser never decodes or validates text. Bytes pass through unchanged, so a
 * UTF-8 character split between two reads arrives intact and NUL bytes in data are
 * kept. Every string comes with its length.
 *
 * One deliberate difference from the standard: a block whose only data line has
 * an empty value (`data`, `data:` or `data: `) dispatches nothing, where browsers
 * would dispatch an event with empty data. Services send such blocks as
 * keep-alives (`event: ping` with `data: `), and no JSON step can use them. */
#ifndef HWAI_STREAM_SSE_H
#define HWAI_STREAM_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "hwai/error.h"
#include "util/buf.h"

/* One dispatched event. The pointers are borrowed from the parser and stay valid
 * only during the callback. Each string is also followed by a NUL that its length
 * does not count. */
typedef struct hwai__sse_event {
    /* Value of the last `event` field of the block, or "message" when it was
     * missing or empty. */
    const char *type;
    size_t type_len;
    /* Values of the block's `data` fields, joined with LF. Never empty. */
    const char *data;
    size_t data_len;
    /* Last event id: the value of the most recent `id` field in the stream so far,
     * including earlier blocks. "" when no id was set. */
    const char *id;
    size_t id_len;
    /* Reconnection time in milliseconds from a valid `retry` field of this block,
     * or -1 when the block set none. */
    long retry_ms;
} hwai__sse_event;

/* Receives each complete event. Returning anything but HWAI_OK stops the parser,
 * and the feed or finish call returns that status without setting its error. */
typedef hwai_status (*hwai__sse_event_cb)(const hwai__sse_event *event, void *user_data);

/* Parser state, placed by the caller and managed with hwai__sse_parser_init and
 * hwai__sse_parser_cleanup. The fields are private to sse.c. */
typedef struct hwai__sse_parser {
    size_t max_event_bytes;
    size_t max_line_bytes;
    /* Start of a line whose line end has not arrived yet. */
    hwai__buf line;
    /* Values of the block's data fields, each followed by LF. */
    hwai__buf data;
    hwai__buf type;
    hwai__buf last_id;
    long block_retry_ms;
    long last_retry_ms;
    /* Number of leading bytes of the stream that match the UTF-8 byte order mark,
     * or 3 once the check is over. */
    unsigned char bom_state;
    /* The previous line ended with CR, so an LF that comes next ends nothing. */
    bool after_cr;
    /* A field line arrived since the last blank line. */
    bool block_started;
    /* HWAI_OK while running. Otherwise the status that stopped the parser. */
    hwai_status stop_status;
    /* hwai__sse_finish was called. */
    bool finished;
} hwai__sse_parser;

/* Prepares a parser for a new stream. max_event_bytes limits an event's joined
 * data. It also limits every line, with 7 extra bytes for a field name such as
 * "retry: ", so a value of exactly max_event_bytes fits on one line. Each of the
 * parser's four buffers therefore contains at most about one line, and none grows
 * with the length of the stream. Returns HWAI_E_INVALID_ARG when parser is NULL or
 * max_event_bytes is 0. */
HWAI_NODISCARD hwai_status
hwai__sse_parser_init(hwai__sse_parser *parser, size_t max_event_bytes, hwai_error **err);

/* Parses the next len bytes of the stream, calls callback for every event that
 * they complete and buffers the rest. bytes may be NULL when len is 0.
 *
 * Returns HWAI_E_STREAM_EVENT_TOO_LARGE when a line or an event's data exceeds the
 * limit, HWAI_E_NOMEM, or the first status other than HWAI_OK that callback
 * returns. Any of these stops the parser, and later calls return the same status
 * again. Returns HWAI_E_INVALID_ARG, leaving the parser unchanged, when parser or
 * callback is NULL, when bytes is NULL but len is not 0, and after finish. */
HWAI_NODISCARD hwai_status hwai__sse_feed(
    hwai__sse_parser *parser,
    const char *bytes,
    size_t len,
    hwai__sse_event_cb callback,
    void *user_data,
    hwai_error **err);

/* Ends the stream. A line without a line end is parsed as a complete line, and a
 * block with data but without its closing blank line is dispatched. When
 * out_incomplete is not NULL, it receives whether such a partial line or block
 * was pending, even when parsing it fails. The stream layer uses this to detect
 * truncation. Returns the same statuses as hwai__sse_feed, and later calls fail
 * in the same way as after hwai__sse_feed. */
HWAI_NODISCARD hwai_status hwai__sse_finish(
    bool *out_incomplete,
    hwai__sse_parser *parser,
    hwai__sse_event_cb callback,
    void *user_data,
    hwai_error **err);

/* Returns whether the parser contains the start of a line whose line end has not
 * arrived yet. */
bool hwai__sse_parser_has_partial_line(const hwai__sse_parser *parser);

/* Returns whether a field line or a partial line arrived since the last blank
 * line, which means that the stream would end inside an event block if it ended
 * now. A partial line counts even if it turns out to be a comment. */
bool hwai__sse_parser_has_partial_event(const hwai__sse_parser *parser);

/* Returns the last event id of the stream so far, or "" when none arrived. The
 * pointer is borrowed and may change with the next feed. When out_len is not
 * NULL, *out_len receives the id's length. */
const char *hwai__sse_parser_last_event_id(const hwai__sse_parser *parser, size_t *out_len);

/* Returns the reconnection time in milliseconds from the last valid `retry` field
 * of the stream, including blocks that dispatched nothing, or -1 when none
 * arrived. */
long hwai__sse_parser_retry_ms(const hwai__sse_parser *parser);

/* Frees the parser's buffers. Accepts NULL and a parser that was never fed. */
void hwai__sse_parser_cleanup(hwai__sse_parser *parser);

#endif
