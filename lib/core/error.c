#include "core/error_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/str.h"

const char *hwai_status_str(hwai_status status)
{
    switch (status) {
    case HWAI_OK: return "success";
    case HWAI_E_INVALID_ARG: return "invalid argument";
    case HWAI_E_NOMEM: return "out of memory";
    case HWAI_E_UNSUPPORTED: return "not supported";
    case HWAI_E_CONFIG: return "invalid configuration";
    case HWAI_E_INSECURE_URL: return "plain http:// not allowed for this host";
    case HWAI_E_TRANSPORT: return "transport error";
    case HWAI_E_CONNECT: return "connection failed";
    case HWAI_E_TIMEOUT: return "timed out";
    case HWAI_E_TLS: return "TLS error";
    case HWAI_E_RESPONSE_TOO_LARGE: return "response too large";
    case HWAI_E_HEADERS_TOO_LARGE: return "response headers too large";
    case HWAI_E_AUTH: return "authentication error";
    case HWAI_E_SIGN: return "request signing failed";
    case HWAI_E_SERVICE: return "service error";
    case HWAI_E_BAD_RESPONSE: return "malformed response";
    case HWAI_E_CONTENT_TYPE: return "unexpected content type";
    case HWAI_E_JSON_DEPTH: return "JSON nested too deeply";
    case HWAI_E_STREAM_TRUNCATED: return "stream truncated";
    case HWAI_E_STREAM_EVENT_TOO_LARGE: return "stream event too large";
    case HWAI_E_STREAM_ERROR: return "error inside stream";
    case HWAI_E_CANCELLED: return "cancelled";
    case HWAI_E_INTERNAL: return "internal error";
    }
    return "unknown status";
}

/* Maximum length of a kept message, because a service may send megabytes of error text. */
#define MAX_MESSAGE_BYTES 2048
/* Maximum length of a kept service code or request id. */
#define MAX_FIELD_BYTES 256

/* Length of the valid UTF-8 sequence starting at p (at most len bytes), or 0. */
static size_t utf8_sequence_length(const unsigned char *p, size_t len)
{
    size_t need = p[0] < 0x80           ? 1
                  : (p[0] >> 5) == 0x6  ? 2
                  : (p[0] >> 4) == 0xe  ? 3
                  : (p[0] >> 3) == 0x1e ? 4
                                        : 0;
    if (need == 0 || need > len) {
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    return need;
}

/* Makes text from a server safe for one log line and for bindings that decode
 * UTF-8: control characters become spaces, invalid UTF-8 bytes become '?',
 * and the text is cut at max_bytes on a character boundary, ending in "...". */
char *hwai__clean_text(const char *text, size_t max_bytes)
{
    if (!text) {
        return NULL;
    }
    size_t len = strlen(text);
    hwai__buf out = HWAI__BUF_INIT;
    hwai__buf_reserve(&out, len < max_bytes ? len : max_bytes);
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_sequence_length(p + i, len - i);
        if (out.len + (n ? n : 1) > max_bytes) {
            hwai__buf_append_str(&out, "...");
            break;
        }
        if (n == 0) {
            hwai__buf_append_char(&out, '?');
            i++;
        } else if (n == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
            hwai__buf_append_char(&out, ' ');
            i++;
        } else {
            hwai__buf_append(&out, p + i, n);
            i += n;
        }
    }
    return hwai__buf_detach(&out);
}

static hwai_status error_vset(
    hwai_error **err,
    hwai_status status,
    int http_status,
    const char *code,
    const char *request_id,
    const char *fmt,
    va_list ap)
{
    if (!err) {
        return status;
    }
    hwai_error_free(*err);
    *err = NULL;
    hwai_error *e = calloc(1, sizeof(*e));
    if (!e) {
        return status;
    }
    hwai__buf msg = HWAI__BUF_INIT;
    hwai__buf_vprintf(&msg, fmt, ap);
    e->status = status;
    e->http_status = http_status;
    e->message = hwai__clean_text(msg.data ? msg.data : "", MAX_MESSAGE_BYTES);
    e->code = hwai__clean_text(code, MAX_FIELD_BYTES);
    e->request_id = hwai__clean_text(request_id, MAX_FIELD_BYTES);
    hwai__buf_cleanup(&msg);
    *err = e;
    return status;
}

hwai_status hwai__error_set(hwai_error **err, hwai_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, status, 0, NULL, NULL, fmt, ap);
    va_end(ap);
    return status;
}

hwai_status hwai__error_set_http(
    hwai_error **err,
    hwai_status status,
    int http_status,
    const char *code,
    const char *request_id,
    const char *fmt,
    ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, status, http_status, code, request_id, fmt, ap);
    va_end(ap);
    return status;
}

void hwai__error_prefix(hwai_error **err, const char *context)
{
    if (!err || !*err) {
        return;
    }
    hwai__buf msg = HWAI__BUF_INIT;
    hwai__buf_printf(&msg, "%s: %s", context, (*err)->message ? (*err)->message : "");
    char *text = hwai__buf_detach(&msg);
    if (text) {
        free((*err)->message);
        (*err)->message = text;
    }
}

void hwai__error_set_attempts(hwai_error **err, unsigned int attempts)
{
    if (err && *err) {
        (*err)->attempts = attempts;
    }
}

void hwai__error_set_response(hwai_error **err, int http_status, const char *request_id)
{
    if (!err || !*err) {
        return;
    }
    (*err)->http_status = http_status;
    if (request_id && !(*err)->request_id) {
        (*err)->request_id = hwai__clean_text(request_id, MAX_FIELD_BYTES);
    }
}

hwai_status hwai_error_status(const hwai_error *err)
{
    return err ? err->status : HWAI_OK;
}

const char *hwai_error_message(const hwai_error *err)
{
    return err && err->message ? err->message : "";
}

int hwai_error_http_status(const hwai_error *err)
{
    return err ? err->http_status : 0;
}

const char *hwai_error_code(const hwai_error *err)
{
    return err ? err->code : NULL;
}

const char *hwai_error_request_id(const hwai_error *err)
{
    return err ? err->request_id : NULL;
}

unsigned int hwai_error_attempts(const hwai_error *err)
{
    return err ? err->attempts : 0;
}

void hwai_error_free(hwai_error *err)
{
    if (!err) {
        return;
    }
    free(err->message);
    free(err->code);
    free(err->request_id);
    free(err);
}

/* Overwrites every occurrence of secret in text with '*'. */
static void mask_in_place(char *text, const char *secret)
{
    size_t len = secret ? strlen(secret) : 0;
    /* Very short values would mask ordinary words; real secrets are longer. */
    if (!text || len < 6) {
        return;
    }
    for (char *hit = strstr(text, secret); hit; hit = strstr(hit + len, secret)) {
        memset(hit, '*', len);
    }
}

void hwai__error_redact(hwai_error *err, const char *const *secrets, size_t count)
{
    if (!err) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        mask_in_place(err->message, secrets[i]);
        mask_in_place(err->code, secrets[i]);
    }
}
