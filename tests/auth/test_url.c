/* URL parsing, loopback detection, percent-encoding and query parameters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/url.h"

/* Parses url, expecting failure with HWAI_E_INVALID_ARG and a message containing
 * message_part. */
static void assert_url_rejected(const char *url, const char *message_part)
{
    hwai__url parsed;
    hwai_error *err = NULL;
    hwai_status status = hwai__url_parse(&parsed, url, &err);
    if (status != HWAI_E_INVALID_ARG) {
        fail_msg("URL \"%s\" gave status %d, expected HWAI_E_INVALID_ARG", url, status);
    }
    const char *message = hwai_error_message(err);
    if (!strstr(message, message_part)) {
        fail_msg("message \"%s\" for URL \"%s\" lacks \"%s\"", message, url, message_part);
    }
    assert_null(parsed.host);
    hwai_error_free(err);
}

/* ---- parsing ---- */

static void test_url_parse_all_parts(void **state)
{
    (void)state;
    hwai__url url;
    assert_int_equal(
        hwai__url_parse(&url, "HTTPS://Example.com:8443/v1/x%20y?a=1&b=2#frag", NULL), HWAI_OK);
    assert_string_equal(url.scheme, "https");
    assert_string_equal(url.host, "Example.com");
    assert_string_equal(url.authority, "Example.com:8443");
    assert_int_equal(url.port, 8443);
    assert_string_equal(url.path, "/v1/x%20y");
    assert_string_equal(url.query, "a=1&b=2");
    hwai__url_cleanup(&url);
}

static void test_url_parse_no_path(void **state)
{
    (void)state;
    hwai__url url;
    assert_int_equal(hwai__url_parse(&url, "http://example.com", NULL), HWAI_OK);
    assert_string_equal(url.scheme, "http");
    assert_string_equal(url.path, "");
    assert_null(url.query);
    assert_int_equal(url.port, 0);
    hwai__url_cleanup(&url);

    assert_int_equal(hwai__url_parse(&url, "http://example.com?x=1", NULL), HWAI_OK);
    assert_string_equal(url.path, "");
    assert_string_equal(url.query, "x=1");
    hwai__url_cleanup(&url);
}

/* Covers: no "://" at all, an empty scheme, and a scheme with invalid characters. */
static void test_url_scheme_missing(void **state)
{
    (void)state;
    assert_url_rejected("example.com/path", "has no scheme");
    assert_url_rejected("//example.com/path", "has no scheme");
    assert_url_rejected("://example.com/path", "has no scheme");
    assert_url_rejected("1http://example.com/", "has no scheme");
    assert_url_rejected("", "has no scheme");
}

static void test_url_scheme_unsupported(void **state)
{
    (void)state;
    assert_url_rejected("ftp://example.com/file", "unsupported scheme 'ftp'");
    assert_url_rejected("ws://example.com/", "unsupported scheme 'ws'");
}

/* Covers: a bracketed IPv6 address with and without a port, and malformed forms. */
static void test_url_ipv6(void **state)
{
    (void)state;
    hwai__url url;
    assert_int_equal(hwai__url_parse(&url, "http://[::1]:8080/v1", NULL), HWAI_OK);
    assert_string_equal(url.host, "::1");
    assert_string_equal(url.authority, "[::1]:8080");
    assert_int_equal(url.port, 8080);
    assert_string_equal(url.path, "/v1");
    hwai__url_cleanup(&url);

    assert_int_equal(hwai__url_parse(&url, "https://[2001:db8::7]/", NULL), HWAI_OK);
    assert_string_equal(url.host, "2001:db8::7");
    assert_string_equal(url.authority, "[2001:db8::7]");
    assert_int_equal(url.port, 0);
    hwai__url_cleanup(&url);

    assert_url_rejected("http://[::1/v1", "closing ']'");
    assert_url_rejected("http://[::1]x/v1", "not a port");
    assert_url_rejected("http://[example]/v1", "invalid IPv6");
    assert_url_rejected("http://[]/v1", "has no host");
}

