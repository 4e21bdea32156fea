#include "util/url.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "util/str.h"

#define MAX_PORT 65535

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool hwai__percent_encode(hwai__buf *out, const char *data, size_t len)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (is_unreserved((char)c)) {
            hwai__buf_append_char(out, (char)c);
        } else {
            char escape[3] = { '%', digits[c >> 4], digits[c & 0x0f] };
            hwai__buf_append(out, escape, sizeof(escape));
        }
    }
    return !out->oom;
}

bool hwai__percent_decode(hwai__buf *out, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '%' && len - i >= 3) {
            int high = hex_value(data[i + 1]);
            int low = hex_value(data[i + 2]);
            if (high >= 0 && low >= 0) {
                hwai__buf_append_char(out, (char)(high << 4 | low));
                i += 2;
                continue;
            }
        }
        hwai__buf_append_char(out, data[i]);
    }
    return !out->oom;
}

/* ---- URL parsing ---- */

void hwai__url_cleanup(hwai__url *url)
{
    if (!url) {
        return;
    }
    free(url->scheme);
    free(url->host);
    free(url->authority);
    free(url->path);
    free(url->query);
    memset(url, 0, sizeof(*url));
}

/* Copies url for an error message with any userinfo replaced by "***", because
 * userinfo may carry a password. */
static char *redact_url(const char *url)
{
    hwai__buf out = HWAI__BUF_INIT;
    const char *rest = url;
    const char *sep = strstr(url, "://");
    if (sep) {
        const char *authority = sep + 3;
        size_t authority_len = strcspn(authority, "/?#");
        const char *at = NULL;
        for (size_t i = 0; i < authority_len; i++) {
            if (authority[i] == '@') {
                at = authority + i;
            }
        }
        if (at) {
            hwai__buf_append(&out, url, (size_t)(authority - url));
            hwai__buf_append_str(&out, "***");
            rest = at;
        }
    }
    hwai__buf_append_str(&out, rest);
    return hwai__buf_detach(&out);
}

/* Sets an HWAI_E_INVALID_ARG error whose message is "URL '<url>' <reason>". */
static hwai_status url_error(hwai_error **err, const char *url, const char *reason)
{
    char *redacted = redact_url(url);
    hwai__error_set(err, HWAI_E_INVALID_ARG, "URL '%s' %s", redacted ? redacted : "", reason);
    free(redacted);
    return HWAI_E_INVALID_ARG;
}

/* A scheme is a letter followed by letters, digits, '+', '-' or '.' (RFC 3986). */
static bool scheme_is_valid(const char *scheme, size_t len)
{
    if (len == 0 || !is_alpha(scheme[0])) {
        return false;
    }
    for (size_t i = 1; i < len; i++) {
        char c = scheme[i];
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
            return false;
        }
    }
    return true;
}

static hwai_status
parse_scheme(hwai__url *out, const char *url, const char **rest, hwai_error **err)
{
    const char *sep = strstr(url, "://");
    size_t scheme_len = sep ? (size_t)(sep - url) : 0;
    if (!sep || !scheme_is_valid(url, scheme_len)) {
        return url_error(err, url, "has no scheme; write it as https://host/path");
    }
    out->scheme = hwai__strndup(url, scheme_len);
    if (!out->scheme) {
        return HWAI_E_NOMEM;
    }
    for (char *p = out->scheme; *p; p++) {
        *p = hwai__ascii_lower(*p);
    }
    if (strcmp(out->scheme, "http") != 0 && strcmp(out->scheme, "https") != 0) {
        hwai__buf reason = HWAI__BUF_INIT;
        hwai__buf_printf(&reason, "has unsupported scheme '%s'; use https or http", out->scheme);
        hwai_status status = reason.oom ? HWAI_E_NOMEM : url_error(err, url, reason.data);
        hwai__buf_cleanup(&reason);
        return status;
    }
    *rest = sep + 3;
    return HWAI_OK;
}

/* Parses the decimal port after ':' in [text, end); 0 means invalid. */
static int parse_port(const char *text, const char *end)
{
    long port = 0;
    if (text == end || end - text > 5) {
        return 0;
    }
    for (const char *p = text; p < end; p++) {
        if (!is_digit(*p)) {
            return 0;
        }
        port = port * 10 + (*p - '0');
    }
    return port >= 1 && port <= MAX_PORT ? (int)port : 0;
}

