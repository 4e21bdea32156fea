#include "util/str.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

char *hwai__strndup(const char *str, size_t len)
{
    if (!str) {
        return NULL;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        return NULL;
    }
    memcpy(copy, str, len);
    copy[len] = '\0';
    return copy;
}

char *hwai__strdup(const char *str)
{
    return str ? hwai__strndup(str, strlen(str)) : NULL;
}

char hwai__ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int hwai__strncasecmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = (unsigned char)hwai__ascii_lower(a[i]);
        unsigned char cb = (unsigned char)hwai__ascii_lower(b[i]);
        if (ca != cb || ca == '\0') {
            return (int)ca - (int)cb;
        }
    }
    return 0;
}

int hwai__strcasecmp(const char *a, const char *b)
{
    return hwai__strncasecmp(a, b, SIZE_MAX);
}

bool hwai__str_empty(const char *str)
{
    return !str || !*str;
}

char *hwai__secret_dup(const char *str)
{
    return hwai__strdup(str);
}

void hwai__secret_free(char *str)
{
    if (str) {
        hwai__zeroize(str, strlen(str));
        free(str);
    }
}

bool hwai__has_space_or_control(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f) {
            return true;
        }
    }
    return false;
}
