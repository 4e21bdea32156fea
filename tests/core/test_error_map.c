/* Error responses of every shape Huawei Cloud services send, mapped to hwai_error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "core/pipeline.h"
#include "json/json.h"

static hwai_error *map_answer(int status, const char *body, const char *request_id_header)
{
    hwai__http_response resp = HWAI__HTTP_RESPONSE_INIT;
    resp.status = status;
    if (request_id_header) {
        assert_true(hwai__headers_add(&resp.headers, request_id_header, "req-42"));
    }
    assert_true(hwai__buf_append_str(&resp.body, body));
    hwai_error *err = NULL;
    assert_int_equal(hwai__error_from_response(&resp, "chat", &err), HWAI_E_SERVICE);
    hwai__http_response_cleanup(&resp);
    assert_non_null(err);
    assert_int_equal(hwai_error_status(err), HWAI_E_SERVICE);
    assert_int_equal(hwai_error_http_status(err), status);
    return err;
}

static void test_error_map_huawei_shape(void **state)
{
    (void)state;
    hwai_error *err = map_answer(
        401, "{\"error_code\":\"APIGW.0301\",\"error_msg\":\"Incorrect IAM authentication\"}",
        "X-Request-Id");
    assert_string_equal(hwai_error_code(err), "APIGW.0301");
    assert_string_equal(hwai_error_message(err), "Incorrect IAM authentication");
    assert_string_equal(hwai_error_request_id(err), "req-42");
    hwai_error_free(err);
}

static void test_error_map_camel_case_shape(void **state)
{
    (void)state;
    hwai_error *err = map_answer(
        400, "{\"errorCode\":\"NLP.0101\",\"errorMsg\":\"text too long\"}", "x-request-id");
    assert_string_equal(hwai_error_code(err), "NLP.0101");
    assert_string_equal(hwai_error_message(err), "text too long");
    /* Header names are case-insensitive. */
    assert_string_equal(hwai_error_request_id(err), "req-42");
    hwai_error_free(err);
}

static void test_error_map_code_message_shape(void **state)
{
    (void)state;
    hwai_error *err =
        map_answer(404, "{\"code\":\"ModelArts.3502\",\"message\":\"service not found\"}", NULL);
    assert_string_equal(hwai_error_code(err), "ModelArts.3502");
    assert_string_equal(hwai_error_message(err), "service not found");
    assert_null(hwai_error_request_id(err));
    hwai_error_free(err);
}

static void test_error_map_iam_nested_numeric_code(void **state)
{
    (void)state;
    hwai_error *err = map_answer(
        401,
        "{\"error\":{\"code\":401,\"message\":\"The username or password is wrong.\","
        "\"title\":\"Unauthorized\"}}",
        NULL);
    assert_string_equal(hwai_error_code(err), "401");
    assert_string_equal(hwai_error_message(err), "The username or password is wrong.");
    hwai_error_free(err);
}

static void test_error_map_openai_nested_shape(void **state)
{
    (void)state;
    hwai_error *err = map_answer(
        429,
        "{\"error\":{\"code\":\"APIG.0308\",\"type\":\"rate_limit\","
        "\"message\":\"The request is throttled.\"}}",
        NULL);
    assert_string_equal(hwai_error_code(err), "APIG.0308");
    assert_string_equal(hwai_error_message(err), "The request is throttled.");
    hwai_error_free(err);
}

static void test_error_map_non_json_keeps_status(void **state)
{
    (void)state;
    hwai_error *err = map_answer(502, "<html>Bad Gateway</html>\r\n", NULL);
    assert_string_equal(hwai_error_code(err), "502");
    /* Control characters of a hostile body never reach the message. */
    assert_null(strchr(hwai_error_message(err), '\r'));
    assert_non_null(strstr(hwai_error_message(err), "Bad Gateway"));
    hwai_error_free(err);
}

static void test_error_map_empty_body(void **state)
{
    (void)state;
    hwai_error *err = map_answer(503, "", NULL);
    assert_string_equal(hwai_error_code(err), "503");
    assert_non_null(strstr(hwai_error_message(err), "HTTP 503"));
    hwai_error_free(err);
}