/* Userinfo is dropped from host and authority, and never shown in a message. */
static void test_url_userinfo(void **state)
{
    (void)state;
    hwai__url url;
    assert_int_equal(
        hwai__url_parse(&url, "https://user:pass@word@example.com:444/x", NULL), HWAI_OK);
    assert_string_equal(url.host, "example.com");
    assert_string_equal(url.authority, "example.com:444");
    assert_string_equal(url.path, "/x");
    hwai__url_cleanup(&url);

    hwai_error *err = NULL;
    assert_int_equal(
        hwai__url_parse(&url, "ftp://user:hunter2@example.com/", &err), HWAI_E_INVALID_ARG);
    assert_null(strstr(hwai_error_message(err), "hunter2"));
    assert_non_null(strstr(hwai_error_message(err), "ftp://***@example.com/"));
    hwai_error_free(err);
}

/* Covers: 0, above 65535, more than five digits, empty, non-digits and a sign. */
static void test_url_port_invalid(void **state)
{
    (void)state;
    const char *urls[] = {
        "http://example.com:0/",      "http://example.com:65536/", "http://example.com:99999/",
        "http://example.com:000080/", "http://example.com:/",      "http://example.com:8a/",
        "http://example.com:-1/",     "http://example.com:1:2/",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        assert_url_rejected(urls[i], "invalid port");
    }
    hwai__url url;
    assert_int_equal(hwai__url_parse(&url, "http://example.com:65535/", NULL), HWAI_OK);
    assert_int_equal(url.port, 65535);
    hwai__url_cleanup(&url);
}

static void test_url_fragment_dropped(void **state)
{
    (void)state;
    hwai__url url;
    assert_int_equal(hwai__url_parse(&url, "https://example.com/p#frag?x=1", NULL), HWAI_OK);
    assert_string_equal(url.path, "/p");
    assert_null(url.query);
    hwai__url_cleanup(&url);

    assert_int_equal(hwai__url_parse(&url, "https://example.com/p?q=1#f", NULL), HWAI_OK);
    assert_string_equal(url.query, "q=1");
    hwai__url_cleanup(&url);

    assert_int_equal(hwai__url_parse(&url, "https://example.com#f", NULL), HWAI_OK);
    assert_string_equal(url.authority, "example.com");
    assert_string_equal(url.path, "");
    hwai__url_cleanup(&url);
}

/* Covers: an empty host, spaces and CR/LF, and NULL arguments. */
static void test_url_malformed(void **state)
{
    (void)state;
    assert_url_rejected("https:///path", "has no host");
    assert_url_rejected("https://user@/path", "has no host");
    assert_url_rejected("https://:443/path", "has no host");
    assert_url_rejected("https://example.com/a b", "space or control character");
    assert_url_rejected("https://example.com/a\r\nX-Injected: 1", "space or control character");

    hwai__url url;
    assert_int_equal(hwai__url_parse(&url, NULL, NULL), HWAI_E_INVALID_ARG);
    assert_null(url.path);
    assert_int_equal(hwai__url_parse(NULL, "https://example.com/", NULL), HWAI_E_INVALID_ARG);
}

/* Raw UTF-8 bytes may appear in a path or query and are kept as they are. */
static void test_url_non_ascii_kept(void **state)
{
    (void)state;
    hwai__url url;
    assert_int_equal(
        hwai__url_parse(&url, "https://example.com/v1/\xe4\xb8\xad?city=\xe5\x8c\x97", NULL),
        HWAI_OK);
    assert_string_equal(url.path, "/v1/\xe4\xb8\xad");
    assert_string_equal(url.query, "city=\xe5\x8c\x97");
    hwai__url_cleanup(&url);
}

/* ---- loopback ---- */

static void test_loopback_hosts(void **state)
{
    (void)state;
    const char *loopback[] = {
        "localhost",       "LocalHost", "localhost.", "127.0.0.1",       "127.1.2.3",
        "127.255.255.255", "::1",       "[::1]",      "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1",
    };
    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        if (!hwai__host_is_loopback(loopback[i])) {
            fail_msg("\"%s\" should be loopback", loopback[i]);
        }
    }
}

