#include "stream/sse.h"

#include <limits.h>
#include <string.h>

#include "core/error_internal.h"

/* UTF-8 encoding of U+FEFF. One is skipped at the very start of a stream. */
static const char utf8_bom[] = { '\xEF', '\xBB', '\xBF' };
#define BOM_CHECK_DONE ((unsigned char)sizeof(utf8_bom))

/* Room for the longest standard field name with its colon and optional space
 * ("event: ", "retry: "), so that a value of exactly max_event_bytes fits on
 * one line. */
#define FIELD_PREFIX_MAX (sizeof("retry: ") - 1)

static hwai_status parse_bytes(
    hwai__sse_parser *parser,
    const char *bytes,
    size_t len,
    hwai__sse_event_cb callback,
    void *user_data,
    hwai_error **err);

hwai_status
hwai__sse_parser_init(hwai__sse_parser *parser, size_t max_event_bytes, hwai_error **err)
{
    if (!parser) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "parser is NULL");
    }
    if (max_event_bytes == 0) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "max_event_bytes must be at least 1, got 0");
    }
    size_t max_line_bytes = SIZE_MAX;
    if (max_event_bytes <= SIZE_MAX - FIELD_PREFIX_MAX) {
        max_line_bytes = max_event_bytes + FIELD_PREFIX_MAX;
    }
    *parser = (hwai__sse_parser){
        .max_event_bytes = max_event_bytes,
        .max_line_bytes = max_line_bytes,
        .line = HWAI__BUF_INIT,
        .data = HWAI__BUF_INIT,
        .type = HWAI__BUF_INIT,
        .last_id = HWAI__BUF_INIT,
        .block_retry_ms = -1,
        .last_retry_ms = -1,
        .stop_status = HWAI_OK,
    };
    return HWAI_OK;
}

void hwai__sse_parser_cleanup(hwai__sse_parser *parser)
{
    if (!parser) {
        return;
    }
    hwai__buf_cleanup(&parser->line);
    hwai__buf_cleanup(&parser->data);
    hwai__buf_cleanup(&parser->type);
    hwai__buf_cleanup(&parser->last_id);
}

static hwai_status fail_line_too_large(const hwai__sse_parser *parser, hwai_error **err)
{
    return hwai__error_set(
        err, HWAI_E_STREAM_EVENT_TOO_LARGE,
        "server-sent event line longer than %zu bytes, which is the maximum event size "
        "of %zu bytes plus room for a field name; the service sent more than a chat "
        "chunk ever holds, so the stream was stopped",
        parser->max_line_bytes, parser->max_event_bytes);
}

static hwai_status fail_nomem(hwai_error **err)
{
    return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while buffering a server-sent event");
}

static hwai_status replace_buf(hwai__buf *buf, const char *value, size_t len, hwai_error **err)
{
    hwai__buf_clear(buf);
    if (!hwai__buf_append(buf, value, len)) {
        return fail_nomem(err);
    }
    return HWAI_OK;
}

/* Ends the current block without dispatching it. The buffers keep their memory
 * for the next block. */
static void reset_block(hwai__sse_parser *parser)
{
    hwai__buf_clear(&parser->data);
    hwai__buf_clear(&parser->type);
    parser->block_retry_ms = -1;
    parser->block_started = false;
}

static hwai_status
dispatch_event(hwai__sse_parser *parser, hwai__sse_event_cb callback, void *user_data)
{
    /* Every data line left an LF behind its value, so a length of 1 is a single
     * empty data line. Such blocks dispatch nothing, as sse.h explains. */
    if (parser->data.len <= 1) {
        reset_block(parser);
        return HWAI_OK;
    }
    size_t data_len = parser->data.len - 1;
    parser->data.data[data_len] = '\0';

    hwai__sse_event event;
    if (parser->type.len > 0) {
        event.type = parser->type.data;
        event.type_len = parser->type.len;
    } else {
        event.type = "message";
        event.type_len = strlen("message");
    }
    event.data = parser->data.data;
    event.data_len = data_len;
    event.id = hwai__sse_parser_last_event_id(parser, &event.id_len);
    event.retry_ms = parser->block_retry_ms;

    hwai_status status = callback(&event, user_data);
    reset_block(parser);
    return status;
}

static hwai_status
append_data(hwai__sse_parser *parser, const char *value, size_t len, hwai_error **err)
{
    /* The LF already behind the previous value becomes the separator, and the
     * LF appended here is dropped at dispatch, so the joined data will be
     * data.len + len bytes long. */
    if (parser->data.len > parser->max_event_bytes ||
        len > parser->max_event_bytes - parser->data.len) {
        return hwai__error_set(
            err, HWAI_E_STREAM_EVENT_TOO_LARGE,
            "server-sent event data larger than the maximum event size of %zu bytes; the "
            "service sent more than a chat chunk ever holds, so the stream was stopped",
            parser->max_event_bytes);
    }
    if (!hwai__buf_append(&parser->data, value, len) ||
        !hwai__buf_append_char(&parser->data, '\n')) {
        return fail_nomem(err);
    }
    return HWAI_OK;
}

