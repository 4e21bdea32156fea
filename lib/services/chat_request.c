#include "services/chat_request.h"

#include <math.h>
#include <string.h>

#include "core/client_internal.h"
#include "core/error_internal.h"
#include "json/json.h"
#include "util/str.h"

hwai_status hwai_chat_request_init(hwai_chat_request *req, unsigned int version)
{
    if (!req || version != HWAI_CHAT_REQUEST_VERSION) {
        return HWAI_E_INVALID_ARG;
    }
    hwai_chat_request init = HWAI_CHAT_REQUEST_INIT;
    *req = init;
    return HWAI_OK;
}

static bool is_set(double value)
{
    return value != HWAI_UNSET;
}

static hwai_status
check_range(const char *name, double value, double min, double max, bool min_open, hwai_error **err)
{
    if (!is_set(value)) {
        return HWAI_OK;
    }
    bool below = min_open ? value <= min : value < min;
    if (!isfinite(value) || below || value > max) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "%s is %g; it must be in %c%g, %g]", name, value,
            min_open ? '(' : '[', min, max);
    }
    return HWAI_OK;
}

static hwai_status check_messages(const hwai_chat_request *req, hwai_error **err)
{
    if (!req->messages || req->message_count == 0) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "chat request has no messages; give at least one");
    }
    for (size_t i = 0; i < req->message_count; i++) {
        const hwai_chat_message *m = &req->messages[i];
        if (hwai__str_empty(m->role)) {
            return hwai__error_set(
                err, HWAI_E_INVALID_ARG,
                "messages[%zu].role is empty; use \"user\", "
                "\"system\" or \"assistant\"",
                i);
        }
        if (!m->content) {
            return hwai__error_set(err, HWAI_E_INVALID_ARG, "messages[%zu].content is NULL", i);
        }
    }
    return HWAI_OK;
}

hwai_status hwai__chat_validate(const hwai_chat_request *req, hwai_error **err)
{
    if (!req) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "chat request is NULL");
    }
    if (req->version != HWAI_CHAT_REQUEST_VERSION) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "hwai_chat_request.version is %u but this library knows version %d; initialise "
            "the struct with HWAI_CHAT_REQUEST_INIT",
            req->version, HWAI_CHAT_REQUEST_VERSION);
    }
    if (hwai__str_empty(req->deployment_id) && hwai__str_empty(req->model)) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "chat request needs deployment_id (Pangu) or model (OpenAI-compatible gateway)");
    }
    if (!hwai__str_empty(req->pool_id) && hwai__str_empty(req->deployment_id)) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "pool_id is set but deployment_id is empty; set both");
    }
    if (req->max_tokens < 0) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "max_tokens is %d; it must be 1 or more (0 leaves it unset)",
            (int)req->max_tokens);
    }
    hwai_status status = check_messages(req, err);
    if (status == HWAI_OK) {
        status = check_range("temperature", req->temperature, 0.0, 2.0, false, err);
    }
    if (status == HWAI_OK) {
        status = check_range("top_p", req->top_p, 0.0, 1.0, true, err);
    }
    if (status == HWAI_OK) {
        status = check_range("presence_penalty", req->presence_penalty, -2.0, 2.0, false, err);
    }
    if (status == HWAI_OK) {
        status = check_range("frequency_penalty", req->frequency_penalty, -2.0, 2.0, false, err);
    }
    return status;
}

static bool ends_with_v1(const char *path)
{
    size_t len = strlen(path);
    while (len > 0 && path[len - 1] == '/') {
        len--;
    }
    return len >= 3 && memcmp(path + len - 3, "/v1", 3) == 0;
}

static hwai_status build_openai_path(hwai_client *client, hwai__chat_route *route, hwai_error **err)
{
    hwai__buf base = HWAI__BUF_INIT;
    hwai__url url;
    memset(&url, 0, sizeof(url));
    hwai_status status = hwai__endpoint_base(client, HWAI_SERVICE_MAAS, &base, err);
    if (status == HWAI_OK) {
        status = hwai__url_parse(&url, base.data, err);
    }
    if (status == HWAI_OK) {
        /* The pipeline prefixes the base path, so only the rest goes here. */
        hwai__buf_append_str(
            &route->path, ends_with_v1(url.path) ? "/chat/completions" : "/v1/chat/completions");
    }
    hwai__url_cleanup(&url);
    hwai__buf_cleanup(&base);
    return status;
}

