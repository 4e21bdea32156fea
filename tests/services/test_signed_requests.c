/* Signed requests end to end: the client's request path and hwai_sign() against
 * the emulator's independent signature check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pipeline.h"
#include "emulator.h"
#include "hwai/hwai.h"

static test_emulator emu;

static int group_setup(void **state)
{
    (void)state;
    return test_emulator_start(&emu, NULL) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_emulator_stop(&emu);
    return 0;
}

static hwai_client *make_client(const char *security_token)
{
    hwai_credentials *creds = NULL;
    assert_int_equal(
        hwai_credentials_new_aksk(&creds, EMU_AK, EMU_SK, security_token, NULL), HWAI_OK);
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = emu.base_url;
    opts.project_id = EMU_PROJECT_ID;
    opts.credentials = creds;
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_OK);
    hwai_credentials_free(creds);
    return client;
}

/* A query with repeated keys, a plus, a space and Chinese text, a non-ASCII
 * path segment and a security token, sent through the client's own request
 * path: the emulator accepts the signature and reports the decoded values. */
static void test_client_query_unicode_path_and_token(void **state)
{
    (void)state;
    hwai_client *client = make_client(EMU_SECURITY_TOKEN);
    hwai__query query = HWAI__QUERY_INIT;
    assert_true(hwai__query_add(&query, "name", "北京"));
    assert_true(hwai__query_add(&query, "q", "a+b c"));
    assert_true(hwai__query_add(&query, "tag", "2"));
    assert_true(hwai__query_add(&query, "tag", "10"));
    hwai__call call = {
        .service = HWAI_SERVICE_NLP,
        .operation = "echo",
        .method = "GET",
        .path = "/v1/{project_id}/hwai-echo/%E6%A8%A1%E5%9E%8B/a%20b",
        .query = &query,
    };
    hwai__http_response resp = HWAI__HTTP_RESPONSE_INIT;
    hwai_error *err = NULL;
    hwai_status status = hwai__pipeline_send(client, &call, &resp, &err);
    if (status != HWAI_OK) {
        fail_msg("echo failed: %s", hwai_error_message(err));
    }
    assert_int_equal(resp.status, 200);
    json_t *root = json_loadb(resp.body.data, resp.body.len, 0, NULL);
    assert_non_null(root);
    assert_string_equal(
        json_string_value(json_object_get(root, "path")),
        "/v1/" EMU_PROJECT_ID "/hwai-echo/模型/a b");
    json_t *pairs = json_object_get(root, "query");
    assert_int_equal(json_array_size(pairs), 4);
    /* The wire query is the canonical one: sorted by key, then value. */
    const char *expected[4][2] = {
        { "name", "北京" }, { "q", "a+b c" }, { "tag", "10" }, { "tag", "2" }
    };
    for (size_t i = 0; i < 4; i++) {
        json_t *pair = json_array_get(pairs, i);
        assert_string_equal(json_string_value(json_array_get(pair, 0)), expected[i][0]);
        assert_string_equal(json_string_value(json_array_get(pair, 1)), expected[i][1]);
    }
    json_decref(root);
    hwai__http_response_cleanup(&resp);
    hwai__query_cleanup(&query);
    hwai_client_free(client);
}

static size_t discard(char *data, size_t size, size_t count, void *user)
{
    (void)data;
    (void)user;
    return size * count;
}

/* Sends a signed request as hwai_sign() produced it, after replacing the byte
 * at tamper_offset of the field picked by tamper_field ('u' URI, 'b' body,
 * 'a' Authorization, 't' security token; 0 for none). Returns the HTTP status. */
static long send_signed(
    const hwai_signed_request *signed_req,
    const char *body,
    char tamper_field,
    size_t tamper_offset)
{
    char uri[512];
    snprintf(uri, sizeof(uri), "%s", signed_req->uri);
    char body_copy[256];
    snprintf(body_copy, sizeof(body_copy), "%s", body);
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; i < signed_req->header_count; i++) {
        char line[1024];
        snprintf(
            line, sizeof(line), "%s: %s", signed_req->headers[i].name,
            signed_req->headers[i].value);
        bool is_auth = strcmp(signed_req->headers[i].name, "Authorization") == 0;
        bool is_token = strcmp(signed_req->headers[i].name, "X-Security-Token") == 0;
        if ((tamper_field == 'a' && is_auth) || (tamper_field == 't' && is_token)) {
            size_t at = strlen(signed_req->headers[i].name) + 2 + tamper_offset;
            line[at] = line[at] == 'A' ? 'B' : 'A';
        }
        headers = curl_slist_append(headers, line);
    }
    if (tamper_field == 'u') {
        uri[tamper_offset] = uri[tamper_offset] == 'x' ? 'y' : 'x';
    }
    if (tamper_field == 'b') {
        body_copy[tamper_offset] = body_copy[tamper_offset] == '1' ? '2' : '1';
    }
    char url[600];
    snprintf(url, sizeof(url), "%s%s", emu.base_url, uri);
    CURL *easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body_copy);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    if (curl_easy_perform(easy) == CURLE_OK) {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
    return status;
}

/* hwai_sign() output is accepted as is; one changed byte in the URI, the body,
 * the signature or the security token is rejected with 401. */
static void test_sign_one_changed_byte_is_401(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    assert_int_equal(
        hwai_credentials_new_aksk(&creds, EMU_AK, EMU_SK, EMU_SECURITY_TOKEN, NULL), HWAI_OK);
    char url[256];
    snprintf(
        url, sizeof(url), "%s/v1/%s/hwai-echo/x?limit=10&name=%%E5%%8C%%97", emu.base_url,
        EMU_PROJECT_ID);
    const char *body = "{\"n\":1}";
    hwai_http_header headers[] = { { "Content-Type", "application/json" } };
    hwai_sign_input input = HWAI_SIGN_INPUT_INIT;
    input.method = "POST";
    input.url = url;
    input.headers = headers;
    input.header_count = 1;
    input.body = body;
    input.body_len = strlen(body);
    hwai_signed_request *signed_req = NULL;
    assert_int_equal(hwai_sign(&signed_req, creds, &input, NULL), HWAI_OK);

    assert_int_equal(send_signed(signed_req, body, 0, 0), 200);
    size_t query_at = strchr(signed_req->uri, '?') - signed_req->uri + 1;
    assert_int_equal(send_signed(signed_req, body, 'u', query_at), 401);
    assert_int_equal(send_signed(signed_req, body, 'u', 5), 401);
    assert_int_equal(send_signed(signed_req, body, 'b', 5), 401);
    size_t sig_at = strstr(signed_req->authorization, "Signature=") - signed_req->authorization;
    assert_int_equal(send_signed(signed_req, body, 'a', sig_at + 12), 401);
    assert_int_equal(send_signed(signed_req, body, 't', 3), 401);
    hwai_signed_request_free(signed_req);
    hwai_credentials_free(creds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_query_unicode_path_and_token),
        cmocka_unit_test(test_sign_one_changed_byte_is_401),
    };
    return cmocka_run_group_tests_name("signed-requests", tests, group_setup, group_teardown);
}
