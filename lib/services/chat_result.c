#include "services/chat_result.h"

#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "json/json.h"
#include "util/str.h"

/* The public struct comes first so the pointer handed out can be freed as this. */
typedef struct chat_result_impl {
    hwai_chat_result pub;
    json_t *root;
    hwai_chat_choice *choices;
    char *request_id;
    char *raw_json;
} chat_result_impl;

static int64_t token_count(const json_t *value)
{
    if (json_is_integer(value)) {
        return (int64_t)json_integer_value(value);
    }
    if (json_is_real(value)) {
        return (int64_t)json_real_value(value);
    }
    return 0;
}

void hwai__chat_usage_from_json(const json_t *usage_obj, hwai_chat_usage *usage)
{
    memset(usage, 0, sizeof(*usage));
    if (!json_is_object(usage_obj)) {
        return;
    }
    usage->present = 1;
    usage->prompt_tokens = token_count(json_object_get(usage_obj, "prompt_tokens"));
    usage->completion_tokens = token_count(json_object_get(usage_obj, "completion_tokens"));
    usage->total_tokens = token_count(json_object_get(usage_obj, "total_tokens"));
}

static hwai_status
read_choice(const json_t *item, size_t index, hwai_chat_choice *choice, hwai_error **err)
{
    const json_t *message = json_object_get(item, "message");
    const json_t *content = json_object_get(message, "content");
    if (!json_is_object(message) || !(json_is_string(content) || json_is_null(content))) {
        return hwai__error_set(
            err, HWAI_E_BAD_RESPONSE, "chat response's choices[%zu] has no message.content", index);
    }
    const json_t *index_value = json_object_get(item, "index");
    choice->index =
        json_is_integer(index_value) ? (uint32_t)json_integer_value(index_value) : (uint32_t)index;
    const char *role = hwai__json_str(message, "role");
    choice->role = role ? role : "assistant";
    /* A null content (tool calls only) reads as empty text. */
    choice->content = json_is_string(content) ? json_string_value(content) : "";
    choice->content_len = json_is_string(content) ? json_string_length(content) : 0;
    const json_t *reasoning = json_object_get(message, "reasoning_content");
    if (json_is_string(reasoning)) {
        choice->reasoning_content = json_string_value(reasoning);
        choice->reasoning_content_len = json_string_length(reasoning);
    }
    choice->finish_reason = hwai__json_str(item, "finish_reason");
    return HWAI_OK;
}

hwai_status hwai__chat_result_from_json(
    hwai_chat_result **out, json_t *root, const hwai__http_response *resp, hwai_error **err)
{
    *out = NULL;
    const char *request_id = hwai__headers_get(&resp->headers, "X-Request-Id");
    const json_t *choices = json_object_get(root, "choices");
    size_t count = json_array_size(choices);
    if (!json_is_array(choices) || count == 0) {
        json_decref(root);
        return hwai__error_set_http(
            err, HWAI_E_BAD_RESPONSE, resp->status, NULL, request_id,
            "chat response has no choices");
    }
    chat_result_impl *impl = calloc(1, sizeof(*impl));
    hwai_chat_choice *items = calloc(count, sizeof(*items));
    char *raw = hwai__strndup(resp->body.data ? resp->body.data : "", resp->body.len);
    char *rid = hwai__strdup(request_id);
    if (!impl || !items || !raw || (request_id && !rid)) {
        free(impl);
        free(items);
        free(raw);
        free(rid);
        json_decref(root);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory reading the chat response");
    }
    impl->root = root;
    impl->choices = items;
    impl->raw_json = raw;
    impl->request_id = rid;
    for (size_t i = 0; i < count; i++) {
        hwai_status status = read_choice(json_array_get(choices, i), i, &items[i], err);
        if (status != HWAI_OK) {
            hwai_chat_result_free(&impl->pub);
            return status;
        }
    }
    impl->pub.id = hwai__json_str(root, "id");
    impl->pub.model = hwai__json_str(root, "model");
    impl->pub.choices = items;
    impl->pub.choice_count = count;
    impl->pub.request_id = rid;
    impl->pub.raw_json = raw;
    impl->pub.raw_json_len = resp->body.len;
    hwai__chat_usage_from_json(json_object_get(root, "usage"), &impl->pub.usage);
    *out = &impl->pub;
    return HWAI_OK;
}

void hwai_chat_result_free(hwai_chat_result *result)
{
    if (!result) {
        return;
    }
    chat_result_impl *impl = (chat_result_impl *)result;
    json_decref(impl->root);
    free(impl->choices);
    free(impl->request_id);
    free(impl->raw_json);
    free(impl);
}
