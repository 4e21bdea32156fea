/* Tests of the HTTP transport and of how the pipeline reads responses, against a
 * scripted raw server on 127.0.0.1 that writes exactly the bytes each test
 * gives it. Calls go through the public API (hwai_nlp_sentiment with AK/SK
 * credentials) unless a test needs the response headers, which only the
 * internal transport returns. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hwai/hwai.h"
#include "raw_server.h"
#include "transport/transport.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

/* Made-up credentials: the raw server checks no signature. */
#define TEST_AK "TRANSPORTTESTAK00001"
#define TEST_SK "transport-test-sk-0123456789abcdef"
#define TEST_PROJECT_ID "0123456789abcdef0123456789abcdef"

/* libcurl waits up to this long for "100 Continue" after sending
 * "Expect: 100-continue" (the documented CURLOPT_EXPECT_100_TIMEOUT_MS default). */
#define EXPECT_WAIT_MS 1000.0

#define SENTIMENT_JSON "{\"result\":{\"content\":\"ok\",\"label\":1,\"confidence\":0.9731}}"
#define IAM_ERROR_JSON "{\"error_code\":\"APIGW.0301\",\"error_msg\":\"Incorrect IAM auth\"}"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1.0e6;
}

/* Returns "<head>Content-Length: N\r\n\r\n<body>" as a new string. head contains
 * the status line and any other header lines, each ending in CRLF. */
static char *build_response(const char *head, const char *body, size_t body_len)
{
    char length_line[64];
    snprintf(length_line, sizeof(length_line), "Content-Length: %zu\r\n\r\n", body_len);
    size_t head_len = strlen(head);
    size_t line_len = strlen(length_line);
    char *response = malloc(head_len + line_len + body_len + 1);
    assert_non_null(response);
    memcpy(response, head, head_len);
    memcpy(response + head_len, length_line, line_len);
    memcpy(response + head_len + line_len, body, body_len);
    response[head_len + line_len + body_len] = '\0';
    return response;
}

/* A valid sentiment response body padded with trailing spaces to exactly len
 * bytes, which JSON allows. */
static char *sentiment_body(size_t len)
{
    size_t json_len = strlen(SENTIMENT_JSON);
    assert_true(len >= json_len);
    char *body = malloc(len + 1);
    assert_non_null(body);
    memcpy(body, SENTIMENT_JSON, json_len);
    memset(body + json_len, ' ', len - json_len);
    body[len] = '\0';
    return body;
}

static raw_server *start_server(const raw_script *script)
{
    raw_server *srv = NULL;
    assert_true(raw_server_start(&srv, script));
    return srv;
}

static hwai_client *new_client(const char *endpoint, size_t max_response_bytes)
{
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, TEST_AK, TEST_SK, NULL, NULL), HWAI_OK);
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = endpoint;
    opts.project_id = TEST_PROJECT_ID;
    opts.credentials = creds;
    opts.timeout_ms = 10000;
    opts.max_response_bytes = max_response_bytes;
    hwai_client *client = NULL;
    hwai_error *err = NULL;
    hwai_status status = hwai_client_new(&client, &opts, &err);
    if (status != HWAI_OK) {
        print_error("hwai_client_new: %s\n", hwai_error_message(err));
    }
    assert_int_equal(status, HWAI_OK);
    hwai_credentials_free(creds);
    return client;
}

static hwai_status call_sentiment(hwai_client *client, const char *content, hwai_error **err)
{
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = content;
    hwai_sentiment_result *result = NULL;
    hwai_status status = hwai_nlp_sentiment(&result, client, &req, err);
    if (status == HWAI_OK) {
        assert_non_null(result);
        assert_int_equal(result->label, 1);
    } else {
        assert_null(result);
    }
    hwai_sentiment_result_free(result);
    return status;
}

static char *repeat_char(char c, size_t len)
{
    char *text = malloc(len + 1);
    assert_non_null(text);
    memset(text, c, len);
    text[len] = '\0';
    return text;
}

/* Serves the given response to every request and makes one sentiment call
 * with a client whose max_response_bytes is max_response_bytes (0 for the
 * default). The caller frees *err. */