hwai_status hwai__chat_route_build(
    hwai_client *client, const hwai_chat_request *req, hwai__chat_route *route, hwai_error **err)
{
    hwai__buf_clear(&route->path);
    hwai_status status = HWAI_OK;
    if (hwai__str_empty(req->deployment_id)) {
        route->service = HWAI_SERVICE_MAAS;
        route->openai_compatible = true;
        status = build_openai_path(client, route, err);
    } else {
        route->service = HWAI_SERVICE_PANGU;
        route->openai_compatible = false;
        if (hwai__str_empty(req->pool_id)) {
            hwai__buf_append_str(&route->path, "/v1/{project_id}/deployments/");
        } else {
            hwai__buf_append_str(&route->path, "/v2/{project_id}/pools/");
            status = hwai__path_append_param(&route->path, "pool_id", req->pool_id, err);
            hwai__buf_append_str(&route->path, "/deployments/");
        }
        if (status == HWAI_OK) {
            status =
                hwai__path_append_param(&route->path, "deployment_id", req->deployment_id, err);
        }
        hwai__buf_append_str(&route->path, "/chat/completions");
    }
    if (status == HWAI_OK && route->path.oom) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory building the chat path");
    }
    return status;
}

void hwai__chat_route_cleanup(hwai__chat_route *route)
{
    hwai__buf_cleanup(&route->path);
}

static int set_number(json_t *body, const char *key, double value)
{
    return is_set(value) ? json_object_set_new(body, key, json_real(value)) : 0;
}

static hwai_status encode_messages(const hwai_chat_request *req, json_t *body, hwai_error **err)
{
    json_t *messages = json_array();
    if (!messages || json_object_set_new(body, "messages", messages) != 0) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory encoding the chat request");
    }
    for (size_t i = 0; i < req->message_count; i++) {
        const hwai_chat_message *m = &req->messages[i];
        size_t len = m->content_len ? m->content_len : strlen(m->content);
        json_t *content = json_stringn(m->content, len);
        json_t *role = json_string(m->role);
        if (!content || !role) {
            json_decref(content);
            json_decref(role);
            return hwai__error_set(
                err, HWAI_E_INVALID_ARG, "messages[%zu] has a %s that is not valid UTF-8", i,
                content ? "role" : "content");
        }
        json_t *item = json_object();
        if (!item || json_object_set_new(item, "role", role) != 0 ||
            json_object_set_new(item, "content", content) != 0 ||
            json_array_append_new(messages, item) != 0) {
            return hwai__error_set(err, HWAI_E_NOMEM, "out of memory encoding the chat request");
        }
    }
    return HWAI_OK;
}

static int set_string(json_t *body, const char *key, const char *value)
{
    if (hwai__str_empty(value)) {
        return 0;
    }
    json_t *text = json_string(value);
    return text ? json_object_set_new(body, key, text) : -1;
}

char *hwai__chat_encode(
    const hwai_chat_request *req,
    bool openai_compatible,
    bool stream,
    size_t *len_out,
    hwai_error **err)
{
    json_t *body = json_object();
    char *text = NULL;
    if (!body) {
        hwai__error_set(err, HWAI_E_NOMEM, "out of memory encoding the chat request");
        return NULL;
    }
    if (encode_messages(req, body, err) != HWAI_OK) {
        goto done;
    }
    int rc = set_string(body, "model", req->model);
    rc |= set_string(body, "user", req->user);
    rc |= set_number(body, "temperature", req->temperature);
    rc |= set_number(body, "top_p", req->top_p);
    rc |= set_number(body, "presence_penalty", req->presence_penalty);
    rc |= set_number(body, "frequency_penalty", req->frequency_penalty);
    if (req->max_tokens > 0) {
        rc |= json_object_set_new(body, "max_tokens", json_integer(req->max_tokens));
    }
    if (stream) {
        rc |= json_object_set_new(body, "stream", json_true());
        if (openai_compatible) {
            rc |=
                json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1));
        }
    }
    if (rc != 0) {
        hwai__error_set(err, HWAI_E_INVALID_ARG, "model or user is not valid UTF-8");
        goto done;
    }
    text = hwai__json_dump(body, len_out);
    if (!text) {
        hwai__error_set(err, HWAI_E_NOMEM, "out of memory encoding the chat request");
    }
done:
    json_decref(body);
    return text;
}
