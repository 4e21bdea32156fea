/* Plain chat calls through the client against the emulator: the Pangu v1 and
 * v2 paths, OpenAI-compatible gateways, authorization failures and malformed
 * responses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "service_fixture.h"

static const hwai_chat_message question[] = {
    { "system", "你是一个乐于助人的助手。", 0 },
    { "user", "请用一句话介绍成都。", 0 },
};

static hwai_chat_request pangu_request(void)
{
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.deployment_id = "deploy-1";
    req.messages = question;
    req.message_count = 2;
    req.temperature = 0.5;
    req.max_tokens = 256;
    return req;
}

static bool has_cjk(const char *text, size_t len)
{
    /* CJK Unified Ideographs are encoded as E4..E9 lead bytes in UTF-8. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0xE4 && c <= 0xE9) {
            return true;
        }
    }
    return false;
}

static void test_chat_pangu_v1_answers_in_chinese(void **state)
{
    (void)state;
    hwai_client *client = fixture_client(NULL);
    hwai_chat_request req = pangu_request();
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat(&result, client, &req, &err), HWAI_OK);
    assert_null(err);
    assert_int_equal(result->choice_count, 1);
    const hwai_chat_choice *choice = &result->choices[0];
    assert_string_equal(choice->role, "assistant");
    assert_true(choice->content_len > 0);
    assert_true(has_cjk(choice->content, choice->content_len));
    assert_string_equal(choice->finish_reason, "stop");
    assert_true(result->usage.present);
    assert_true(result->usage.total_tokens > 0);
    assert_non_null(result->request_id);
    assert_non_null(result->raw_json);
    assert_int_equal(strlen(result->raw_json), result->raw_json_len);
    hwai_chat_result_free(result);
    hwai_client_free(client);
}

static void test_chat_pangu_v2_with_pool(void **state)
{
    (void)state;
    hwai_client *client = fixture_client(NULL);
    hwai_chat_request req = pangu_request();
    req.pool_id = "pool-7";
    req.model = "pangu-n2";
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat(&result, client, &req, &err), HWAI_OK);
    assert_true(result->choices[0].content_len > 0);
    hwai_chat_result_free(result);
    hwai_client_free(client);
}

static void test_chat_security_token_accepted(void **state)
{
    (void)state;
    fixture_options opts = { .security_token = EMU_SECURITY_TOKEN };
    hwai_client *client = fixture_client(&opts);
    hwai_chat_request req = pangu_request();
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat(&result, client, &req, &err), HWAI_OK);
    hwai_chat_result_free(result);
    hwai_client_free(client);

    opts.security_token = "not-the-token";
    client = fixture_client(&opts);
    assert_int_equal(hwai_chat(&result, client, &req, &err), HWAI_E_SERVICE);
    assert_int_equal(hwai_error_http_status(err), 401);
    hwai_error_free(err);
    hwai_client_free(client);
}

static void test_chat_wrong_sk_is_401(void **state)
{
    (void)state;
    fixture_options opts = { .sk = "wrong-secret-key-0123456789" };
    hwai_client *client = fixture_client(&opts);
    hwai_chat_request req = pangu_request();
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat(&result, client, &req, &err), HWAI_E_SERVICE);
    assert_null(result);
    assert_int_equal(hwai_error_http_status(err), 401);
    assert_true(hwai_error_code_is(err, "APIG.0301"));
    assert_non_null(strstr(hwai_error_message(err), "signature"));
    assert_non_null(hwai_error_request_id(err));
    assert_int_equal(hwai_error_attempts(err), 1);
    assert_null(strstr(hwai_error_message(err), "wrong-secret-key"));
    hwai_error_free(err);
    hwai_client_free(client);
    fixture_assert_log_lacks("wrong-secret-key");
    fixture_assert_log_lacks(EMU_SK);
}

static void test_chat_openai_path_with_api_key(void **state)
{
    (void)state;
    fixture_options opts = { .api_key = EMU_API_KEY };
    hwai_client *client = fixture_client(&opts);
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.model = "DeepSeek-V3";
    req.messages = &question[1];
    req.message_count = 1;
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat(&result, client, &req, &err), HWAI_OK);
    assert_true(result->choices[0].content_len > 0);
    hwai_chat_result_free(result);
    hwai_client_free(client);
    fixture_assert_log_lacks(EMU_API_KEY);
}

static void test_chat_openai_base_ending_in_v1(void **state)
{
    (void)state;
    /* {base}/chat/completions when the base ends in /v1. */
    fixture_options opts = { .api_key = EMU_API_KEY, .endpoint_suffix = "/maas/v1" };
    hwai_client *client = fixture_client(&opts);
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.model = "DeepSeek-V3";
    req.messages = &question[1];
    req.message_count = 1;
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat(&result, client, &req, &err), HWAI_OK);
    hwai_chat_result_free(result);
    hwai_client_free(client);
}

