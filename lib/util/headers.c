#include "util/headers.h"

#include <stdlib.h>
#include <string.h>

#include "util/str.h"

bool hwai__headers_add_n(
    hwai__headers *headers, const char *name, size_t name_len, const char *value, size_t value_len)
{
    if (headers->count == headers->cap) {
        size_t cap = headers->cap ? headers->cap * 2 : 8;
        hwai__header *items = realloc(headers->items, cap * sizeof(*items));
        if (!items) {
            return false;
        }
        headers->items = items;
        headers->cap = cap;
    }
    char *name_copy = hwai__strndup(name, name_len);
    char *value_copy = hwai__strndup(value, value_len);
    if (!name_copy || !value_copy) {
        free(name_copy);
        free(value_copy);
        return false;
    }
    headers->items[headers->count].name = name_copy;
    headers->items[headers->count].value = value_copy;
    headers->count++;
    return true;
}

bool hwai__headers_add(hwai__headers *headers, const char *name, const char *value)
{
    return hwai__headers_add_n(headers, name, strlen(name), value, strlen(value));
}

bool hwai__headers_set(hwai__headers *headers, const char *name, const char *value)
{
    for (size_t i = 0; i < headers->count; i++) {
        if (hwai__strcasecmp(headers->items[i].name, name) == 0) {
            char *copy = hwai__strdup(value);
            if (!copy) {
                return false;
            }
            hwai__secret_free(headers->items[i].value);
            headers->items[i].value = copy;
            return true;
        }
    }
    return hwai__headers_add(headers, name, value);
}

const char *hwai__headers_get(const hwai__headers *headers, const char *name)
{
    for (size_t i = 0; i < headers->count; i++) {
        if (hwai__strcasecmp(headers->items[i].name, name) == 0) {
            return headers->items[i].value;
        }
    }
    return NULL;
}

void hwai__headers_remove(hwai__headers *headers, const char *name)
{
    size_t kept = 0;
    for (size_t i = 0; i < headers->count; i++) {
        if (hwai__strcasecmp(headers->items[i].name, name) == 0) {
            free(headers->items[i].name);
            hwai__secret_free(headers->items[i].value);
        } else {
            headers->items[kept++] = headers->items[i];
        }
    }
    headers->count = kept;
}

bool hwai__headers_copy(hwai__headers *dst, const hwai__headers *src)
{
    for (size_t i = 0; i < src->count; i++) {
        if (!hwai__headers_add(dst, src->items[i].name, src->items[i].value)) {
            return false;
        }
    }
    return true;
}

void hwai__headers_clear(hwai__headers *headers)
{
    for (size_t i = 0; i < headers->count; i++) {
        free(headers->items[i].name);
        hwai__secret_free(headers->items[i].value);
    }
    headers->count = 0;
}

void hwai__headers_cleanup(hwai__headers *headers)
{
    hwai__headers_clear(headers);
    free(headers->items);
    headers->items = NULL;
    headers->cap = 0;
}