static hwai_status
call_with_response(const char *response, size_t max_response_bytes, hwai_error **err)
{
    raw_chunk chunk = { response, 0, 0 };
    raw_reply reply = { &chunk, 1, false, false };
    raw_script script = { &reply, 1, 0 };
    raw_server *srv = start_server(&script);
    hwai_client *client = new_client(raw_server_url(srv), max_response_bytes);
    hwai_status status = call_sentiment(client, "text to analyse", err);
    hwai_client_free(client);
    raw_server_stop(srv);
    return status;
}

/* Sends one sentiment call with content_len bytes of content, checks the
 * request as the server received it and returns how long the call took in
 * milliseconds. The server never sends "100 Continue", so a client that sends
 * "Expect: 100-continue" stalls until its own wait runs out. */
static double post_without_expect(size_t content_len)
{
    char *response = build_response(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", SENTIMENT_JSON,
        strlen(SENTIMENT_JSON));
    raw_chunk chunk = { response, 0, 0 };
    raw_reply reply = { &chunk, 1, false, false };
    raw_script script = { &reply, 1, 0 };
    raw_server *srv = start_server(&script);
    hwai_client *client = new_client(raw_server_url(srv), 0);
    char *content = repeat_char('a', content_len);

    hwai_error *err = NULL;
    double start = now_ms();
    hwai_status status = call_sentiment(client, content, &err);
    double elapsed = now_ms() - start;
    if (status != HWAI_OK) {
        print_error("sentiment call failed: %s\n", hwai_error_message(err));
    }
    assert_int_equal(status, HWAI_OK);

    raw_request req;
    assert_true(raw_server_last_request(srv, &req));
    assert_int_equal(raw_server_request_count(srv), 1);
    assert_false(req.has_expect);
    assert_false(req.chunked);
    assert_true(req.complete);
    assert_true(req.content_length > (long long)content_len);
    assert_int_equal(req.body_len, (size_t)req.content_length);
    assert_memory_equal(
        req.bytes, "POST /v1/" TEST_PROJECT_ID "/nlu/sentiment HTTP/1.1\r\n",
        strlen("POST /v1/" TEST_PROJECT_ID "/nlu/sentiment HTTP/1.1\r\n"));

    raw_request_cleanup(&req);
    hwai_error_free(err);
    free(content);
    hwai_client_free(client);
    raw_server_stop(srv);
    free(response);
    return elapsed;
}

/* Variant: a 2 KiB JSON body. libcurl 7.88 adds "Expect: 100-continue" by
 * itself only to bodies over 1 MiB (EXPECT_100_THRESHOLD in its lib/http.h),
 * so this checks that hwai adds none either. */
static void test_transport_small_post_no_expect(void **state)
{
    (void)state;
    double elapsed = post_without_expect(2 * KIB);
    print_message("2 KiB POST to a server that ignores Expect: %.1f ms\n", elapsed);
    assert_true(elapsed < 500.0);
}

/* Variant: a 2 MiB JSON body, large enough that libcurl would send
 * "Expect: 100-continue" unless the request turns it off. */
static void test_transport_large_post_no_expect(void **state)
{
    (void)state;
    double elapsed = post_without_expect(2 * MIB);
    print_message("2 MiB POST to a server that ignores Expect: %.1f ms\n", elapsed);
    assert_true(elapsed < EXPECT_WAIT_MS);
}

#define FINAL_401_HEAD                                                \
    "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n" \
    "X-Request-Id: req-final\r\nX-Request-Id:req-dup\r\n"

/* Interim responses sent before the final 401. */
typedef struct interim_case {
    const char *interim;
    /* Milliseconds between the interim responses and the final one. */
    unsigned int pause_ms;
} interim_case;