static void test_chat_wrong_api_key_is_401(void **state)
{
    (void)state;
    fixture_options opts = { .api_key = "sk-not-the-right-key" };
    hwai_client *client = fixture_client(&opts);
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.model = "DeepSeek-V3";
    req.messages = &question[1];
    req.message_count = 1;
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat(&result, client, &req, &err), HWAI_E_SERVICE);
    assert_int_equal(hwai_error_http_status(err), 401);
    assert_null(strstr(hwai_error_message(err), "sk-not-the-right-key"));
    hwai_error_free(err);
    hwai_client_free(client);
    fixture_assert_log_lacks("sk-not-the-right-key");
}

static hwai_status
chat_with_scripted_answer(const char *script, hwai_chat_result **result, hwai_error **err)
{
    assert_true(test_emulator_script(&fixture_emulator, script));
    hwai_client *client = fixture_client(NULL);
    hwai_chat_request req = pangu_request();
    hwai_status status = hwai_chat(result, client, &req, err);
    hwai_client_free(client);
    return status;
}

static void test_chat_malformed_json_answer(void **state)
{
    (void)state;
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    hwai_status status = chat_with_scripted_answer(
        "{\"route\":\"chat\",\"responses\":[{\"status\":200,"
        "\"headers\":{\"Content-Type\":\"application/json\"},\"body\":\"{\\\"choices\\\":[\"}]}",
        &result, &err);
    assert_int_equal(status, HWAI_E_BAD_RESPONSE);
    assert_null(result);
    assert_non_null(strstr(hwai_error_message(err), "not valid JSON"));
    hwai_error_free(err);
}

static void test_chat_answer_without_choices(void **state)
{
    (void)state;
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    hwai_status status = chat_with_scripted_answer(
        "{\"route\":\"chat\",\"responses\":[{\"status\":200,"
        "\"headers\":{\"Content-Type\":\"application/"
        "json\"},\"body\":\"{\\\"id\\\":\\\"x\\\"}\"}]}",
        &result, &err);
    assert_int_equal(status, HWAI_E_BAD_RESPONSE);
    hwai_error_free(err);
}

static void test_chat_wrong_content_type(void **state)
{
    (void)state;
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    hwai_status status = chat_with_scripted_answer(
        "{\"route\":\"chat\",\"responses\":[{\"status\":200,"
        "\"headers\":{\"Content-Type\":\"text/html\"},\"body\":\"<html></html>\"}]}",
        &result, &err);
    assert_int_equal(status, HWAI_E_CONTENT_TYPE);
    assert_non_null(strstr(hwai_error_message(err), "text/html"));
    hwai_error_free(err);
}

static void test_chat_nul_in_content_kept(void **state)
{
    (void)state;
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    hwai_status status = chat_with_scripted_answer(
        "{\"route\":\"chat\",\"responses\":[{\"status\":200,"
        "\"headers\":{\"Content-Type\":\"application/json\"},"
        "\"body\":\"{\\\"choices\\\":[{\\\"index\\\":0,\\\"message\\\":{\\\"role\\\":"
        "\\\"assistant\\\",\\\"content\\\":\\\"a\\\\u0000b\\\"},\\\"finish_reason\\\":"
        "\\\"stop\\\"}]}\"}]}",
        &result, &err);
    assert_int_equal(status, HWAI_OK);
    assert_int_equal(result->choices[0].content_len, 3);
    assert_memory_equal(result->choices[0].content, "a\0b", 3);
    assert_false(result->usage.present);
    hwai_chat_result_free(result);
}

