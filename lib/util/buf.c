#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

bool hwai__buf_reserve(hwai__buf *buf, size_t extra)
{
    if (buf->oom) {
        return false;
    }
    if (extra > SIZE_MAX - buf->len - 1) {
        buf->oom = true;
        return false;
    }
    size_t need = buf->len + extra + 1;
    if (need <= buf->cap) {
        return true;
    }
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    char *data = realloc(buf->data, cap);
    if (!data) {
        buf->oom = true;
        return false;
    }
    buf->data = data;
    buf->cap = cap;
    return true;
}

bool hwai__buf_append(hwai__buf *buf, const void *data, size_t len)
{
    if (!hwai__buf_reserve(buf, len)) {
        return false;
    }
    if (len) {
        memcpy(buf->data + buf->len, data, len);
    }
    buf->len += len;
    buf->data[buf->len] = '\0';
    return true;
}

bool hwai__buf_append_str(hwai__buf *buf, const char *str)
{
    return hwai__buf_append(buf, str, strlen(str));
}

bool hwai__buf_append_char(hwai__buf *buf, char c)
{
    return hwai__buf_append(buf, &c, 1);
}

bool hwai__buf_vprintf(hwai__buf *buf, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0 || !hwai__buf_reserve(buf, (size_t)n)) {
        buf->oom = true;
        return false;
    }
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    buf->len += (size_t)n;
    return true;
}

bool hwai__buf_printf(hwai__buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool ok = hwai__buf_vprintf(buf, fmt, ap);
    va_end(ap);
    return ok;
}

void hwai__buf_clear(hwai__buf *buf)
{
    buf->len = 0;
    if (buf->data) {
        buf->data[0] = '\0';
    }
}

char *hwai__buf_detach(hwai__buf *buf)
{
    if (buf->oom) {
        hwai__buf_cleanup(buf);
        return NULL;
    }
    if (!buf->data && !hwai__buf_reserve(buf, 0)) {
        return NULL;
    }
    buf->data[buf->len] = '\0';
    char *data = buf->data;
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    return data;
}

void hwai__buf_cleanup(hwai__buf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->oom = false;
}

void hwai__buf_cleanup_secret(hwai__buf *buf)
{
    if (buf->data) {
        hwai__zeroize(buf->data, buf->cap);
    }
    hwai__buf_cleanup(buf);
}