static const interim_case interim_cases[] = {
    /* Two bare "100 Continue" responses in the same packet as the final one. */
    { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n", 0 },
    /* The same, with the final response arriving 20 ms later in its own packet. */
    { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n", 20 },
    /* Interim responses carrying headers, one of them a competing X-Request-Id. */
    { "HTTP/1.1 103 Early Hints\r\nLink: </hint.css>; rel=preload\r\n"
      "X-Request-Id: req-early\r\n\r\nHTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n",
      0 },
};

/* Checks the 401 through the internal transport, which returns the header
 * list of the final response. */
static void check_final_headers_only(const raw_server *srv)
{
    hwai__transport *transport = NULL;
    hwai__transport_config config = { 0 };
    assert_int_equal(hwai__transport_curl_new(&transport, &config, NULL), HWAI_OK);
    char url[96];
    snprintf(url, sizeof(url), "%s/v1/check", raw_server_url(srv));
    hwai__http_request req = { .method = "POST",
                               .url = url,
                               .body = "{}",
                               .body_len = 2,
                               .connect_timeout_ms = 5000,
                               .timeout_ms = 10000,
                               .max_response_bytes = MIB };
    hwai__http_response resp = HWAI__HTTP_RESPONSE_INIT;
    hwai_error *err = NULL;
    assert_int_equal(transport->ops->perform(transport, &req, &resp, &err), HWAI_OK);
    assert_null(err);

    char length[16];
    snprintf(length, sizeof(length), "%zu", strlen(IAM_ERROR_JSON));
    const char *expected[][2] = {
        { "Content-Type", "application/json" },
        { "X-Request-Id", "req-final" },
        { "X-Request-Id", "req-dup" },
        { "Content-Length", length },
    };
    assert_int_equal(resp.status, 401);
    assert_int_equal(resp.headers.count, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(resp.headers.items[i].name, expected[i][0]);
        assert_string_equal(resp.headers.items[i].value, expected[i][1]);
    }
    assert_int_equal(resp.body.len, strlen(IAM_ERROR_JSON));
    assert_memory_equal(resp.body.data, IAM_ERROR_JSON, resp.body.len);

    hwai__http_response_cleanup(&resp);
    transport->ops->destroy(transport);
}

/* Variants: two bare 100 Continue responses in one packet with the final
 * response and split from it, and 103 plus 100 responses that carry headers
 * of their own. The final response repeats X-Request-Id, the second time
 * without a space. */
static void test_transport_interim_responses_dropped(void **state)
{
    (void)state;
    char *final_response = build_response(FINAL_401_HEAD, IAM_ERROR_JSON, strlen(IAM_ERROR_JSON));
    for (size_t i = 0; i < sizeof(interim_cases) / sizeof(interim_cases[0]); i++) {
        raw_chunk chunks[] = {
            { interim_cases[i].interim, 0, 0 },
            { final_response, 0, interim_cases[i].pause_ms },
        };
        raw_reply reply = { chunks, 2, false, false };
        raw_script script = { &reply, 1, 0 };
        raw_server *srv = start_server(&script);
        hwai_client *client = new_client(raw_server_url(srv), 0);

        hwai_error *err = NULL;
        assert_int_equal(call_sentiment(client, "text to analyse", &err), HWAI_E_SERVICE);
        assert_int_equal(hwai_error_http_status(err), 401);
        assert_string_equal(hwai_error_code(err), "APIGW.0301");
        assert_true(hwai_error_code_is(err, "APIG.0301"));
        assert_string_equal(hwai_error_request_id(err), "req-final");
        assert_non_null(strstr(hwai_error_message(err), "Incorrect IAM auth"));
        hwai_error_free(err);

        check_final_headers_only(srv);
        hwai_client_free(client);
        raw_server_stop(srv);
    }
    free(final_response);
}

typedef struct redirect_case {
    const char *status_line;
    const char *location;
    int http_status;
} redirect_case;

static const redirect_case redirect_cases[] = {
    { "HTTP/1.1 302 Found\r\n", "https://example.invalid/v1/elsewhere", 302 },
    { "HTTP/1.1 301 Moved Permanently\r\n", "http://192.0.2.1/v1/elsewhere", 301 },
    { "HTTP/1.1 307 Temporary Redirect\r\n", "https://example.invalid:8443/v1/x", 307 },
    { "HTTP/1.1 308 Permanent Redirect\r\n", "/v1/same-host", 308 },
};

/* Variants: 302 and 307 to another host over https, 301 to another host over
 * plain http, and 308 to a path on the same server. A signed request is valid
 * for one host and path, so none is followed. */
static void test_transport_redirect_not_followed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(redirect_cases) / sizeof(redirect_cases[0]); i++) {
        const redirect_case *rc = &redirect_cases[i];
        char head[256];
        snprintf(
            head, sizeof(head), "%sLocation: %s\r\nX-Request-Id: req-redirect\r\n", rc->status_line,
            rc->location);
        char *response = build_response(head, "", 0);
        raw_chunk chunk = { response, 0, 0 };
        raw_reply reply = { &chunk, 1, false, false };
        raw_script script = { &reply, 1, 0 };
        raw_server *srv = start_server(&script);
        hwai_client *client = new_client(raw_server_url(srv), 0);

        hwai_error *err = NULL;
        assert_int_equal(call_sentiment(client, "text to analyse", &err), HWAI_E_SERVICE);
        assert_int_equal(hwai_error_http_status(err), rc->http_status);
        assert_non_null(strstr(hwai_error_message(err), "redirect"));
        assert_non_null(strstr(hwai_error_message(err), rc->location));
        assert_string_equal(hwai_error_request_id(err), "req-redirect");
        assert_int_equal(raw_server_request_count(srv), 1);
        assert_int_equal(raw_server_connection_count(srv), 1);

        hwai_error_free(err);
        hwai_client_free(client);
        raw_server_stop(srv);
        free(response);
    }
}