static void test_loopback_lookalikes(void **state)
{
    (void)state;
    const char *remote[] = {
        "127.0.0.1.example.com", "0.0.0.0",    "128.0.0.1",  "127.0.0",
        "127.0.0.256",           "1270.0.0.1", "127.0.0.1 ", "localhost.example.com",
        "example.com",           "",           "::",         "::2",
        "::ffff:10.0.0.1",       "[::1",       "127.0.0.-1",
    };
    for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
        if (hwai__host_is_loopback(remote[i])) {
            fail_msg("\"%s\" should not be loopback", remote[i]);
        }
    }
    assert_false(hwai__host_is_loopback(NULL));
}

/* ---- percent-encoding ---- */

static void assert_encoded(const char *data, size_t len, const char *expected)
{
    hwai__buf out = HWAI__BUF_INIT;
    assert_true(hwai__percent_encode(&out, data, len));
    assert_string_equal(out.data ? out.data : "", expected);
    hwai__buf_cleanup(&out);
}

/* Covers: unreserved characters kept, others as uppercase %XX over UTF-8 bytes. */
static void test_percent_encode(void **state)
{
    (void)state;
    assert_encoded("AZaz09-._~", 10, "AZaz09-._~");
    assert_encoded(" +/%*=&?#", 9, "%20%2B%2F%25%2A%3D%26%3F%23");
    assert_encoded("\xe4\xb8\xad", 3, "%E4%B8%AD");
    assert_encoded("\x00\xff", 2, "%00%FF");
    assert_encoded("", 0, "");
}

/* Covers: upper and lower case hex, '+' kept, malformed escapes kept literally,
 * and a decoded NUL byte counted in the length. */
static void test_percent_decode(void **state)
{
    (void)state;
    const char *cases[][2] = {
        { "%41%2f%2F", "A//" },
        { "a+b", "a+b" },
        { "100%", "100%" },
        { "%4", "%4" },
        { "%zz%4g", "%zz%4g" },
        { "%%41", "%A" },
        { "", "" },
        { "%e4%B8%ad", "\xe4\xb8\xad" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hwai__buf out = HWAI__BUF_INIT;
        assert_true(hwai__percent_decode(&out, cases[i][0], strlen(cases[i][0])));
        assert_string_equal(out.data ? out.data : "", cases[i][1]);
        hwai__buf_cleanup(&out);
    }
    hwai__buf out = HWAI__BUF_INIT;
    assert_true(hwai__percent_decode(&out, "a%00b", 5));
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "a\0b", 3);
    hwai__buf_cleanup(&out);
}

/* Every byte value survives encode then decode, and decoding then re-encoding an
 * encoded string gives it back unchanged. */
static void test_percent_round_trip(void **state)
{
    (void)state;
    char bytes[256];
    for (int i = 0; i < 256; i++) {
        bytes[i] = (char)i;
    }
    hwai__buf encoded = HWAI__BUF_INIT;
    hwai__buf decoded = HWAI__BUF_INIT;
    hwai__buf again = HWAI__BUF_INIT;
    assert_true(hwai__percent_encode(&encoded, bytes, sizeof(bytes)));
    assert_true(hwai__percent_decode(&decoded, encoded.data, encoded.len));
    assert_int_equal(decoded.len, sizeof(bytes));
    assert_memory_equal(decoded.data, bytes, sizeof(bytes));
    assert_true(hwai__percent_encode(&again, decoded.data, decoded.len));
    assert_string_equal(again.data, encoded.data);
    hwai__buf_cleanup(&encoded);
    hwai__buf_cleanup(&decoded);
    hwai__buf_cleanup(&again);
}

/* ---- query parameters ---- */

typedef struct expected_param {
    const char *key;
    const char *value;
} expected_param;

static void assert_query_parsed(const char *raw, const expected_param *expected, size_t count)
{
    hwai__query query = HWAI__QUERY_INIT;
    assert_true(hwai__query_parse(&query, raw));
    if (query.count != count) {
        fail_msg(
            "query \"%s\" gave %zu pairs, expected %zu", raw ? raw : "(null)", query.count, count);
    }
    for (size_t i = 0; i < count; i++) {
        assert_string_equal(query.items[i].key, expected[i].key);
        assert_string_equal(query.items[i].value, expected[i].value);
    }
    hwai__query_cleanup(&query);
}

