/* Known-answer and rejection tests for the signer, through the internal hwai__sign()
 * (which signs exactly the header set it is given when host is NULL) and through
 * the public hwai_sign(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/signer.h"
#include "crypto/crypto.h"
#include "hwai/credentials.h"
#include "hwai/sign.h"

#define TEST_AK "AccessKey"
#define TEST_SK "SecretKey"
#define TEST_DATE "20060102T150405Z"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define PROJECT_ID "0123456789abcdef0123456789abcdef"

/* Signature of GET /path?limit=1 with only X-Sdk-Date signed, computed with
 * Python's hmac and hashlib from the canonical request in test_query_as_pairs_signed. */
#define LIMIT_SIGNATURE "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"
/* The signature the same request gets when the query is lost. */
#define NO_QUERY_SIGNATURE "eb70b3a0caf6633a8b8e4317622d8a0f6819821ec84896ceb7739a57e2d9ed76"
/* The signature of GET https://example.huaweicloud.com/path?limit=1 through hwai_sign(),
 * which also signs host; computed with Python's hmac and hashlib from the
 * canonical request in test_query_in_url_public_api. */
#define LIMIT_WITH_HOST_SIGNATURE "7eb88c06474c7197e670e0ae61651746453587eb5fad98074266578511cf3c01"

/* One hwai__sign() call and everything it owns. */
typedef struct sign_case {
    hwai__headers headers;
    hwai__query query;
    hwai__sign_params params;
    hwai__sign_result result;
    hwai_error *err;
} sign_case;

static void sign_case_init(sign_case *c, const char *method, const char *path)
{
    memset(c, 0, sizeof(*c));
    c->params.method = method;
    c->params.path = path;
    c->params.query = &c->query;
    c->params.headers = &c->headers;
    c->params.ak = TEST_AK;
    c->params.sk = TEST_SK;
}

static hwai_status sign_case_run(sign_case *c)
{
    return hwai__sign(&c->params, &c->result, &c->err);
}

static void sign_case_cleanup(sign_case *c)
{
    hwai__sign_result_cleanup(&c->result);
    hwai__headers_cleanup(&c->headers);
    hwai__query_cleanup(&c->query);
    hwai_error_free(c->err);
}

/* Copies line number index (from 0) of text into out. */
static void copy_line(const char *text, int index, char *out, size_t out_size)
{
    const char *line = text;
    for (int i = 0; i < index && line; i++) {
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    assert_non_null(line);
    size_t len = strcspn(line, "\n");
    assert_true(len < out_size);
    memcpy(out, line, len);
    out[len] = '\0';
}

static size_t count_occurrences(const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
        count++;
    }
    return count;
}

static hwai_credentials *test_credentials(const char *token)
{
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, TEST_AK, TEST_SK, token, NULL), HWAI_OK);
    return creds;
}

/* ---- query parameters reach the signature ---- */

/* Query given as decoded pairs, the route the client's request path takes. Covers:
 * the canonical query line, the exact signature, the signature of the request
 * without its query not being produced, and the wire URI. */
static void test_query_as_pairs_signed(void **state)
{
    (void)state;
    sign_case c;
    sign_case_init(&c, "GET", "/path");
    assert_true(hwai__query_add(&c.query, "limit", "1"));
    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));

    assert_int_equal(sign_case_run(&c), HWAI_OK);
    assert_string_equal(
        c.result.canonical_request,
        "GET\n/path/\nlimit=1\nx-sdk-date:" TEST_DATE "\n\nx-sdk-date\n" EMPTY_SHA256);
    assert_string_equal(c.result.signature, LIMIT_SIGNATURE);
    assert_string_not_equal(c.result.signature, NO_QUERY_SIGNATURE);
    assert_string_equal(
        c.result.authorization,
        "SDK-HMAC-SHA256 Access=" TEST_AK ", SignedHeaders=x-sdk-date, Signature=" LIMIT_SIGNATURE);
    assert_string_equal(hwai__headers_get(&c.headers, "Authorization"), c.result.authorization);
    assert_string_equal(c.result.uri, "/path?limit=1");
    sign_case_cleanup(&c);
}