/* Applies a retry value that consists of ASCII digits only. Other values,
 * including ones that overflow a long, are ignored. */
static void apply_retry(hwai__sse_parser *parser, const char *value, size_t len)
{
    if (len == 0) {
        return;
    }
    long ms = 0;
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
    parser->block_retry_ms = ms;
    parser->last_retry_ms = ms;
}

static bool field_is(const char *name, size_t name_len, const char *expected)
{
    return name_len == strlen(expected) && memcmp(name, expected, name_len) == 0;
}

static hwai_status process_field(
    hwai__sse_parser *parser,
    const char *name,
    size_t name_len,
    const char *value,
    size_t value_len,
    hwai_error **err)
{
    if (field_is(name, name_len, "data")) {
        return append_data(parser, value, value_len, err);
    }
    if (field_is(name, name_len, "event")) {
        return replace_buf(&parser->type, value, value_len, err);
    }
    if (field_is(name, name_len, "id")) {
        if (memchr(value, '\0', value_len)) {
            return HWAI_OK;
        }
        return replace_buf(&parser->last_id, value, value_len, err);
    }
    if (field_is(name, name_len, "retry")) {
        apply_retry(parser, value, value_len);
    }
    return HWAI_OK;
}

/* Interprets one line without its line end. */
static hwai_status process_line(
    hwai__sse_parser *parser,
    const char *line,
    size_t len,
    hwai__sse_event_cb callback,
    void *user_data,
    hwai_error **err)
{
    if (len == 0) {
        return dispatch_event(parser, callback, user_data);
    }
    if (line[0] == ':') {
        return HWAI_OK;
    }
    parser->block_started = true;

    /* A line without a colon is a field name with an empty value. */
    const char *colon = memchr(line, ':', len);
    size_t name_len = colon ? (size_t)(colon - line) : len;
    const char *value = line + name_len;
    size_t value_len = 0;
    if (colon) {
        value = colon + 1;
        value_len = len - name_len - 1;
        if (value_len > 0 && value[0] == ' ') {
            value++;
            value_len--;
        }
    }
    return process_field(parser, line, name_len, value, value_len, err);
}

/* Completes the buffered partial line, if any, with the len bytes before a
 * line end and interprets it. A line that arrived whole is read in place. */
static hwai_status complete_line(
    hwai__sse_parser *parser,
    const char *tail,
    size_t len,
    hwai__sse_event_cb callback,
    void *user_data,
    hwai_error **err)
{
    if (len > parser->max_line_bytes - parser->line.len) {
        return fail_line_too_large(parser, err);
    }
    if (parser->line.len == 0) {
        return process_line(parser, tail, len, callback, user_data, err);
    }
    if (!hwai__buf_append(&parser->line, tail, len)) {
        return fail_nomem(err);
    }
    hwai_status status =
        process_line(parser, parser->line.data, parser->line.len, callback, user_data, err);
    hwai__buf_clear(&parser->line);
    return status;
}

static hwai_status
buffer_partial_line(hwai__sse_parser *parser, const char *bytes, size_t len, hwai_error **err)
{
    if (len > parser->max_line_bytes - parser->line.len) {
        return fail_line_too_large(parser, err);
    }
    if (!hwai__buf_append(&parser->line, bytes, len)) {
        return fail_nomem(err);
    }
    return HWAI_OK;
}

/* Returns the offset of the first CR or LF, or len when there is none. */
static size_t find_line_end(const char *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (bytes[i] == '\r' || bytes[i] == '\n') {
            return i;
        }
    }
    return len;
}

static hwai_status parse_bytes(
    hwai__sse_parser *parser,
    const char *bytes,
    size_t len,
    hwai__sse_event_cb callback,
    void *user_data,
    hwai_error **err)
{
    size_t pos = 0;
    while (pos < len) {
        /* CRLF is one line end even when the CR ended the previous feed. */
        if (parser->after_cr) {
            parser->after_cr = false;
            if (bytes[pos] == '\n') {
                pos++;
                continue;
            }
        }
        size_t line_len = find_line_end(bytes + pos, len - pos);
        if (line_len == len - pos) {
            return buffer_partial_line(parser, bytes + pos, line_len, err);
        }
        parser->after_cr = bytes[pos + line_len] == '\r';
        hwai_status status = complete_line(parser, bytes + pos, line_len, callback, user_data, err);
        if (status != HWAI_OK) {
            return status;
        }
        pos += line_len + 1;
    }
    return HWAI_OK;
}