static void test_error_map_json_without_error_fields(void **state)
{
    (void)state;
    hwai_error *err = map_answer(500, "{\"status\":\"broken\"}", NULL);
    assert_string_equal(hwai_error_code(err), "500");
    assert_non_null(strstr(hwai_error_message(err), "broken"));
    hwai_error_free(err);
}

static void test_error_map_long_body_is_cut(void **state)
{
    (void)state;
    char *body = malloc(10001);
    memset(body, 'x', 10000);
    body[10000] = '\0';
    hwai_error *err = map_answer(500, body, NULL);
    assert_true(strlen(hwai_error_message(err)) < 600);
    hwai_error_free(err);
    free(body);
}

/* A \u0000 inside error_msg still leaves the body JSON: the code is kept and
 * the message ends at the NUL. */
static void test_error_map_nul_in_message(void **state)
{
    (void)state;
    hwai_error *err =
        map_answer(400, "{\"error_code\":\"A.1\",\"error_msg\":\"bad\\u0000tail\"}", NULL);
    assert_string_equal(hwai_error_code(err), "A.1");
    assert_string_equal(hwai_error_message(err), "bad");
    hwai_error_free(err);
}

static void test_error_code_is_gateway_prefixes(void **state)
{
    (void)state;
    hwai_error *err = NULL;
    hwai__error_set_http(&err, HWAI_E_SERVICE, 401, "APIGW.0301", NULL, "x");
    assert_true(hwai_error_code_is(err, "APIG.0301"));
    assert_true(hwai_error_code_is(err, "APIGW.0301"));
    assert_false(hwai_error_code_is(err, "APIG.0308"));
    assert_false(hwai_error_code_is(err, "APIGW.03011"));
    assert_false(hwai_error_code_is(err, NULL));
    assert_false(hwai_error_code_is(NULL, "APIG.0301"));
    hwai__error_set_http(&err, HWAI_E_SERVICE, 400, "ModelArts.0301", NULL, "x");
    assert_false(hwai_error_code_is(err, "APIG.0301"));
    assert_true(hwai_error_code_is(err, "ModelArts.0301"));
    hwai_error_free(err);
}

static void test_status_str_covers_every_status(void **state)
{
    (void)state;
    const hwai_status all[] = { HWAI_OK,
                                HWAI_E_INVALID_ARG,
                                HWAI_E_NOMEM,
                                HWAI_E_UNSUPPORTED,
                                HWAI_E_CONFIG,
                                HWAI_E_INSECURE_URL,
                                HWAI_E_TRANSPORT,
                                HWAI_E_CONNECT,
                                HWAI_E_TIMEOUT,
                                HWAI_E_TLS,
                                HWAI_E_RESPONSE_TOO_LARGE,
                                HWAI_E_HEADERS_TOO_LARGE,
                                HWAI_E_AUTH,
                                HWAI_E_SIGN,
                                HWAI_E_SERVICE,
                                HWAI_E_BAD_RESPONSE,
                                HWAI_E_CONTENT_TYPE,
                                HWAI_E_JSON_DEPTH,
                                HWAI_E_STREAM_TRUNCATED,
                                HWAI_E_STREAM_EVENT_TOO_LARGE,
                                HWAI_E_STREAM_ERROR,
                                HWAI_E_CANCELLED,
                                HWAI_E_INTERNAL };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        assert_string_not_equal(hwai_status_str(all[i]), "unknown status");
    }
    assert_string_equal(hwai_status_str((hwai_status)12345), "unknown status");
}

static void test_error_accessors_accept_null(void **state)
{
    (void)state;
    assert_int_equal(hwai_error_status(NULL), HWAI_OK);
    assert_string_equal(hwai_error_message(NULL), "");
    assert_int_equal(hwai_error_http_status(NULL), 0);
    assert_null(hwai_error_code(NULL));
    assert_null(hwai_error_request_id(NULL));
    assert_int_equal(hwai_error_attempts(NULL), 0);
    hwai_error_free(NULL);
}