/* Query embedded in the URL, split with hwai__url_parse and hwai__query_parse.
 * Covers: the same canonical request and signature as the pairs route. */
static void test_query_in_url_signed(void **state)
{
    (void)state;
    hwai__url url;
    assert_int_equal(
        hwai__url_parse(&url, "https://example.huaweicloud.com/path?limit=1", NULL), HWAI_OK);
    sign_case c;
    sign_case_init(&c, "GET", url.path);
    assert_true(hwai__query_parse(&c.query, url.query));
    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));

    assert_int_equal(sign_case_run(&c), HWAI_OK);
    assert_string_equal(
        c.result.canonical_request,
        "GET\n/path/\nlimit=1\nx-sdk-date:" TEST_DATE "\n\nx-sdk-date\n" EMPTY_SHA256);
    assert_string_equal(c.result.signature, LIMIT_SIGNATURE);
    assert_string_not_equal(c.result.signature, NO_QUERY_SIGNATURE);
    assert_string_equal(c.result.uri, "/path?limit=1");
    sign_case_cleanup(&c);
    hwai__url_cleanup(&url);
}

/* Query embedded in the URL given to the public hwai_sign(), which also signs Host.
 * Covers: the query line, the signature, and "?limit=1" once in the wire URI. */
static void test_query_in_url_public_api(void **state)
{
    (void)state;
    hwai_credentials *creds = test_credentials(NULL);
    hwai_http_header headers[] = { { "X-Sdk-Date", TEST_DATE } };
    hwai_sign_input input = HWAI_SIGN_INPUT_INIT;
    input.method = "get";
    input.url = "https://example.huaweicloud.com/path?limit=1";
    input.headers = headers;
    input.header_count = 1;
    hwai_signed_request *req = NULL;

    assert_int_equal(hwai_sign(&req, creds, &input, NULL), HWAI_OK);
    assert_string_equal(req->method, "GET");
    assert_string_equal(
        req->canonical_request,
        "GET\n/path/\nlimit=1\nhost:example.huaweicloud.com\nx-sdk-date:" TEST_DATE
        "\n\nhost;x-sdk-date\n" EMPTY_SHA256);
    assert_string_equal(req->signature, LIMIT_WITH_HOST_SIGNATURE);
    assert_string_equal(req->uri, "/path?limit=1");
    assert_int_equal(count_occurrences(req->uri, "?limit=1"), 1);
    hwai_signed_request_free(req);
    hwai_credentials_free(creds);
}

/* Pairs from the URL plus a pair added through the query API. Covers: each pair
 * appears once in the wire URI, in canonical order. */
static void test_query_both_routes_once(void **state)
{
    (void)state;
    sign_case c;
    sign_case_init(&c, "GET", "/path");
    assert_true(hwai__query_parse(&c.query, "limit=1"));
    assert_true(hwai__query_add(&c.query, "offset", "2"));
    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));

    assert_int_equal(sign_case_run(&c), HWAI_OK);
    assert_string_equal(c.result.uri, "/path?limit=1&offset=2");
    assert_int_equal(count_occurrences(c.result.uri, "limit=1"), 1);
    assert_int_equal(count_occurrences(c.result.uri, "?"), 1);
    sign_case_cleanup(&c);
}

/* A query left inside the path would be signed as %3F and then sent twice or lost. */
static void test_query_in_path_rejected(void **state)
{
    (void)state;
    sign_case c;
    sign_case_init(&c, "GET", "/path?limit=1");
    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));

    assert_int_equal(sign_case_run(&c), HWAI_E_SIGN);
    assert_non_null(strstr(hwai_error_message(c.err), "/path?limit=1"));
    sign_case_cleanup(&c);
}

/* ---- query ordering ---- */

#define ORDER_QUERY "select-type=2&select=&tag=b&tag=a&tag=10&tag=9"
#define ORDER_CANONICAL "select=&select-type=2&tag=10&tag=9&tag=a&tag=b"

/* Repeated keys and a key that is a prefix of another, through hwai_sign(). Covers:
 * sorting by key alone (select before select-type although '-' < '='), equal keys
 * by value as bytes (10 < 9 < a < b), an empty value keeping its '=', and the wire
 * query equal to the signed one. */