/* Returns a chunked 200 response whose body is body_len bytes in one chunk. */
static char *chunked_response(size_t body_len)
{
    char *body = sentiment_body(body_len);
    size_t cap = body_len + 256;
    char *response = malloc(cap);
    assert_non_null(response);
    snprintf(
        response, cap,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
        body_len, body);
    free(body);
    return response;
}

/* Variants: a Content-Length body exactly at max_response_bytes (accepted),
 * one byte over it, and a chunked body without Content-Length over it. */
static void test_transport_body_over_limit(void **state)
{
    (void)state;
    const size_t limit = KIB;
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
    char *body = sentiment_body(limit);
    char *response = build_response(head, body, limit);
    hwai_error *err = NULL;
    hwai_status status = call_with_response(response, limit, &err);
    if (status != HWAI_OK) {
        print_error("body at the limit: %s\n", hwai_error_message(err));
    }
    assert_int_equal(status, HWAI_OK);
    free(response);
    free(body);

    body = sentiment_body(limit + 1);
    response = build_response(head, body, limit + 1);
    assert_int_equal(call_with_response(response, limit, &err), HWAI_E_RESPONSE_TOO_LARGE);
    assert_non_null(strstr(hwai_error_message(err), "max_response_bytes"));
    hwai_error_free(err);
    err = NULL;
    free(response);
    free(body);

    response = chunked_response(4 * limit);
    assert_int_equal(call_with_response(response, limit, &err), HWAI_E_RESPONSE_TOO_LARGE);
    hwai_error_free(err);
    free(response);
}

/* Returns a 200 sentiment response whose header block, from the status line to
 * the empty line that ends it, is exactly total bytes long. */
static char *response_with_header_bytes(size_t total)
{
    const char *start = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
    char end[64];
    snprintf(end, sizeof(end), "Content-Length: %zu\r\n\r\n", strlen(SENTIMENT_JSON));
    size_t fixed = strlen(start) + strlen(end);
    assert_true(total > fixed + 1000);
    size_t filler = total - fixed;
    /* Filler lines of 900 to 1000 bytes: "X-Filler-NNNN: aaa...\r\n". */
    size_t lines = (filler + 999) / 1000;
    char *response = malloc(total + strlen(SENTIMENT_JSON) + 1);
    assert_non_null(response);
    size_t pos = (size_t)sprintf(response, "%s", start);
    for (size_t i = 0; i < lines; i++) {
        size_t line_len = filler / lines + (i < filler % lines ? 1 : 0);
        int prefix = sprintf(response + pos, "X-Filler-%04zu: ", i);
        memset(response + pos + (size_t)prefix, 'a', line_len - (size_t)prefix - 2);
        memcpy(response + pos + line_len - 2, "\r\n", 2);
        pos += line_len;
    }
    pos += (size_t)sprintf(response + pos, "%s", end);
    assert_int_equal(pos, total);
    strcpy(response + pos, SENTIMENT_JSON);
    return response;
}

/* Variants: a header block of exactly 64 KiB (accepted), 64 KiB + 1 byte, and
 * 128 KiB. The limit counts the status line and every CRLF. */
