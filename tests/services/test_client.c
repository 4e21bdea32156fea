/* Client construction: option versions, endpoint checks and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <hwai/hwai.h>
#include <string.h>

static hwai_status make_client(const char *endpoint, const char *project_id, hwai_error **err)
{
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = endpoint;
    opts.project_id = project_id;
    hwai_client *client = NULL;
    hwai_status status = hwai_client_new(&client, &opts, err);
    hwai_client_free(client);
    return status;
}

static void test_client_defaults_need_no_options(void **state)
{
    (void)state;
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, NULL, NULL), HWAI_OK);
    hwai_client_free(client);
    hwai_client_free(NULL);
}

static void test_client_rejects_unknown_version(void **state)
{
    (void)state;
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.version = 0;
    hwai_client *client = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, &err), HWAI_E_INVALID_ARG);
    assert_null(client);
    assert_non_null(strstr(hwai_error_message(err), "HWAI_CLIENT_OPTIONS_INIT"));
    hwai_error_free(err);
    assert_int_equal(hwai_client_options_init(&opts, 2), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_client_options_init(NULL, 1), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_client_options_init(&opts, HWAI_CLIENT_OPTIONS_VERSION), HWAI_OK);
    assert_int_equal(opts.version, HWAI_CLIENT_OPTIONS_VERSION);
}

/* Endpoint without a scheme: rejected at construction, with a message saying
 * the scheme is missing (not normalised to https://). */
static void test_client_endpoint_without_scheme(void **state)
{
    (void)state;
    hwai_error *err = NULL;
    assert_int_equal(
        make_client("modelarts.cn-north-4.myhuaweicloud.com", NULL, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "scheme"));
    hwai_error_free(err);
    err = NULL;
    assert_int_equal(make_client("ftp://127.0.0.1/", NULL, &err), HWAI_E_INVALID_ARG);
    hwai_error_free(err);
}

static void test_client_plain_http_only_to_loopback(void **state)
{
    (void)state;
    hwai_error *err = NULL;
    assert_int_equal(make_client("http://127.0.0.1:8080", NULL, NULL), HWAI_OK);
    assert_int_equal(make_client("http://localhost:8080/base", NULL, NULL), HWAI_OK);
    assert_int_equal(make_client("http://[::1]:8080", NULL, NULL), HWAI_OK);
    assert_int_equal(make_client("http://192.0.2.10", NULL, &err), HWAI_E_INSECURE_URL);
    assert_non_null(strstr(hwai_error_message(err), "192.0.2.10"));
    hwai_error_free(err);
    assert_int_equal(make_client("http://127.0.0.1.example.com", NULL, NULL), HWAI_E_INSECURE_URL);
    assert_int_equal(make_client("https://gateway.example.com", NULL, NULL), HWAI_OK);

    const char *allowed[] = { "gateway.internal" };
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = "http://gateway.internal:8000";
    opts.http_allowed_hosts = allowed;
    opts.http_allowed_host_count = 1;
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_OK);
    hwai_client_free(client);
}

/* Project id mistakes: a template character or a slash in the id is rejected
 * before any request is built, so no URL can carry '{' or '}'. */
static void test_client_rejects_malformed_project_id(void **state)
{
    (void)state;
    hwai_error *err = NULL;
    assert_int_equal(make_client(NULL, "{project_id}", &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "project_id"));
    hwai_error_free(err);
    assert_int_equal(make_client(NULL, "abc/def", NULL), HWAI_E_INVALID_ARG);
}

static void test_client_unknown_region_names_known_ones(void **state)
{
    (void)state;
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.region = "xx-nowhere-1";
    opts.project_id = "0123456789abcdef0123456789abcdef";
    hwai_client *client = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, &err), HWAI_OK);
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = "好";
    hwai_sentiment_result *result = NULL;
    assert_int_equal(hwai_nlp_sentiment(&result, client, &req, &err), HWAI_E_CONFIG);
    assert_non_null(strstr(hwai_error_message(err), "xx-nowhere-1"));
    assert_non_null(strstr(hwai_error_message(err), "cn-north-4"));
    assert_non_null(strstr(hwai_error_message(err), "endpoint"));
    hwai_error_free(err);
    hwai_client_free(client);
}

static void test_client_rejects_header_injection(void **state)
{
    (void)state;
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.user_agent_suffix = "tool/1.0\r\nX-Evil: 1";
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_E_INVALID_ARG);
    assert_int_equal(hwai_client_new(NULL, &opts, NULL), HWAI_E_INVALID_ARG);
}