static void test_query_order_public_api(void **state)
{
    (void)state;
    hwai_credentials *creds = test_credentials(NULL);
    hwai_http_header headers[] = { { "X-Sdk-Date", TEST_DATE } };
    hwai_sign_input input = HWAI_SIGN_INPUT_INIT;
    input.method = "GET";
    input.url = "https://example.huaweicloud.com/v1/" PROJECT_ID "/items?" ORDER_QUERY;
    input.headers = headers;
    input.header_count = 1;
    hwai_signed_request *req = NULL;

    assert_int_equal(hwai_sign(&req, creds, &input, NULL), HWAI_OK);
    char line[256];
    copy_line(req->canonical_request, 2, line, sizeof(line));
    assert_string_equal(line, ORDER_CANONICAL);
    assert_string_equal(req->uri, "/v1/" PROJECT_ID "/items?" ORDER_CANONICAL);
    hwai_signed_request_free(req);
    hwai_credentials_free(creds);
}

/* The same pairs added one by one in URL order. Covers: hwai__query_canonical and
 * the URI built by hwai__sign. */
static void test_query_order_pairs(void **state)
{
    (void)state;
    sign_case c;
    sign_case_init(&c, "GET", "/v1/" PROJECT_ID "/items");
    const char *pairs[][2] = {
        { "select-type", "2" }, { "select", "" }, { "tag", "b" },
        { "tag", "a" },         { "tag", "10" },  { "tag", "9" },
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        assert_true(hwai__query_add(&c.query, pairs[i][0], pairs[i][1]));
    }
    hwai__buf canonical = HWAI__BUF_INIT;
    assert_true(hwai__query_canonical(&c.query, &canonical));
    assert_string_equal(canonical.data, ORDER_CANONICAL);
    hwai__buf_cleanup(&canonical);

    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));
    assert_int_equal(sign_case_run(&c), HWAI_OK);
    assert_string_equal(c.result.uri, "/v1/" PROJECT_ID "/items?" ORDER_CANONICAL);
    sign_case_cleanup(&c);
}

/* ---- headers ---- */

/* Names differing only in case, given to hwai_sign(). Covers: HWAI_E_SIGN, a
 * message naming both spellings, and also for X-Sdk-Date itself. */
static void test_headers_duplicate_case_rejected(void **state)
{
    (void)state;
    hwai_http_header custom[] = { { "X-Sdk-Date", TEST_DATE },
                                  { "X-Trace", "1" },
                                  { "x-trace", "2" } };
    hwai_http_header date[] = { { "X-Sdk-Date", TEST_DATE }, { "x-sdk-date", TEST_DATE } };
    struct {
        const hwai_http_header *headers;
        size_t count;
        const char *first;
        const char *second;
    } cases[] = {
        { custom, 3, "'X-Trace'", "'x-trace'" },
        { date, 2, "'X-Sdk-Date'", "'x-sdk-date'" },
    };
    hwai_credentials *creds = test_credentials(NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hwai_sign_input input = HWAI_SIGN_INPUT_INIT;
        input.method = "GET";
        input.url = "https://example.huaweicloud.com/path";
        input.headers = cases[i].headers;
        input.header_count = cases[i].count;
        hwai_signed_request *req = NULL;
        hwai_error *err = NULL;

        assert_int_equal(hwai_sign(&req, creds, &input, &err), HWAI_E_SIGN);
        assert_null(req);
        assert_non_null(strstr(hwai_error_message(err), cases[i].first));
        assert_non_null(strstr(hwai_error_message(err), cases[i].second));
        hwai_error_free(err);
    }
    hwai_credentials_free(creds);
}

/* Control characters in a header value could inject a header. Covers: CR, LF and
 * the message naming the header but not showing the value. */
static void test_header_control_value_rejected(void **state)
{
    (void)state;
    const char *values[] = { "a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x01" };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        sign_case c;
        sign_case_init(&c, "GET", "/path");
        assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));
        assert_true(hwai__headers_add(&c.headers, "X-Note", values[i]));

        assert_int_equal(sign_case_run(&c), HWAI_E_INVALID_ARG);
        assert_non_null(strstr(hwai_error_message(c.err), "X-Note"));
        assert_null(strstr(hwai_error_message(c.err), values[i]));
        sign_case_cleanup(&c);
    }
}