static void test_transport_headers_over_limit(void **state)
{
    (void)state;
    char *response = response_with_header_bytes(HWAI__MAX_HEADER_BYTES);
    hwai_error *err = NULL;
    hwai_status status = call_with_response(response, 0, &err);
    if (status != HWAI_OK) {
        print_error("headers at the limit: %s\n", hwai_error_message(err));
    }
    assert_int_equal(status, HWAI_OK);
    free(response);

    const size_t over[] = { HWAI__MAX_HEADER_BYTES + 1, 2 * HWAI__MAX_HEADER_BYTES };
    for (size_t i = 0; i < 2; i++) {
        response = response_with_header_bytes(over[i]);
        assert_int_equal(call_with_response(response, 0, &err), HWAI_E_HEADERS_TOO_LARGE);
        hwai_error_free(err);
        err = NULL;
        free(response);
    }
}

typedef struct bad_body_case {
    const char *body;
    /* Part of the expected error message. */
    const char *message;
} bad_body_case;

/* Variants: JSON cut off in the middle, text that is not JSON, an empty body,
 * and valid JSON without the sentiment fields (an empty object, an array). */
static void test_transport_malformed_json(void **state)
{
    (void)state;
    static const bad_body_case cases[] = {
        { "{\"result\":{\"label\":1,", "not valid JSON" },
        { "not json at all", "not valid JSON" },
        { "", "not valid JSON" },
        { "{}", "lacks result.label" },
        { "[1,2]", "lacks result.label" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *response = build_response(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n", cases[i].body,
            strlen(cases[i].body));
        hwai_error *err = NULL;
        assert_int_equal(call_with_response(response, 0, &err), HWAI_E_BAD_RESPONSE);
        if (!strstr(hwai_error_message(err), cases[i].message)) {
            print_error("body '%s': message '%s'\n", cases[i].body, hwai_error_message(err));
        }
        assert_non_null(strstr(hwai_error_message(err), cases[i].message));
        hwai_error_free(err);
        free(response);
    }
}

/* Variants: an HTML page, and a valid sentiment response labelled text/plain. */
static void test_transport_wrong_content_type(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "text/html; charset=utf-8", "<html><body>Service unavailable</body></html>" },
        { "text/plain", SENTIMENT_JSON },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char head[128];
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n", cases[i][0]);
        char *response = build_response(head, cases[i][1], strlen(cases[i][1]));
        hwai_error *err = NULL;
        assert_int_equal(call_with_response(response, 0, &err), HWAI_E_CONTENT_TYPE);
        assert_non_null(strstr(hwai_error_message(err), cases[i][0]));
        hwai_error_free(err);
        free(response);
    }
}

/* Variants: a 502 with a plain-text body and a 502 with an HTML body. Without
 * a code in the body, the HTTP status is the code and the body the message. */
static void test_transport_non_json_error_body(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "text/plain", "Bad Gateway" },
        { "text/html", "<html><body>502 Bad Gateway</body></html>" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char head[128];
        snprintf(
            head, sizeof(head), "HTTP/1.1 502 Bad Gateway\r\nContent-Type: %s\r\n", cases[i][0]);
        char *response = build_response(head, cases[i][1], strlen(cases[i][1]));
        hwai_error *err = NULL;
        assert_int_equal(call_with_response(response, 0, &err), HWAI_E_SERVICE);
        assert_int_equal(hwai_error_http_status(err), 502);
        assert_string_equal(hwai_error_code(err), "502");
        assert_string_equal(hwai_error_message(err), cases[i][1]);
        hwai_error_free(err);
        free(response);
    }
}

/* Counts the open file descriptors of this process that are sockets. */
static int count_socket_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    assert_non_null(dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        char path[300];
        char target[128];
        snprintf(path, sizeof(path), "/proc/self/fd/%s", entry->d_name);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            count += strncmp(target, "socket:", 7) == 0;
        }
    }
    closedir(dir);
    return count;
}

static hwai_status new_client_for(
    const char *endpoint,
    const char *const *allowed_hosts,
    size_t allowed_count,
    hwai_client **client,
    hwai_error **err)
{
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = endpoint;
    opts.project_id = TEST_PROJECT_ID;
    opts.http_allowed_hosts = allowed_hosts;
    opts.http_allowed_host_count = allowed_count;
    return hwai_client_new(client, &opts, err);
}

/* Variants: a documentation-range IPv4 address with and without port, a
 * reserved .invalid name, names that start like loopback names, and an IPv6
 * documentation address. None is loopback, so none may use plain http. */