/* Covers: plain pairs in order, a key without '=', an empty key or value, empty
 * pieces skipped, only the first '=' splitting, '+' kept, escapes decoded on both
 * sides, a malformed escape kept, and NULL or empty input. */
static void test_query_parse_edge_cases(void **state)
{
    (void)state;
    const expected_param plain[] = { { "b", "2" }, { "a", "1" } };
    assert_query_parsed("b=2&a=1", plain, 2);
    const expected_param bare[] = { { "flag", "" }, { "limit", "1" } };
    assert_query_parsed("flag&limit=1", bare, 2);
    const expected_param empty_sides[] = { { "a", "" }, { "", "v" } };
    assert_query_parsed("a=&=v", empty_sides, 2);
    const expected_param skipped[] = { { "a", "1" } };
    assert_query_parsed("&&a=1&", skipped, 1);
    const expected_param first_equals[] = { { "a", "b=c" } };
    assert_query_parsed("a=b=c", first_equals, 1);
    const expected_param plus[] = { { "q", "a+b" }, { "p", "a+b" } };
    assert_query_parsed("q=a+b&p=a%2Bb", plus, 2);
    const expected_param escaped[] = { { "=", "&" }, { "name", "\xe4\xb8\xad" } };
    assert_query_parsed("%3D=%26&name=%E4%B8%AD", escaped, 2);
    const expected_param malformed[] = { { "k", "%zz" }, { "pct", "100%" } };
    assert_query_parsed("k=%zz&pct=100%", malformed, 2);
    assert_query_parsed(NULL, NULL, 0);
    assert_query_parsed("", NULL, 0);
    assert_query_parsed("&", NULL, 0);
}

static void assert_canonical(hwai__query *query, const char *expected)
{
    hwai__buf out = HWAI__BUF_INIT;
    assert_true(hwai__query_canonical(query, &out));
    assert_string_equal(out.data ? out.data : "", expected);
    hwai__buf_cleanup(&out);
}

/* Covers: sorting on decoded keys ("a-" before "a=", "z" before a CJK key), values
 * of equal keys by bytes, encoding of both sides, and an empty query. */
static void test_query_canonical_order(void **state)
{
    (void)state;
    hwai__query query = HWAI__QUERY_INIT;
    assert_canonical(&query, "");
    assert_canonical(NULL, "");

    assert_true(hwai__query_add(&query, "\xe4\xb8\xad", "1"));
    assert_true(hwai__query_add(&query, "a=", "2"));
    assert_true(hwai__query_add(&query, "z", "3"));
    assert_true(hwai__query_add(&query, "a-", "4"));
    assert_true(hwai__query_add(&query, "q", "hello world"));
    assert_true(hwai__query_add(&query, "q", "a+b/~*"));
    assert_canonical(&query, "a-=4&a%3D=2&q=a%2Bb%2F~%2A&q=hello%20world&z=3&%E4%B8%AD=1");
    hwai__query_cleanup(&query);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse_all_parts),
        cmocka_unit_test(test_url_parse_no_path),
        cmocka_unit_test(test_url_scheme_missing),
        cmocka_unit_test(test_url_scheme_unsupported),
        cmocka_unit_test(test_url_ipv6),
        cmocka_unit_test(test_url_userinfo),
        cmocka_unit_test(test_url_port_invalid),
        cmocka_unit_test(test_url_fragment_dropped),
        cmocka_unit_test(test_url_malformed),
        cmocka_unit_test(test_url_non_ascii_kept),
        cmocka_unit_test(test_loopback_hosts),
        cmocka_unit_test(test_loopback_lookalikes),
        cmocka_unit_test(test_percent_encode),
        cmocka_unit_test(test_percent_decode),
        cmocka_unit_test(test_percent_round_trip),
        cmocka_unit_test(test_query_parse_edge_cases),
        cmocka_unit_test(test_query_canonical_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