/* Consumes the leading bytes of the stream that match the byte order mark.
 * When the stream turns out not to start with one, the bytes held back so far
 * are parsed as ordinary input. */
static hwai_status skip_bom(
    hwai__sse_parser *parser,
    const char **bytes,
    size_t *len,
    hwai__sse_event_cb callback,
    void *user_data,
    hwai_error **err)
{
    while (parser->bom_state<BOM_CHECK_DONE && * len> 0) {
        if (**bytes != utf8_bom[parser->bom_state]) {
            size_t matched = parser->bom_state;
            parser->bom_state = BOM_CHECK_DONE;
            return parse_bytes(parser, utf8_bom, matched, callback, user_data, err);
        }
        parser->bom_state++;
        (*bytes)++;
        (*len)--;
    }
    return HWAI_OK;
}

static hwai_status check_call(
    const hwai__sse_parser *parser,
    const char *bytes,
    size_t len,
    hwai__sse_event_cb callback,
    hwai_error **err)
{
    if (!parser) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "parser is NULL");
    }
    if (!callback) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "callback is NULL");
    }
    if (!bytes && len > 0) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "bytes is NULL but len is %zu", len);
    }
    if (parser->stop_status != HWAI_OK) {
        return hwai__error_set(
            err, parser->stop_status,
            "server-sent event parser already stopped by an earlier error: %s",
            hwai_status_str(parser->stop_status));
    }
    if (parser->finished) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "server-sent event stream already finished. Initialize the parser again "
            "for a new stream");
    }
    return HWAI_OK;
}

hwai_status hwai__sse_feed(
    hwai__sse_parser *parser,
    const char *bytes,
    size_t len,
    hwai__sse_event_cb callback,
    void *user_data,
    hwai_error **err)
{
    hwai_status status = check_call(parser, bytes, len, callback, err);
    if (status != HWAI_OK) {
        return status;
    }
    if (len > 0) {
        status = skip_bom(parser, &bytes, &len, callback, user_data, err);
    }
    if (status == HWAI_OK && len > 0) {
        status = parse_bytes(parser, bytes, len, callback, user_data, err);
    }
    parser->stop_status = status;
    return status;
}

/* Interprets whatever the stream left pending at its end: held byte order mark
 * bytes, a line without its line end and a block without its blank line. */
static hwai_status flush_pending(
    hwai__sse_parser *parser, hwai__sse_event_cb callback, void *user_data, hwai_error **err)
{
    if (parser->bom_state < BOM_CHECK_DONE) {
        size_t matched = parser->bom_state;
        parser->bom_state = BOM_CHECK_DONE;
        hwai_status status = parse_bytes(parser, utf8_bom, matched, callback, user_data, err);
        if (status != HWAI_OK) {
            return status;
        }
    }
    if (parser->line.len > 0) {
        hwai_status status =
            process_line(parser, parser->line.data, parser->line.len, callback, user_data, err);
        hwai__buf_clear(&parser->line);
        if (status != HWAI_OK) {
            return status;
        }
    }
    return dispatch_event(parser, callback, user_data);
}

hwai_status hwai__sse_finish(
    bool *out_incomplete,
    hwai__sse_parser *parser,
    hwai__sse_event_cb callback,
    void *user_data,
    hwai_error **err)
{
    if (out_incomplete) {
        *out_incomplete = false;
    }
    hwai_status status = check_call(parser, NULL, 0, callback, err);
    if (status != HWAI_OK) {
        return status;
    }
    if (out_incomplete) {
        *out_incomplete = hwai__sse_parser_has_partial_event(parser);
    }
    status = flush_pending(parser, callback, user_data, err);
    parser->finished = true;
    parser->stop_status = status;
    return status;
}

bool hwai__sse_parser_has_partial_line(const hwai__sse_parser *parser)
{
    bool bom_bytes_held = parser->bom_state > 0 && parser->bom_state < BOM_CHECK_DONE;
    return parser->line.len > 0 || bom_bytes_held;
}

bool hwai__sse_parser_has_partial_event(const hwai__sse_parser *parser)
{
    return parser->block_started || hwai__sse_parser_has_partial_line(parser);
}

const char *hwai__sse_parser_last_event_id(const hwai__sse_parser *parser, size_t *out_len)
{
    if (out_len) {
        *out_len = parser->last_id.len;
    }
    return parser->last_id.data ? parser->last_id.data : "";
}

long hwai__sse_parser_retry_ms(const hwai__sse_parser *parser)
{
    return parser->last_retry_ms;
}