static void test_transport_insecure_url_rejected(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "http://192.0.2.1/", "192.0.2.1" },
        { "http://example.invalid/", "example.invalid" },
        { "http://192.0.2.1:8080/v1", "192.0.2.1" },
        { "http://127.0.0.1.example.invalid/", "127.0.0.1.example.invalid" },
        { "http://localhost.example.invalid:80/", "localhost.example.invalid" },
        { "http://[2001:db8::1]/", "2001:db8::1" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int sockets_before = count_socket_fds();
        hwai_client *client = NULL;
        hwai_error *err = NULL;
        hwai_status status = new_client_for(cases[i][0], NULL, 0, &client, &err);
        if (status != HWAI_E_INSECURE_URL) {
            print_error("endpoint %s: %s\n", cases[i][0], hwai_error_message(err));
        }
        assert_int_equal(status, HWAI_E_INSECURE_URL);
        assert_null(client);
        assert_non_null(strstr(hwai_error_message(err), cases[i][1]));
        assert_non_null(strstr(hwai_error_message(err), "http_allowed_hosts"));
        assert_int_equal(count_socket_fds(), sockets_before);
        hwai_error_free(err);
    }
}

/* Variants: an allowed address with and without port, an allowed name listed
 * in another case, https to a host not listed, and a host next to an allowed
 * one that stays rejected. Creating a client sends nothing, and nothing is
 * sent here. */
static void test_transport_allowed_http_host(void **state)
{
    (void)state;
    static const char *const allowed[] = { "192.0.2.1", "EXAMPLE.invalid" };
    static const char *const accepted[] = {
        "http://192.0.2.1/",
        "http://192.0.2.1:8080/v1",
        "http://example.invalid/",
        "https://other.example.invalid/",
    };
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        int sockets_before = count_socket_fds();
        hwai_client *client = NULL;
        hwai_error *err = NULL;
        hwai_status status = new_client_for(accepted[i], allowed, 2, &client, &err);
        if (status != HWAI_OK) {
            print_error("endpoint %s: %s\n", accepted[i], hwai_error_message(err));
        }
        assert_int_equal(status, HWAI_OK);
        assert_non_null(client);
        assert_int_equal(count_socket_fds(), sockets_before);
        hwai_client_free(client);
        assert_int_equal(count_socket_fds(), sockets_before);
    }

    hwai_client *client = NULL;
    hwai_error *err = NULL;
    assert_int_equal(
        new_client_for("http://192.0.2.2/", allowed, 2, &client, &err), HWAI_E_INSECURE_URL);
    assert_null(client);
    hwai_error_free(err);
}

/* Variants: host and port, host and path, a bare name, and a
 * scheme-relative URL. */
static void test_transport_endpoint_without_scheme(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "127.0.0.1:8080",
        "example.invalid/v1",
        "localhost",
        "//example.invalid/v1",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int sockets_before = count_socket_fds();
        hwai_client *client = NULL;
        hwai_error *err = NULL;
        hwai_status status = new_client_for(cases[i], NULL, 0, &client, &err);
        assert_int_equal(status, HWAI_E_INVALID_ARG);
        assert_null(client);
        if (!strstr(hwai_error_message(err), "no scheme")) {
            print_error("endpoint %s: %s\n", cases[i], hwai_error_message(err));
        }
        assert_non_null(strstr(hwai_error_message(err), "no scheme"));
        assert_int_equal(count_socket_fds(), sockets_before);
        hwai_error_free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transport_small_post_no_expect),
        cmocka_unit_test(test_transport_large_post_no_expect),
        cmocka_unit_test(test_transport_interim_responses_dropped),
        cmocka_unit_test(test_transport_redirect_not_followed),
        cmocka_unit_test(test_transport_body_over_limit),
        cmocka_unit_test(test_transport_headers_over_limit),
        cmocka_unit_test(test_transport_malformed_json),
        cmocka_unit_test(test_transport_wrong_content_type),
        cmocka_unit_test(test_transport_non_json_error_body),
        cmocka_unit_test(test_transport_insecure_url_rejected),
        cmocka_unit_test(test_transport_allowed_http_host),
        cmocka_unit_test(test_transport_endpoint_without_scheme),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