/* Header names containing '_' are sent but not signed. */
static void test_header_underscore_unsigned(void **state)
{
    (void)state;
    sign_case c;
    sign_case_init(&c, "GET", "/path");
    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));
    assert_true(hwai__headers_add(&c.headers, "X_Custom", "1"));
    assert_true(hwai__headers_add(&c.headers, "X-Custom", "2"));

    assert_int_equal(sign_case_run(&c), HWAI_OK);
    assert_string_equal(c.result.signed_headers, "x-custom;x-sdk-date");
    assert_null(strstr(c.result.canonical_request, "x_custom"));
    assert_string_equal(hwai__headers_get(&c.headers, "X_Custom"), "1");
    sign_case_cleanup(&c);
}

/* Header values are trimmed in the canonical request, inner spaces kept. */
static void test_header_value_trimmed(void **state)
{
    (void)state;
    sign_case c;
    sign_case_init(&c, "GET", "/path");
    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));
    assert_true(hwai__headers_add(&c.headers, "X-Note", " \ta  b\t "));

    assert_int_equal(sign_case_run(&c), HWAI_OK);
    assert_non_null(strstr(c.result.canonical_request, "\nx-note:a  b\n"));
    sign_case_cleanup(&c);
}

/* An Authorization header already present is replaced, not signed. */
static void test_authorization_replaced(void **state)
{
    (void)state;
    sign_case c;
    sign_case_init(&c, "GET", "/path");
    assert_true(hwai__headers_add(&c.headers, "authorization", "stale value"));
    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));
    assert_true(hwai__query_add(&c.query, "limit", "1"));

    assert_int_equal(sign_case_run(&c), HWAI_OK);
    assert_string_equal(c.result.signature, LIMIT_SIGNATURE);
    assert_int_equal(c.headers.count, 2);
    assert_string_equal(hwai__headers_get(&c.headers, "Authorization"), c.result.authorization);
    sign_case_cleanup(&c);
}

/* Host comes from params->host unless a host header of any case exists. */
static void test_host_added_once(void **state)
{
    (void)state;
    sign_case c;
    sign_case_init(&c, "GET", "/path");
    c.params.host = "example.com:8443";
    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));
    assert_int_equal(sign_case_run(&c), HWAI_OK);
    assert_string_equal(hwai__headers_get(&c.headers, "Host"), "example.com:8443");
    assert_non_null(strstr(c.result.canonical_request, "\nhost:example.com:8443\n"));
    sign_case_cleanup(&c);

    sign_case_init(&c, "GET", "/path");
    c.params.host = "example.com:8443";
    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));
    assert_true(hwai__headers_add(&c.headers, "host", "gateway.example.com"));
    assert_int_equal(sign_case_run(&c), HWAI_OK);
    assert_int_equal(c.headers.count, 3);
    assert_non_null(strstr(c.result.canonical_request, "\nhost:gateway.example.com\n"));
    sign_case_cleanup(&c);
}

/* ---- X-Sdk-Date ---- */

/* Covers: wrong layout, each field out of range, non-digits, a lowercase T or Z,
 * February 29 outside a leap year, extra and missing characters. Each is rejected
 * with HWAI_E_SIGN and a message that names the value and the expected format. */
static void test_date_invalid_rejected(void **state)
{
    (void)state;
    const char *dates[] = {
        "2024-03-15T08:15:30Z", "20241315T081530Z",
        "20240015T081530Z",     "20240230T081530Z",
        "20230229T081530Z",     "20240315T241530Z",
        "20240315T086030Z",     "20240315T081560Z",
        "2024031xT081530Z",     "20240315T08153aZ",
        "20240315t081530z",     "20240315T081530",
        "20240315T081530Z0",    "",
        "00000315T081530Z",     " 20240315T081530Z",
    };
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        sign_case c;
        sign_case_init(&c, "GET", "/path");
        assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", dates[i]));

        hwai_status status = sign_case_run(&c);
        if (status != HWAI_E_SIGN) {
            fail_msg("X-Sdk-Date \"%s\" gave status %d, expected HWAI_E_SIGN", dates[i], status);
        }
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "'%s'", dates[i]);
        assert_non_null(strstr(hwai_error_message(c.err), quoted));
        assert_non_null(strstr(hwai_error_message(c.err), "YYYYMMDDTHHMMSSZ"));
        sign_case_cleanup(&c);
    }
}