/* Splits host[:port] or [ipv6][:port] in [start, end) into out->host and out->port. */
static hwai_status parse_host_port(
    hwai__url *out, const char *url, const char *start, const char *end, hwai_error **err)
{
    const char *host = start;
    const char *host_end;
    const char *port_start = NULL;
    if (start < end && *start == '[') {
        const char *close = memchr(start, ']', (size_t)(end - start));
        if (!close) {
            return url_error(err, url, "has an IPv6 address without a closing ']'");
        }
        host = start + 1;
        host_end = close;
        if (close + 1 < end) {
            if (close[1] != ':') {
                return url_error(err, url, "has text after the IPv6 address that is not a port");
            }
            port_start = close + 2;
        }
    } else {
        const char *colon = memchr(start, ':', (size_t)(end - start));
        host_end = colon ? colon : end;
        port_start = colon ? colon + 1 : NULL;
    }
    if (host_end == host) {
        return url_error(err, url, "has no host");
    }
    out->host = hwai__strndup(host, (size_t)(host_end - host));
    if (!out->host) {
        return HWAI_E_NOMEM;
    }
    struct in6_addr addr;
    if (host != start && inet_pton(AF_INET6, out->host, &addr) != 1) {
        return url_error(err, url, "has an invalid IPv6 address between '[' and ']'");
    }
    if (port_start) {
        out->port = parse_port(port_start, end);
        if (out->port == 0) {
            return url_error(err, url, "has an invalid port; use a number from 1 to 65535");
        }
    }
    return HWAI_OK;
}

static hwai_status
parse_authority(hwai__url *out, const char *url, const char **rest, hwai_error **err)
{
    const char *start = *rest;
    const char *end = start + strcspn(start, "/?#");
    /* The last '@' ends the userinfo. It is dropped, so a user name or password in
     * the URL never reaches the Host header. */
    for (const char *p = start; p < end; p++) {
        if (*p == '@') {
            start = p + 1;
        }
    }
    hwai_status status = parse_host_port(out, url, start, end, err);
    if (status != HWAI_OK) {
        return status;
    }
    out->authority = hwai__strndup(start, (size_t)(end - start));
    if (!out->authority) {
        return HWAI_E_NOMEM;
    }
    *rest = end;
    return HWAI_OK;
}

static hwai_status parse_path_query(hwai__url *out, const char *rest)
{
    size_t path_len = strcspn(rest, "?#");
    out->path = hwai__strndup(rest, path_len);
    if (!out->path) {
        return HWAI_E_NOMEM;
    }
    if (rest[path_len] == '?') {
        const char *query = rest + path_len + 1;
        out->query = hwai__strndup(query, strcspn(query, "#"));
        if (!out->query) {
            return HWAI_E_NOMEM;
        }
    }
    return HWAI_OK;
}

hwai_status hwai__url_parse(hwai__url *out, const char *url, hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "URL output is NULL");
    }
    memset(out, 0, sizeof(*out));
    if (!url) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "URL is NULL");
    }
    hwai_status status;
    const char *rest = url;
    if (hwai__has_space_or_control(url)) {
        /* A space, CR or LF would end the request line or inject a header. */
        status = url_error(err, url, "contains a space or control character; percent-encode it");
        goto done;
    }
    status = parse_scheme(out, url, &rest, err);
    if (status == HWAI_OK) {
        status = parse_authority(out, url, &rest, err);
    }
    if (status == HWAI_OK) {
        status = parse_path_query(out, rest);
    }
done:
    if (status == HWAI_E_NOMEM) {
        hwai__error_set(err, status, "out of memory while parsing a URL");
    }
    if (status != HWAI_OK) {
        hwai__url_cleanup(out);
    }
    return status;
}

/* ---- loopback detection ---- */

/* Parses a dotted-quad IPv4 address of exactly four decimal parts, each 0-255. */
static bool parse_ipv4(const char *text, uint8_t octets[4])
{
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        unsigned int value = 0;
        int digits = 0;
        while (is_digit(*p) && digits < 4) {
            value = value * 10 + (unsigned int)(*p - '0');
            digits++;
            p++;
        }
        if (digits == 0 || digits > 3 || value > 255) {
            return false;
        }
        octets[i] = (uint8_t)value;
        if (i < 3 && *p++ != '.') {
            return false;
        }
    }
    return *p == '\0';
}

