/* Growable byte buffer. The bytes are always followed by a NUL that is not
 * counted in len, so text can be read as a C string. */
#ifndef HWAI_UTIL_BUF_H
#define HWAI_UTIL_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct hwai__buf {
    char *data;
    size_t len;
    size_t cap;
    /* Set after an allocation failed: later appends are no-ops, so a caller can
     * build a string in several steps and check once. */
    bool oom;
} hwai__buf;

#define HWAI__BUF_INIT    \
    {                     \
        NULL, 0, 0, false \
    }

bool hwai__buf_reserve(hwai__buf *buf, size_t extra);
bool hwai__buf_append(hwai__buf *buf, const void *data, size_t len);
bool hwai__buf_append_str(hwai__buf *buf, const char *str);
bool hwai__buf_append_char(hwai__buf *buf, char c);
bool hwai__buf_printf(hwai__buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool hwai__buf_vprintf(hwai__buf *buf, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void hwai__buf_clear(hwai__buf *buf);
/* Hands the string to the caller (never NULL unless out of memory); the buffer
 * is left empty. */
char *hwai__buf_detach(hwai__buf *buf);
void hwai__buf_cleanup(hwai__buf *buf);
/* Like hwai__buf_cleanup, but wipes the bytes first; for buffers that held secrets. */
void hwai__buf_cleanup_secret(hwai__buf *buf);

#endif
