/* jansson helpers with the limits the SDK applies to every response. */
#ifndef HWAI_JSON_JSON_H
#define HWAI_JSON_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hwai/error.h"
#include "util/buf.h"

/* Deepest nesting of arrays and objects accepted in an response. Real responses
 * nest fewer than 10 levels; the cap keeps recursive code (jansson's parser,
 * error-body search, bindings converting to native objects) within small
 * thread stacks. */
#define HWAI__JSON_MAX_DEPTH 64

/* Parses a whole JSON document. Deeper nesting than max_depth gives
 * HWAI_E_JSON_DEPTH without calling the recursive parser; invalid JSON gives
 * HWAI_E_BAD_RESPONSE with jansson's position and reason. */
hwai_status
hwai__json_parse(const char *data, size_t len, size_t max_depth, json_t **out, hwai_error **err);

/* Nesting depth of a JSON text, counted without recursion; strings are skipped. */
size_t hwai__json_depth(const char *data, size_t len);

/* Serialises compactly (reals with 15 significant digits, so 0.7 stays 0.7) into a new
 * NUL-terminated string, or NULL when out of memory. */
char *hwai__json_dump(const json_t *value, size_t *len_out);

/* Formats a double as the shortest decimal text that reads back to the same
 * value, e.g. 0.9731 rather than 0.97309999999999997. out needs 32 bytes. */
void hwai__format_double(double value, char out[32]);

/* Member lookups that tolerate a NULL or non-object parent. */
const char *hwai__json_str(const json_t *obj, const char *key);
json_t *hwai__json_obj(const json_t *obj, const char *key);

#endif
