#include "json/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"

size_t hwai__json_depth(const char *data, size_t len)
{
    size_t depth = 0;
    size_t max = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (in_string) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            depth++;
            if (depth > max) {
                max = depth;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return max;
}

hwai_status
hwai__json_parse(const char *data, size_t len, size_t max_depth, json_t **out, hwai_error **err)
{
    *out = NULL;
    if (hwai__json_depth(data, len) > max_depth) {
        return hwai__error_set(
            err, HWAI_E_JSON_DEPTH, "JSON nests deeper than %zu levels", max_depth);
    }
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        return hwai__error_set(
            err, HWAI_E_BAD_RESPONSE, "not valid JSON: %s at line %d, column %d", jerr.text,
            jerr.line, jerr.column);
    }
    *out = root;
    return HWAI_OK;
}

char *hwai__json_dump(const json_t *value, size_t *len_out)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (text && len_out) {
        *len_out = strlen(text);
    }
    return text;
}

void hwai__format_double(double value, char out[32])
{
    if (!isfinite(value)) {
        snprintf(out, 32, "%s", isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf"));
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, 32, "%.*g", precision, value);
        if (strtod(out, NULL) == value) {
            return;
        }
    }
}

const char *hwai__json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

json_t *hwai__json_obj(const json_t *obj, const char *key)
{
    json_t *value = json_object_get(obj, key);
    return json_is_object(value) ? value : NULL;
}