/* Covers: a leap day, the last second of a year, and a lowercase header name. */
static void test_date_valid_accepted(void **state)
{
    (void)state;
    const char *dates[] = { "20240229T000000Z", "20231231T235959Z", "20000229T120000Z" };
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        sign_case c;
        sign_case_init(&c, "GET", "/path");
        assert_true(hwai__headers_add(&c.headers, "x-sdk-date", dates[i]));

        assert_int_equal(sign_case_run(&c), HWAI_OK);
        char line[64];
        copy_line(c.result.string_to_sign, 1, line, sizeof(line));
        assert_string_equal(line, dates[i]);
        assert_int_equal(c.headers.count, 2);
        sign_case_cleanup(&c);
    }
}

/* Without X-Sdk-Date the signer formats params->now in UTC. 1136214245 is
 * 2006-01-02 15:04:05 UTC, so the query test's signature comes out again. */
static void test_date_from_clock(void **state)
{
    (void)state;
    sign_case c;
    sign_case_init(&c, "GET", "/path");
    c.params.now = 1136214245;
    assert_true(hwai__query_add(&c.query, "limit", "1"));

    assert_int_equal(sign_case_run(&c), HWAI_OK);
    assert_string_equal(hwai__headers_get(&c.headers, "X-Sdk-Date"), TEST_DATE);
    assert_string_equal(c.result.signature, LIMIT_SIGNATURE);
    sign_case_cleanup(&c);
}

/* ---- credentials ---- */

/* Covers: empty and NULL AK or SK give HWAI_E_AUTH naming the missing key, and the
 * message shows neither key's value. */
static void test_empty_keys_rejected(void **state)
{
    (void)state;
    struct {
        const char *ak;
        const char *sk;
        const char *named;
        const char *other;
    } cases[] = {
        { "", TEST_SK, "(AK)", TEST_SK },
        { NULL, TEST_SK, "(AK)", TEST_SK },
        { TEST_AK, "", "(SK)", TEST_AK },
        { TEST_AK, NULL, "(SK)", TEST_AK },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sign_case c;
        sign_case_init(&c, "GET", "/path");
        c.params.ak = cases[i].ak;
        c.params.sk = cases[i].sk;
        assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));

        assert_int_equal(sign_case_run(&c), HWAI_E_AUTH);
        assert_non_null(strstr(hwai_error_message(c.err), cases[i].named));
        assert_null(strstr(hwai_error_message(c.err), cases[i].other));
        assert_null(c.result.authorization);
        sign_case_cleanup(&c);
    }
}

/* A security token is added as X-Security-Token and signed. */
static void test_security_token_signed(void **state)
{
    (void)state;
    hwai_credentials *creds = test_credentials("token-value");
    hwai_http_header headers[] = { { "X-Sdk-Date", TEST_DATE } };
    hwai_sign_input input = HWAI_SIGN_INPUT_INIT;
    input.method = "GET";
    input.url = "https://example.huaweicloud.com/path";
    input.headers = headers;
    input.header_count = 1;
    hwai_signed_request *req = NULL;

    assert_int_equal(hwai_sign(&req, creds, &input, NULL), HWAI_OK);
    assert_string_equal(req->signed_headers, "host;x-sdk-date;x-security-token");
    assert_non_null(strstr(req->canonical_request, "\nx-security-token:token-value\n"));
    assert_int_equal(req->header_count, 4);
    assert_string_equal(req->headers[0].name, "X-Sdk-Date");
    assert_string_equal(req->headers[1].name, "X-Security-Token");
    assert_string_equal(req->headers[2].name, "Host");
    assert_string_equal(req->headers[3].name, "Authorization");
    hwai_signed_request_free(req);
    hwai_credentials_free(creds);
}