static void test_chat_missing_project_id_sends_nothing(void **state)
{
    (void)state;
    fixture_options opts = { .project_id = "" };
    hwai_client *client = fixture_client(&opts);
    assert_true(test_emulator_reset(&fixture_emulator));
    hwai_chat_request req = pangu_request();
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat(&result, client, &req, &err), HWAI_E_CONFIG);
    assert_non_null(strstr(hwai_error_message(err), "project id"));
    assert_int_equal(test_emulator_stat(&fixture_emulator, "requests"), 0);
    hwai_error_free(err);
    hwai_client_free(client);
}

static void expect_invalid(hwai_chat_request *req, const char *fragment)
{
    hwai_client *client = fixture_client(NULL);
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat(&result, client, req, &err), HWAI_E_INVALID_ARG);
    if (!strstr(hwai_error_message(err), fragment)) {
        fail_msg("message '%s' lacks '%s'", hwai_error_message(err), fragment);
    }
    hwai_error_free(err);
    hwai_client_free(client);
}

static void test_chat_rejects_bad_requests(void **state)
{
    (void)state;
    hwai_chat_request req = pangu_request();
    req.message_count = 0;
    expect_invalid(&req, "no messages");

    req = pangu_request();
    req.deployment_id = NULL;
    expect_invalid(&req, "deployment_id");

    req = pangu_request();
    req.temperature = 3.0;
    expect_invalid(&req, "temperature");

    req = pangu_request();
    req.top_p = 0.0;
    expect_invalid(&req, "top_p");

    req = pangu_request();
    req.max_tokens = -5;
    expect_invalid(&req, "max_tokens");

    req = pangu_request();
    req.presence_penalty = -2.5;
    expect_invalid(&req, "presence_penalty");

    req = pangu_request();
    req.version = 99;
    expect_invalid(&req, "version");

    hwai_chat_message bad_utf8[] = { { "user", "\xff\xfe", 0 } };
    req = pangu_request();
    req.messages = bad_utf8;
    req.message_count = 1;
    expect_invalid(&req, "UTF-8");

    hwai_chat_message no_role[] = { { "", "hi", 0 } };
    req = pangu_request();
    req.messages = no_role;
    req.message_count = 1;
    expect_invalid(&req, "role");

    hwai_client *client = fixture_client(NULL);
    hwai_chat_result *result = NULL;
    assert_int_equal(hwai_chat(&result, client, NULL, NULL), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_chat(NULL, client, &req, NULL), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_chat(&result, NULL, &req, NULL), HWAI_E_INVALID_ARG);
    hwai_client_free(client);
}

static void test_chat_deployment_id_is_encoded(void **state)
{
    (void)state;
    /* A '/' in an id must not add a path segment. */
    hwai_client *client = fixture_client(NULL);
    hwai_chat_request req = pangu_request();
    req.deployment_id = "a/../../b";
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    hwai_status status = hwai_chat(&result, client, &req, &err);
    if (status == HWAI_OK) {
        hwai_chat_result_free(result);
    } else {
        assert_int_equal(status, HWAI_E_SERVICE);
        assert_int_not_equal(hwai_error_http_status(err), 401);
    }
    hwai_error_free(err);
    hwai_client_free(client);
}

/* A service that echoes the rejected key back must not put it in the error. */
static void test_chat_echoed_api_key_masked(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &fixture_emulator, "{\"route\":\"chat\",\"responses\":[{\"status\":401,\"body\":"
                           "\"{\\\"error\\\":{\\\"code\\\":\\\"invalid_api_key\\\",\\\"message\\\":"
                           "\\\"Incorrect API key provided: " EMU_API_KEY "\\\"}}\"}]}"));
    fixture_options opts = { .api_key = EMU_API_KEY };
    hwai_client *client = fixture_client(&opts);
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.model = "m";
    req.messages = &question[1];
    req.message_count = 1;
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_chat(&result, client, &req, &err), HWAI_E_SERVICE);
    assert_null(strstr(hwai_error_message(err), EMU_API_KEY));
    assert_non_null(strstr(hwai_error_message(err), "Incorrect API key provided"));
    hwai_error_free(err);
    hwai_client_free(client);
}