static void test_version_matches_macros(void **state)
{
    (void)state;
    assert_string_equal(hwai_version(), HWAI_VERSION_STRING);
    assert_true(HWAI_VERSION_CHECK(0, 1, 0));
    assert_false(HWAI_VERSION_CHECK(99, 0, 0));
}

/* A region string becomes part of a host name, so only region-shaped ids pass. */
static void test_client_rejects_malformed_region(void **state)
{
    (void)state;
    const char *bad[] = { "x@evil.example/#", "CN-NORTH-4", "cn north 4", "", "cn-north-4/x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
        opts.region = bad[i];
        hwai_client *client = NULL;
        hwai_error *err = NULL;
        assert_int_equal(hwai_client_new(&client, &opts, &err), HWAI_E_INVALID_ARG);
        assert_non_null(strstr(hwai_error_message(err), "region"));
        hwai_error_free(err);
    }
    hwai_service_config service = { HWAI_SERVICE_PANGU, "a.b", NULL, NULL, 0, NULL };
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.services = &service;
    opts.service_count = 1;
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_E_INVALID_ARG);
}

/* Endpoints are base URLs: no user information, query or fragment. */
static void test_client_rejects_endpoint_extras(void **state)
{
    (void)state;
    const char *bad[] = { "https://user:pass@gateway.example.com",
                          "https://gateway.example.com/?x=1", "https://gateway.example.com/#frag" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hwai_error *err = NULL;
        assert_int_equal(make_client(bad[i], NULL, &err), HWAI_E_INVALID_ARG);
        assert_null(strstr(hwai_error_message(err), "pass"));
        hwai_error_free(err);
    }
}

static void test_client_rejects_unknown_algorithm(void **state)
{
    (void)state;
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.signing_algorithm = (hwai_sign_algorithm)77;
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_E_INVALID_ARG);
}

/* A loopback http:// endpoint behind a proxy on another host would travel in
 * clear text, so it needs the proxy host allowed as well. */
static void test_client_plain_http_through_remote_proxy(void **state)
{
    (void)state;
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = "http://127.0.0.1:8080";
    opts.proxy_url = "http://proxy.example.com:3128";
    hwai_client *client = NULL;
    hwai_error *err = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, &err), HWAI_E_INSECURE_URL);
    assert_non_null(strstr(hwai_error_message(err), "proxy"));
    hwai_error_free(err);
    opts.proxy_url = "http://127.0.0.1:3128";
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_OK);
    hwai_client_free(client);
}

static void test_option_init_functions(void **state)
{
    (void)state;
    hwai_iam_password_options iam;
    assert_int_equal(
        hwai_iam_password_options_init(&iam, HWAI_IAM_PASSWORD_OPTIONS_VERSION), HWAI_OK);
    assert_null(iam.user_name);
    assert_int_equal(hwai_iam_password_options_init(&iam, 9), HWAI_E_INVALID_ARG);
    hwai_credentials_chain_options chain;
    assert_int_equal(
        hwai_credentials_chain_options_init(&chain, HWAI_CREDENTIALS_CHAIN_OPTIONS_VERSION),
        HWAI_OK);
    assert_int_equal(chain.use_metadata, 0);
    assert_int_equal(hwai_credentials_chain_options_init(NULL, 1), HWAI_E_INVALID_ARG);
    hwai_retry_policy policy;
    assert_int_equal(hwai_retry_policy_init(&policy, HWAI_RETRY_POLICY_VERSION), HWAI_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_defaults_need_no_options),
        cmocka_unit_test(test_client_rejects_unknown_version),
        cmocka_unit_test(test_client_endpoint_without_scheme),
        cmocka_unit_test(test_client_plain_http_only_to_loopback),
        cmocka_unit_test(test_client_rejects_malformed_project_id),
        cmocka_unit_test(test_client_unknown_region_names_known_ones),
        cmocka_unit_test(test_client_rejects_header_injection),
        cmocka_unit_test(test_version_matches_macros),
        cmocka_unit_test(test_client_rejects_malformed_region),
        cmocka_unit_test(test_client_rejects_endpoint_extras),
        cmocka_unit_test(test_client_rejects_unknown_algorithm),
        cmocka_unit_test(test_client_plain_http_through_remote_proxy),
        cmocka_unit_test(test_option_init_functions),
    };
    return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
