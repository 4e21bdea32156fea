#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "core/pipeline.h"
#include "hwai/nlp.h"
#include "json/json.h"
#include "util/str.h"

typedef struct sentiment_result_impl {
    hwai_sentiment_result pub;
    json_t *root;
    char confidence_text[32];
    char *request_id;
    char *raw_json;
} sentiment_result_impl;

hwai_status hwai_sentiment_request_init(hwai_sentiment_request *req, unsigned int version)
{
    if (!req || version != HWAI_SENTIMENT_REQUEST_VERSION) {
        return HWAI_E_INVALID_ARG;
    }
    hwai_sentiment_request init = HWAI_SENTIMENT_REQUEST_INIT;
    *req = init;
    return HWAI_OK;
}

const char *hwai_sentiment_label_str(int label)
{
    switch (label) {
    case 0: return "negative";
    case 1: return "positive";
    default: return "unknown";
    }
}

static hwai_status check_request(const hwai_sentiment_request *req, hwai_error **err)
{
    if (!req) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "sentiment request is NULL");
    }
    if (req->version != HWAI_SENTIMENT_REQUEST_VERSION) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "hwai_sentiment_request.version is %u but this library knows version %d; "
            "initialise the struct with HWAI_SENTIMENT_REQUEST_INIT",
            req->version, HWAI_SENTIMENT_REQUEST_VERSION);
    }
    if (hwai__str_empty(req->content)) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "sentiment request content is empty; give the text");
    }
    return HWAI_OK;
}

static char *encode_request(const hwai_sentiment_request *req, size_t *len, hwai_error **err)
{
    json_t *body = json_object();
    json_t *content = json_string(req->content);
    json_t *lang = req->lang ? json_string(req->lang) : NULL;
    char *text = NULL;
    if (!content || (req->lang && !lang)) {
        hwai__error_set(err, HWAI_E_INVALID_ARG, "sentiment content or lang is not valid UTF-8");
    } else if (
        body && json_object_set(body, "content", content) == 0 &&
        (!lang || json_object_set(body, "lang", lang) == 0)) {
        text = hwai__json_dump(body, len);
    }
    if (!text && (!err || !*err)) {
        hwai__error_set(err, HWAI_E_NOMEM, "out of memory encoding the sentiment request");
    }
    json_decref(content);
    json_decref(lang);
    json_decref(body);
    return text;
}

/* Confidence is a number in the documented response; a string is accepted too. */
static bool read_confidence(const json_t *value, double *out)
{
    if (json_is_number(value)) {
        *out = json_number_value(value);
        return true;
    }
    if (json_is_string(value)) {
        char *end = NULL;
        *out = strtod(json_string_value(value), &end);
        return end && end != json_string_value(value) && *end == '\0';
    }
    return false;
}

static hwai_status read_result(
    json_t *root, const hwai__http_response *resp, hwai_sentiment_result **out, hwai_error **err)
{
    const char *request_id = hwai__headers_get(&resp->headers, "X-Request-Id");
    const json_t *result = json_object_get(root, "result");
    const json_t *label = json_object_get(result, "label");
    double confidence = 0;
    bool label_ok =
        json_is_integer(label) || (json_is_string(label) && strlen(json_string_value(label)) == 1);
    if (!label_ok || !read_confidence(json_object_get(result, "confidence"), &confidence)) {
        json_decref(root);
        return hwai__error_set_http(
            err, HWAI_E_BAD_RESPONSE, resp->status, NULL, request_id,
            "sentiment response lacks result.label or result.confidence");
    }
    sentiment_result_impl *impl = calloc(1, sizeof(*impl));
    char *raw = hwai__strndup(resp->body.data ? resp->body.data : "", resp->body.len);
    char *rid = hwai__strdup(request_id);
    if (!impl || !raw || (request_id && !rid)) {
        free(impl);
        free(raw);
        free(rid);
        json_decref(root);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory reading the sentiment response");
    }
    impl->root = root;
    impl->raw_json = raw;
    impl->request_id = rid;
    impl->pub.label =
        json_is_integer(label) ? (int)json_integer_value(label) : json_string_value(label)[0] - '0';
    impl->pub.confidence = confidence;
    hwai__format_double(confidence, impl->confidence_text);
    impl->pub.confidence_text = impl->confidence_text;
    impl->pub.content = hwai__json_str(result, "content");
    impl->pub.request_id = rid;
    impl->pub.raw_json = raw;
    impl->pub.raw_json_len = resp->body.len;
    *out = &impl->pub;
    return HWAI_OK;
}

hwai_status hwai_nlp_sentiment(
    hwai_sentiment_result **out,
    hwai_client *client,
    const hwai_sentiment_request *req,
    hwai_error **err)
{
    if (!out || !client) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is NULL", out ? "client" : "out");
    }
    *out = NULL;
    hwai_status status = check_request(req, err);
    if (status != HWAI_OK) {
        return status;
    }
    size_t body_len = 0;
    char *body = encode_request(req, &body_len, err);
    if (!body) {
        return hwai_error_status(err ? *err : NULL) != HWAI_OK ? hwai_error_status(*err)
                                                               : HWAI_E_NOMEM;
    }
    hwai__call call = {
        .service = HWAI_SERVICE_NLP,
        .operation = "sentiment",
        .method = "POST",
        .path = "/v1/{project_id}/nlu/sentiment",
        .body = body,
        .body_len = body_len,
        .error_code_in_success = true,
        .deadline_ms = req->deadline_ms,
        .cancel = req->cancel,
    };
    hwai__http_response resp = HWAI__HTTP_RESPONSE_INIT;
    json_t *root = NULL;
    status = hwai__pipeline_json(client, &call, &resp, &root, err);
    if (status == HWAI_OK) {
        status = read_result(root, &resp, out, err);
    }
    free(body);
    hwai__http_response_cleanup(&resp);
    return status;
}

void hwai_sentiment_result_free(hwai_sentiment_result *result)
{
    if (!result) {
        return;
    }
    sentiment_result_impl *impl = (sentiment_result_impl *)result;
    json_decref(impl->root);
    free(impl->request_id);
    free(impl->raw_json);
    free(impl);
}