/* Control characters, invalid UTF-8 and megabytes of error text from a server
 * are cleaned and cut before they reach a message. */
static void test_chat_hostile_error_text_cleaned(void **state)
{
    (void)state;
    size_t big = 10000;
    char *script = malloc(big + 512);
    int n = snprintf(
        script, 512,
        "{\"route\":\"chat\",\"responses\":[{\"status\":500,"
        "\"headers\":{\"X-Request-Id\":\"id\\u001b[31m\"},\"body\":\""
        "{\\\"error_code\\\":\\\"E\\\",\\\"error_msg\\\":\\\"line1\\\\nline2 ");
    memset(script + n, 'x', big);
    strcpy(script + n + big, "\\\"}\"}]}");
    /* HTTP 500 is retried: queue the same response for every attempt. */
    for (unsigned int i = 0; i < HWAI_DEFAULT_MAX_ATTEMPTS; i++) {
        assert_true(test_emulator_script(&fixture_emulator, script));
    }
    free(script);
    hwai_client *client = fixture_client(NULL);
    hwai_chat_request req = pangu_request();
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    hwai_status status = hwai_chat(&result, client, &req, &err);
    assert_int_not_equal(status, HWAI_OK);
    const char *message = hwai_error_message(err);
    assert_true(strlen(message) <= 2100);
    assert_null(strchr(message, '\n'));
    const char *request_id = hwai_error_request_id(err);
    assert_non_null(request_id);
    assert_null(strchr(request_id, '\x1b'));
    hwai_error_free(err);
    hwai_client_free(client);
}

/* HTTP 200 with error_code and error_msg is the service's error, not a
 * malformed response. */
static void test_chat_error_code_with_200(void **state)
{
    (void)state;
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    hwai_status status = chat_with_scripted_answer(
        "{\"route\":\"chat\",\"responses\":[{\"status\":200,\"body\":"
        "\"{\\\"error_code\\\":\\\"PANGU.1001\\\",\\\"error_msg\\\":\\\"quota used up\\\"}\"}]}",
        &result, &err);
    assert_int_equal(status, HWAI_E_SERVICE);
    assert_string_equal(hwai_error_code(err), "PANGU.1001");
    assert_string_equal(hwai_error_message(err), "quota used up");
    assert_int_equal(hwai_error_attempts(err), 1);
    hwai_error_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_pangu_v1_answers_in_chinese),
        cmocka_unit_test(test_chat_pangu_v2_with_pool),
        cmocka_unit_test(test_chat_security_token_accepted),
        cmocka_unit_test(test_chat_wrong_sk_is_401),
        cmocka_unit_test(test_chat_openai_path_with_api_key),
        cmocka_unit_test(test_chat_openai_base_ending_in_v1),
        cmocka_unit_test(test_chat_wrong_api_key_is_401),
        cmocka_unit_test(test_chat_malformed_json_answer),
        cmocka_unit_test(test_chat_answer_without_choices),
        cmocka_unit_test(test_chat_wrong_content_type),
        cmocka_unit_test(test_chat_nul_in_content_kept),
        cmocka_unit_test(test_chat_missing_project_id_sends_nothing),
        cmocka_unit_test(test_chat_rejects_bad_requests),
        cmocka_unit_test(test_chat_deployment_id_is_encoded),
        cmocka_unit_test(test_chat_echoed_api_key_masked),
        cmocka_unit_test(test_chat_hostile_error_text_cleaned),
        cmocka_unit_test(test_chat_error_code_with_200),
    };
    return cmocka_run_group_tests_name("chat", tests, fixture_group_setup, fixture_group_teardown);
}
