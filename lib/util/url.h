/* URL parsing and the percent-encoding rules of Huawei Cloud request signing. */
#ifndef HWAI_UTIL_URL_H
#define HWAI_UTIL_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "hwai/error.h"
#include "util/buf.h"

/* The parts of an absolute URL. Every string is owned; query is NULL when the
 * URL has no '?'. */
typedef struct hwai__url {
    char *scheme;    /* lower-cased: "http" or "https" */
    char *host;      /* without brackets for IPv6 literals */
    char *authority; /* host[:port] exactly as written, for the Host header */
    int port;        /* explicit port, or 0 when none was written */
    char *path;      /* as written, still percent-encoded; "" when absent */
    char *query;     /* raw text after '?', without the fragment */
} hwai__url;

/* Parses scheme://[user@]host[:port][/path][?query][#fragment]. Rejects a missing
 * scheme (saying so), a scheme other than http or https, an empty host and a bad
 * port, with HWAI_E_INVALID_ARG and a message naming the URL. */
hwai_status hwai__url_parse(hwai__url *out, const char *url, hwai_error **err);
void hwai__url_cleanup(hwai__url *url);

/* True for "localhost" (any case, with or without a trailing dot), dotted-quad
 * addresses in 127.0.0.0/8, ::1 and ::ffff:127.x.y.z, with or without brackets. */
bool hwai__host_is_loopback(const char *host);

/* Appends data percent-encoded: A-Z a-z 0-9 - . _ ~ stay literal, every other
 * byte becomes %XX with uppercase hex. */
bool hwai__percent_encode(hwai__buf *out, const char *data, size_t len);
/* Appends data percent-decoded. A '%' not followed by two hex digits is kept
 * literally, and '+' stays a plus. */
bool hwai__percent_decode(hwai__buf *out, const char *data, size_t len);

/* Decoded query parameters, in the order given. */
typedef struct hwai__query_param {
    char *key;
    char *value;
} hwai__query_param;

typedef struct hwai__query {
    hwai__query_param *items;
    size_t count;
    size_t cap;
} hwai__query;

#define HWAI__QUERY_INIT \
    {                    \
        NULL, 0, 0       \
    }

bool hwai__query_add(hwai__query *query, const char *key, const char *value);
/* Splits raw on '&' and each piece on its first '=', percent-decoding both halves;
 * a piece without '=' gets an empty value and empty pieces are skipped. */
bool hwai__query_parse(hwai__query *query, const char *raw);
void hwai__query_cleanup(hwai__query *query);
/* Appends the canonical query: pairs sorted by decoded key, then value (byte
 * order), each side percent-encoded, joined as k=v with '&'. */
bool hwai__query_canonical(const hwai__query *query, hwai__buf *out);

#endif
