/* Small string helpers that libc lacks or spells differently across platforms. */
#ifndef HWAI_UTIL_STR_H
#define HWAI_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>

/* strdup that accepts NULL (returns NULL). */
char *hwai__strdup(const char *str);
char *hwai__strndup(const char *str, size_t len);
/* ASCII-only case-insensitive comparison, independent of the C locale. */
int hwai__strcasecmp(const char *a, const char *b);
int hwai__strncasecmp(const char *a, const char *b, size_t n);
char hwai__ascii_lower(char c);
bool hwai__str_empty(const char *str);
/* True when text has a space, a control character or DEL, none of which may
 * appear in a URL or a request path as sent. */
bool hwai__has_space_or_control(const char *text);
/* Copies and wipes: duplicates a secret, and frees one after overwriting it. */
char *hwai__secret_dup(const char *str);
void hwai__secret_free(char *str);

#endif
