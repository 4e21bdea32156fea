/* Turns an HTTP error response into an hwai_error. Huawei services response in
 * several shapes, so the search follows the official SDKs' order:
 * {"error_code", "error_msg"}, then {"errorCode", "errorMsg"}, then
 * {"code", "message"}, then the same inside any object member, which covers
 * {"error": {...}} from IAM, Pangu and OpenAI-compatible gateways. */
#include <stdio.h>
#include <string.h>

#include "core/error_internal.h"
#include "core/pipeline.h"
#include "json/json.h"
#include "util/str.h"

/* Nested error objects seen in practice are one or two levels down. */
#define ERROR_SEARCH_DEPTH 8
/* Maximum length of the excerpt of a non-JSON error body put into a message. */
#define BODY_EXCERPT_MAX 512

static bool scalar_text(const json_t *value, hwai__buf *out)
{
    if (json_is_string(value)) {
        return hwai__buf_append(out, json_string_value(value), json_string_length(value));
    }
    if (json_is_integer(value)) {
        return hwai__buf_printf(out, "%lld", (long long)json_integer_value(value));
    }
    return false;
}

static bool match_pair(
    const json_t *obj,
    const char *code_key,
    const char *message_key,
    hwai__buf *code_buf,
    const char **message_out)
{
    const json_t *code = json_object_get(obj, code_key);
    const json_t *message = json_object_get(obj, message_key);
    bool has_code = json_is_string(code) || json_is_integer(code);
    if (!has_code && !json_is_string(message)) {
        return false;
    }
    /* {"code": ..., "message": ...} is too generic to trust with one half. */
    if (strcmp(code_key, "code") == 0 && !(has_code && json_is_string(message))) {
        return false;
    }
    hwai__buf_clear(code_buf);
    if (has_code) {
        scalar_text(code, code_buf);
    }
    *message_out = json_string_value(message);
    return true;
}

static bool search(const json_t *obj, int depth, hwai__buf *code_buf, const char **message_out)
{
    if (!json_is_object(obj) || depth > ERROR_SEARCH_DEPTH) {
        return false;
    }
    if (match_pair(obj, "error_code", "error_msg", code_buf, message_out) ||
        match_pair(obj, "errorCode", "errorMsg", code_buf, message_out) ||
        match_pair(obj, "code", "message", code_buf, message_out)) {
        return true;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        if (json_is_object(value) && search(value, depth + 1, code_buf, message_out)) {
            return true;
        }
    }
    /* {"error": "text"}, as some gateways send. */
    const json_t *error = json_object_get(obj, "error");
    if (json_is_string(error)) {
        hwai__buf_clear(code_buf);
        *message_out = json_string_value(error);
        return true;
    }
    return false;
}

bool hwai__find_error_fields(const json_t *root, hwai__buf *code_buf, const char **message_out)
{
    *message_out = NULL;
    return search(root, 0, code_buf, message_out);
}

/* Copies an error body for a message, with control characters replaced so a
 * hostile response cannot forge extra log lines. */
static void append_excerpt(hwai__buf *out, const char *body, size_t len)
{
    size_t n = len > BODY_EXCERPT_MAX ? BODY_EXCERPT_MAX : len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)body[i];
        hwai__buf_append_char(out, (c < 0x20 || c == 0x7f) ? ' ' : (char)c);
    }
    if (n < len) {
        hwai__buf_append_str(out, "...");
    }
}

hwai_status
hwai__error_from_response(const hwai__http_response *resp, const char *operation, hwai_error **err)
{
    const char *request_id = hwai__headers_get(&resp->headers, "X-Request-Id");
    hwai__buf code = HWAI__BUF_INIT;
    hwai__buf message = HWAI__BUF_INIT;
    const char *found_message = NULL;
    json_t *root = NULL;
    bool found = false;
    if (resp->body.len > 0 &&
        hwai__json_depth(resp->body.data, resp->body.len) <= HWAI__JSON_MAX_DEPTH) {
        root = json_loadb(resp->body.data, resp->body.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        found = root && hwai__find_error_fields(root, &code, &found_message);
    }
    if (found && found_message && *found_message) {
        hwai__buf_append_str(&message, found_message);
    } else if (!found && root) {
        /* JSON without an error field: name what failed, then quote the body. */
        hwai__buf_printf(&message, "%s failed with HTTP %d: ", operation, resp->status);
        append_excerpt(&message, resp->body.data, resp->body.len);
    } else if (!found && resp->body.len > 0) {
        append_excerpt(&message, resp->body.data, resp->body.len);
    } else {
        hwai__buf_printf(&message, "%s failed with HTTP %d", operation, resp->status);
    }
    if (code.len == 0) {
        /* With no code in the body, the HTTP status is used as the code. */
        hwai__buf_clear(&code);
        hwai__buf_printf(&code, "%d", resp->status);
    }
    hwai_status status = hwai__error_set_http(
        err, HWAI_E_SERVICE, resp->status, code.data, request_id, "%s",
        message.data ? message.data : "");
    json_decref(root);
    hwai__buf_cleanup(&code);
    hwai__buf_cleanup(&message);
    return status;
}

static const char *skip_gateway_prefix(const char *code)
{
    if (strncmp(code, "APIGW.", 6) == 0) {
        return code + 6;
    }
    if (strncmp(code, "APIG.", 5) == 0) {
        return code + 5;
    }
    return NULL;
}

int hwai_error_code_is(const hwai_error *err, const char *code)
{
    if (!err || !err->code || !code) {
        return 0;
    }
    const char *a = skip_gateway_prefix(err->code);
    const char *b = skip_gateway_prefix(code);
    if (a && b) {
        return strcmp(a, b) == 0;
    }
    return strcmp(err->code, code) == 0;
}