/* API key credentials are sent as a Bearer token, so hwai_sign() rejects them. */
static void test_api_key_not_signed(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_api_key(&creds, "key-123", NULL), HWAI_OK);
    hwai_sign_input input = HWAI_SIGN_INPUT_INIT;
    input.method = "GET";
    input.url = "https://example.huaweicloud.com/path";
    hwai_signed_request *req = NULL;
    hwai_error *err = NULL;

    assert_int_equal(hwai_sign(&req, creds, &input, &err), HWAI_E_INVALID_ARG);
    assert_null(req);
    assert_null(strstr(hwai_error_message(err), "key-123"));
    hwai_error_free(err);
    hwai_credentials_free(creds);
}

/* ---- payload hash ---- */

/* Covers: a Content-Type other than JSON or BSON adds the signed header
 * X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD, which replaces the body hash. JSON and
 * BSON, also with parameters, hash the body. An empty body hashes as empty even
 * with the header. */
static void test_unsigned_payload_rule(void **state)
{
    (void)state;
    char body_hash[HWAI__SHA256_HEX_LEN + 1];
    assert_int_equal(hwai__sha256_hex("hello", 5, body_hash), HWAI_OK);
    struct {
        const char *content_type;
        const char *body;
        bool adds_header;
        const char *payload_hash;
    } cases[] = {
        { "text/plain", "hello", true, "UNSIGNED-PAYLOAD" },
        { "application/octet-stream", "hello", true, "UNSIGNED-PAYLOAD" },
        { "Application/JSON", "hello", true, "UNSIGNED-PAYLOAD" },
        { "application/json", "hello", false, body_hash },
        { "application/json;charset=UTF-8", "hello", false, body_hash },
        { "application/bson", "hello", false, body_hash },
        { "text/plain", "", true, EMPTY_SHA256 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sign_case c;
        sign_case_init(&c, "POST", "/path");
        c.params.body = cases[i].body;
        c.params.body_len = strlen(cases[i].body);
        assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));
        assert_true(hwai__headers_add(&c.headers, "Content-Type", cases[i].content_type));

        assert_int_equal(sign_case_run(&c), HWAI_OK);
        const char *header = hwai__headers_get(&c.headers, "X-Sdk-Content-Sha256");
        if (cases[i].adds_header) {
            assert_non_null(header);
            assert_string_equal(header, "UNSIGNED-PAYLOAD");
            assert_string_equal(
                c.result.signed_headers, "content-type;x-sdk-content-sha256;x-sdk-date");
        } else {
            assert_null(header);
        }
        const char *payload_hash = strrchr(c.result.canonical_request, '\n') + 1;
        assert_string_equal(payload_hash, cases[i].payload_hash);
        sign_case_cleanup(&c);
    }
}

/* SM3 uses X-Sdk-Content-Sm3 and the SM3 hash, or reports that the build lacks it. */
static void test_sm3_content_header(void **state)
{
    (void)state;
    sign_case c;
    sign_case_init(&c, "POST", "/path");
    c.params.algorithm = HWAI_SIGN_SDK_HMAC_SM3;
    c.params.body = "hello";
    c.params.body_len = 5;
    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));
    assert_true(hwai__headers_add(&c.headers, "Content-Type", "text/plain"));

    hwai_status status = sign_case_run(&c);
    if (hwai__sm3_available()) {
        assert_int_equal(status, HWAI_OK);
        assert_string_equal(hwai__headers_get(&c.headers, "X-Sdk-Content-Sm3"), "UNSIGNED-PAYLOAD");
        assert_null(hwai__headers_get(&c.headers, "X-Sdk-Content-Sha256"));
        assert_true(strncmp(c.result.authorization, "SDK-HMAC-SM3 Access=", 20) == 0);
    } else {
        assert_int_equal(status, HWAI_E_UNSUPPORTED);
        assert_non_null(strstr(hwai_error_message(c.err), "-Dsm3=enabled"));
    }
    sign_case_cleanup(&c);
}

/* ---- path ---- */

