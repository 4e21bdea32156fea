/* An ordered list of HTTP headers. Names keep their spelling; lookups ignore
 * ASCII case, as HTTP does. */
#ifndef HWAI_UTIL_HEADERS_H
#define HWAI_UTIL_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hwai__header {
    char *name;
    char *value;
} hwai__header;

typedef struct hwai__headers {
    hwai__header *items;
    size_t count;
    size_t cap;
} hwai__headers;

#define HWAI__HEADERS_INIT \
    {                      \
        NULL, 0, 0         \
    }

/* Appends a header; false when out of memory. */
bool hwai__headers_add(hwai__headers *headers, const char *name, const char *value);
bool hwai__headers_add_n(
    hwai__headers *headers, const char *name, size_t name_len, const char *value, size_t value_len);
/* Replaces the value of the first header of that name, or appends one. */
bool hwai__headers_set(hwai__headers *headers, const char *name, const char *value);
/* Value of the first header of that name, or NULL. */
const char *hwai__headers_get(const hwai__headers *headers, const char *name);
/* Removes every header of that name. */
void hwai__headers_remove(hwai__headers *headers, const char *name);
bool hwai__headers_copy(hwai__headers *dst, const hwai__headers *src);
void hwai__headers_clear(hwai__headers *headers);
/* Frees every name and value, wiping values first because some hold secrets. */
void hwai__headers_cleanup(hwai__headers *headers);

#endif