/* Deep nesting: "[" x 100000 never closed, 3000 levels of valid arrays and of
 * objects, parsed and error-mapped on a thread with a 256 KiB stack, as
 * callback threads of host programs often have. */
static char *nested(const char *open, const char *inner, const char *close, size_t levels)
{
    size_t open_len = strlen(open);
    size_t close_len = strlen(close);
    char *text = malloc(levels * (open_len + close_len) + strlen(inner) + 1);
    char *p = text;
    for (size_t i = 0; i < levels; i++) {
        memcpy(p, open, open_len);
        p += open_len;
    }
    strcpy(p, inner);
    p += strlen(inner);
    for (size_t i = 0; close_len && i < levels; i++) {
        memcpy(p, close, close_len);
        p += close_len;
    }
    *p = '\0';
    return text;
}

static void *parse_deep_documents(void *arg)
{
    int *failures = arg;
    char *docs[] = {
        nested("[", "", "", 100000),
        nested("[", "1", "]", 3000),
        nested("{\"a\":", "1", "}", 3000),
    };
    for (size_t i = 0; i < 3; i++) {
        json_t *root = NULL;
        hwai_error *err = NULL;
        hwai_status status =
            hwai__json_parse(docs[i], strlen(docs[i]), HWAI__JSON_MAX_DEPTH, &root, &err);
        if (status != HWAI_E_JSON_DEPTH || root != NULL) {
            (*failures)++;
        }
        hwai_error_free(err);
        err = NULL;
        hwai__http_response resp = HWAI__HTTP_RESPONSE_INIT;
        resp.status = 500;
        hwai__buf_append_str(&resp.body, docs[i]);
        if (hwai__error_from_response(&resp, "chat", &err) != HWAI_E_SERVICE) {
            (*failures)++;
        }
        hwai_error_free(err);
        hwai__http_response_cleanup(&resp);
        free(docs[i]);
    }
    return NULL;
}

static void test_json_deep_nesting_small_stack(void **state)
{
    (void)state;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t thread;
    int failures = 0;
    assert_int_equal(pthread_create(&thread, &attr, parse_deep_documents, &failures), 0);
    pthread_join(thread, NULL);
    pthread_attr_destroy(&attr);
    assert_int_equal(failures, 0);
}

static void test_json_depth_ignores_brackets_in_strings(void **state)
{
    (void)state;
    const char *text = "{\"a\":\"[[[[\\\"{{{{\",\"b\":[[1]]}";
    assert_int_equal(hwai__json_depth(text, strlen(text)), 3);
}

static void test_format_double_shortest(void **state)
{
    (void)state;
    char out[32];
    hwai__format_double(0.9731, out);
    assert_string_equal(out, "0.9731");
    hwai__format_double(1.0, out);
    assert_string_equal(out, "1");
    hwai__format_double(0.1 + 0.2, out);
    assert_string_equal(out, "0.30000000000000004");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_map_huawei_shape),
        cmocka_unit_test(test_error_map_camel_case_shape),
        cmocka_unit_test(test_error_map_code_message_shape),
        cmocka_unit_test(test_error_map_iam_nested_numeric_code),
        cmocka_unit_test(test_error_map_openai_nested_shape),
        cmocka_unit_test(test_error_map_non_json_keeps_status),
        cmocka_unit_test(test_error_map_empty_body),
        cmocka_unit_test(test_error_map_json_without_error_fields),
        cmocka_unit_test(test_error_map_long_body_is_cut),
        cmocka_unit_test(test_error_map_nul_in_message),
        cmocka_unit_test(test_error_code_is_gateway_prefixes),
        cmocka_unit_test(test_status_str_covers_every_status),
        cmocka_unit_test(test_error_accessors_accept_null),
        cmocka_unit_test(test_json_deep_nesting_small_stack),
        cmocka_unit_test(test_json_depth_ignores_brackets_in_strings),
        cmocka_unit_test(test_format_double_shortest),
    };
    return cmocka_run_group_tests_name("error-map", tests, NULL, NULL);
}