/* Raw UTF-8 in the path and its percent-encoded form give the same canonical URI.
 * The wire URI keeps the path as given. */
static void test_path_non_ascii(void **state)
{
    (void)state;
    const char *paths[] = { "/v1/\xe4\xb8\xad\xe6\x96\x87", "/v1/%E4%B8%AD%e6%96%87" };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        sign_case c;
        sign_case_init(&c, "GET", paths[i]);
        assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));

        assert_int_equal(sign_case_run(&c), HWAI_OK);
        char line[128];
        copy_line(c.result.canonical_request, 1, line, sizeof(line));
        assert_string_equal(line, "/v1/%E4%B8%AD%E6%96%87/");
        assert_string_equal(c.result.uri, paths[i]);
        sign_case_cleanup(&c);
    }
}

/* Covers: an encoded slash becomes a separator, sub-delimiters are escaped, a
 * malformed escape is kept as a literal '%', and "//" survives. */
static void test_path_canonical_forms(void **state)
{
    (void)state;
    const char *cases[][2] = {
        { "/v1/a%2Fb", "/v1/a/b/" },
        { "/v1/a:b@c!$'()*+,;=", "/v1/a%3Ab%40c%21%24%27%28%29%2A%2B%2C%3B%3D/" },
        { "/v1/100%/x%zz", "/v1/100%25/x%25zz/" },
        { "/v1//models/", "/v1//models/" },
        { "/", "/" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sign_case c;
        sign_case_init(&c, "GET", cases[i][0]);
        assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));

        assert_int_equal(sign_case_run(&c), HWAI_OK);
        char line[128];
        copy_line(c.result.canonical_request, 1, line, sizeof(line));
        assert_string_equal(line, cases[i][1]);
        sign_case_cleanup(&c);
    }
}

/* Covers: empty and relative paths, a space, and bytes that are not UTF-8 after
 * decoding, each rejected with HWAI_E_SIGN. */
static void test_path_invalid_rejected(void **state)
{
    (void)state;
    struct {
        const char *path;
        const char *message_part;
    } cases[] = {
        { "", "must start with /" }, { "path", "must start with /" }, { "/a b", "space" },
        { "/v1/%FF", "UTF-8" },      { "/v1/%C0%AF", "UTF-8" },       { "/v1/%ED%A0%80", "UTF-8" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sign_case c;
        sign_case_init(&c, "GET", cases[i].path);
        assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));

        assert_int_equal(sign_case_run(&c), HWAI_E_SIGN);
        assert_non_null(strstr(hwai_error_message(c.err), cases[i].message_part));
        sign_case_cleanup(&c);
    }
}

/* A URL without a path is rejected by hwai_sign() rather than signed as "/". */
static void test_url_without_path_rejected(void **state)
{
    (void)state;
    hwai_credentials *creds = test_credentials(NULL);
    hwai_sign_input input = HWAI_SIGN_INPUT_INIT;
    input.method = "GET";
    input.url = "https://example.huaweicloud.com?x=1";
    hwai_signed_request *req = NULL;
    hwai_error *err = NULL;

    assert_int_equal(hwai_sign(&req, creds, &input, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "path"));
    hwai_error_free(err);
    hwai_credentials_free(creds);
}

/* ---- V11 ---- */

/* Covers: the scope in Authorization and in the string to sign, and a missing
 * service or region. */
static void test_v11_scope(void **state)
{
    (void)state;
    sign_case c;
    sign_case_init(&c, "GET", "/path");
    c.params.algorithm = HWAI_SIGN_V11_HMAC_SHA256;
    c.params.service = "nlp";
    c.params.region = "cn-north-4";
    assert_true(hwai__headers_add(&c.headers, "X-Sdk-Date", TEST_DATE));
    assert_int_equal(sign_case_run(&c), HWAI_OK);
    assert_true(
        strncmp(
            c.result.authorization,
            "V11-HMAC-SHA256 Credential=" TEST_AK "/20060102/cn-north-4/nlp, ", 56) == 0);
    char line[64];
    copy_line(c.result.string_to_sign, 2, line, sizeof(line));
    assert_string_equal(line, "20060102/cn-north-4/nlp");
    sign_case_cleanup(&c);

    const char *scopes[][2] = { { NULL, "cn-north-4" }, { "nlp", "" } };
    for (size_t i = 0; i < 2; i++) {
        sign_case_init(&c, "GET", "/path");
        c.params.algorithm = HWAI_SIGN_V11_HMAC_SHA256;
        c.params.service = scopes[i][0];
        c.params.region = scopes[i][1];
        assert_int_equal(sign_case_run(&c), HWAI_E_INVALID_ARG);
        sign_case_cleanup(&c);
    }
}

