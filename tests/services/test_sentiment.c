/* NLP sentiment through the client against the emulator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "service_fixture.h"

static void test_sentiment_positive_chinese(void **state)
{
    (void)state;
    hwai_client *client = fixture_client(NULL);
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = "这家餐厅的服务很好，菜也很好吃，我很满意。";
    req.lang = "zh";
    hwai_sentiment_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_nlp_sentiment(&result, client, &req, &err), HWAI_OK);
    assert_int_equal(result->label, 1);
    assert_string_equal(hwai_sentiment_label_str(result->label), "positive");
    assert_true(result->confidence > 0.0 && result->confidence <= 1.0);
    assert_non_null(result->confidence_text);
    /* The text reads back to the same number. */
    assert_true(strtod(result->confidence_text, NULL) == result->confidence);
    assert_non_null(result->request_id);
    hwai_sentiment_result_free(result);
    hwai_client_free(client);
}

static void test_sentiment_negative_english(void **state)
{
    (void)state;
    hwai_client *client = fixture_client(NULL);
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = "The delivery was late and the food was terrible.";
    req.lang = "en";
    hwai_sentiment_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_nlp_sentiment(&result, client, &req, &err), HWAI_OK);
    assert_int_equal(result->label, 0);
    assert_string_equal(hwai_sentiment_label_str(result->label), "negative");
    hwai_sentiment_result_free(result);
    hwai_client_free(client);
}

static void test_sentiment_error_code_in_success_answer(void **state)
{
    (void)state;
    /* NLP responses may carry error_code and error_msg with HTTP 200. */
    assert_true(test_emulator_script(
        &fixture_emulator, "{\"route\":\"sentiment\",\"responses\":[{\"status\":200,"
                           "\"headers\":{\"Content-Type\":\"application/json\"},"
                           "\"body\":\"{\\\"error_code\\\":\\\"NLP.0301\\\",\\\"error_msg\\\":"
                           "\\\"text empty\\\"}\"}]}"));
    hwai_client *client = fixture_client(NULL);
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = "好";
    hwai_sentiment_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_nlp_sentiment(&result, client, &req, &err), HWAI_E_SERVICE);
    assert_string_equal(hwai_error_code(err), "NLP.0301");
    assert_string_equal(hwai_error_message(err), "text empty");
    hwai_error_free(err);
    hwai_client_free(client);
}

static void test_sentiment_answer_missing_fields(void **state)
{
    (void)state;
    assert_true(test_emulator_script(
        &fixture_emulator, "{\"route\":\"sentiment\",\"responses\":[{\"status\":200,"
                           "\"headers\":{\"Content-Type\":\"application/json\"},"
                           "\"body\":\"{\\\"result\\\":{\\\"label\\\":1}}\"}]}"));
    hwai_client *client = fixture_client(NULL);
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = "好";
    hwai_sentiment_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_nlp_sentiment(&result, client, &req, &err), HWAI_E_BAD_RESPONSE);
    assert_non_null(strstr(hwai_error_message(err), "confidence"));
    hwai_error_free(err);
    hwai_client_free(client);
}

static void test_sentiment_rejects_bad_requests(void **state)
{
    (void)state;
    hwai_client *client = fixture_client(NULL);
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    hwai_sentiment_result *result = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_nlp_sentiment(&result, client, &req, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "content"));
    req.content = "\xc3\x28";
    assert_int_equal(hwai_nlp_sentiment(&result, client, &req, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "UTF-8"));
    assert_int_equal(hwai_nlp_sentiment(&result, client, NULL, &err), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_sentiment_request_init(&req, 7), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_sentiment_request_init(&req, HWAI_SENTIMENT_REQUEST_VERSION), HWAI_OK);
    hwai_error_free(err);
    hwai_client_free(client);
}

static void test_sentiment_label_strings(void **state)
{
    (void)state;
    assert_string_equal(hwai_sentiment_label_str(0), "negative");
    assert_string_equal(hwai_sentiment_label_str(1), "positive");
    assert_string_equal(hwai_sentiment_label_str(7), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sentiment_positive_chinese),
        cmocka_unit_test(test_sentiment_negative_english),
        cmocka_unit_test(test_sentiment_error_code_in_success_answer),
        cmocka_unit_test(test_sentiment_answer_missing_fields),
        cmocka_unit_test(test_sentiment_rejects_bad_requests),
        cmocka_unit_test(test_sentiment_label_strings),
    };
    return cmocka_run_group_tests_name(
        "sentiment", tests, fixture_group_setup, fixture_group_teardown);
}