static bool ipv6_is_loopback(const char *host)
{
    char text[INET6_ADDRSTRLEN + 2];
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(text)) {
        return false;
    }
    memcpy(text, host, len);
    text[len] = '\0';

    struct in6_addr addr;
    if (inet_pton(AF_INET6, text, &addr) != 1) {
        return false;
    }
    static const uint8_t loopback[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
    static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp(addr.s6_addr, loopback, sizeof(loopback)) == 0) {
        return true;
    }
    /* ::ffff:127.x.y.z reaches the IPv4 loopback network. */
    return memcmp(addr.s6_addr, v4_mapped, sizeof(v4_mapped)) == 0 && addr.s6_addr[12] == 127;
}

bool hwai__host_is_loopback(const char *host)
{
    if (!host || !*host) {
        return false;
    }
    if (hwai__strcasecmp(host, "localhost") == 0 || hwai__strcasecmp(host, "localhost.") == 0) {
        return true;
    }
    uint8_t octets[4];
    if (parse_ipv4(host, octets)) {
        return octets[0] == 127;
    }
    return ipv6_is_loopback(host);
}

/* ---- query parameters ---- */

bool hwai__query_add(hwai__query *query, const char *key, const char *value)
{
    if (query->count == query->cap) {
        size_t cap = query->cap ? query->cap * 2 : 8;
        hwai__query_param *items = realloc(query->items, cap * sizeof(*items));
        if (!items) {
            return false;
        }
        query->items = items;
        query->cap = cap;
    }
    char *key_copy = hwai__strdup(key);
    char *value_copy = hwai__strdup(value ? value : "");
    if (!key_copy || !value_copy) {
        free(key_copy);
        free(value_copy);
        return false;
    }
    query->items[query->count].key = key_copy;
    query->items[query->count].value = value_copy;
    query->count++;
    return true;
}

/* Decodes one "key[=value]" piece of length len and appends it. */
static bool query_add_piece(hwai__query *query, const char *piece, size_t len)
{
    const char *equals = memchr(piece, '=', len);
    size_t key_len = equals ? (size_t)(equals - piece) : len;
    hwai__buf key = HWAI__BUF_INIT;
    hwai__buf value = HWAI__BUF_INIT;
    hwai__percent_decode(&key, piece, key_len);
    if (equals) {
        hwai__percent_decode(&value, equals + 1, len - key_len - 1);
    }
    bool ok = !key.oom && !value.oom &&
              hwai__query_add(query, key.data ? key.data : "", value.data ? value.data : "");
    hwai__buf_cleanup(&key);
    hwai__buf_cleanup(&value);
    return ok;
}

bool hwai__query_parse(hwai__query *query, const char *raw)
{
    if (!raw) {
        return true;
    }
    const char *piece = raw;
    for (;;) {
        size_t len = strcspn(piece, "&");
        if (len > 0 && !query_add_piece(query, piece, len)) {
            return false;
        }
        if (piece[len] == '\0') {
            return true;
        }
        piece += len + 1;
    }
}

void hwai__query_cleanup(hwai__query *query)
{
    if (!query) {
        return;
    }
    for (size_t i = 0; i < query->count; i++) {
        free(query->items[i].key);
        free(query->items[i].value);
    }
    free(query->items);
    query->items = NULL;
    query->count = 0;
    query->cap = 0;
}

/* Orders pairs by key, then value. strcmp compares bytes as unsigned char, which is
 * the UTF-8 byte order in which the reference signer sorts decoded text. */
static int compare_params(const void *a, const void *b)
{
    const hwai__query_param *pa = *(const hwai__query_param *const *)a;
    const hwai__query_param *pb = *(const hwai__query_param *const *)b;
    int order = strcmp(pa->key, pb->key);
    return order != 0 ? order : strcmp(pa->value, pb->value);
}

bool hwai__query_canonical(const hwai__query *query, hwai__buf *out)
{
    if (!query || query->count == 0) {
        return !out->oom;
    }
    const hwai__query_param **sorted = malloc(query->count * sizeof(*sorted));
    if (!sorted) {
        out->oom = true;
        return false;
    }
    for (size_t i = 0; i < query->count; i++) {
        sorted[i] = &query->items[i];
    }
    qsort(sorted, query->count, sizeof(*sorted), compare_params);
    for (size_t i = 0; i < query->count; i++) {
        if (i > 0) {
            hwai__buf_append_char(out, '&');
        }
        hwai__percent_encode(out, sorted[i]->key, strlen(sorted[i]->key));
        hwai__buf_append_char(out, '=');
        hwai__percent_encode(out, sorted[i]->value, strlen(sorted[i]->value));
    }
    free(sorted);
    return !out->oom;
}