/* ---- public API arguments ---- */

static void test_sign_input_init_version(void **state)
{
    (void)state;
    hwai_sign_input input;
    assert_int_equal(hwai_sign_input_init(&input, HWAI_SIGN_INPUT_VERSION), HWAI_OK);
    assert_int_equal(input.version, HWAI_SIGN_INPUT_VERSION);
    assert_null(input.url);
    assert_int_equal(hwai_sign_input_init(&input, 0), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_sign_input_init(&input, HWAI_SIGN_INPUT_VERSION + 1), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_sign_input_init(NULL, HWAI_SIGN_INPUT_VERSION), HWAI_E_INVALID_ARG);
}

/* Covers: NULL out, credentials and input, an unknown input version, a bad method
 * and a NULL header name. */
static void test_sign_bad_arguments(void **state)
{
    (void)state;
    hwai_credentials *creds = test_credentials(NULL);
    hwai_signed_request *req = NULL;
    hwai_sign_input input = HWAI_SIGN_INPUT_INIT;
    input.method = "GET";
    input.url = "https://example.huaweicloud.com/path";

    assert_int_equal(hwai_sign(NULL, creds, &input, NULL), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_sign(&req, NULL, &input, NULL), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_sign(&req, creds, NULL, NULL), HWAI_E_INVALID_ARG);

    input.version = 2;
    assert_int_equal(hwai_sign(&req, creds, &input, NULL), HWAI_E_INVALID_ARG);
    input.version = HWAI_SIGN_INPUT_VERSION;

    input.method = "GET /x";
    assert_int_equal(hwai_sign(&req, creds, &input, NULL), HWAI_E_INVALID_ARG);
    input.method = "GET";

    hwai_http_header headers[] = { { NULL, "1" } };
    input.headers = headers;
    input.header_count = 1;
    assert_int_equal(hwai_sign(&req, creds, &input, NULL), HWAI_E_INVALID_ARG);
    assert_null(req);
    hwai_credentials_free(creds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_as_pairs_signed),
        cmocka_unit_test(test_query_in_url_signed),
        cmocka_unit_test(test_query_in_url_public_api),
        cmocka_unit_test(test_query_both_routes_once),
        cmocka_unit_test(test_query_in_path_rejected),
        cmocka_unit_test(test_query_order_public_api),
        cmocka_unit_test(test_query_order_pairs),
        cmocka_unit_test(test_headers_duplicate_case_rejected),
        cmocka_unit_test(test_header_control_value_rejected),
        cmocka_unit_test(test_header_underscore_unsigned),
        cmocka_unit_test(test_header_value_trimmed),
        cmocka_unit_test(test_authorization_replaced),
        cmocka_unit_test(test_host_added_once),
        cmocka_unit_test(test_date_invalid_rejected),
        cmocka_unit_test(test_date_valid_accepted),
        cmocka_unit_test(test_date_from_clock),
        cmocka_unit_test(test_empty_keys_rejected),
        cmocka_unit_test(test_security_token_signed),
        cmocka_unit_test(test_api_key_not_signed),
        cmocka_unit_test(test_unsigned_payload_rule),
        cmocka_unit_test(test_sm3_content_header),
        cmocka_unit_test(test_path_non_ascii),
        cmocka_unit_test(test_path_canonical_forms),
        cmocka_unit_test(test_path_invalid_rejected),
        cmocka_unit_test(test_url_without_path_rejected),
        cmocka_unit_test(test_v11_scope),
        cmocka_unit_test(test_sign_input_init_version),
        cmocka_unit_test(test_sign_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
