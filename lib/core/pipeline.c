#include "core/pipeline.h"

#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/credentials_internal.h"
#include "core/client_internal.h"
#include "core/error_internal.h"
#include "json/json.h"
#include "util/str.h"

#define PROJECT_ID_PLACEHOLDER "{project_id}"

hwai_status hwai__path_append_param(
    hwai__buf *path, const char *name, const char *value, hwai_error **err)
{
    if (hwai__str_empty(value)) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is required but empty", name);
    }
    hwai__percent_encode(path, value, strlen(value));
    return path->oom ? HWAI_E_NOMEM : HWAI_OK;
}

/* Replaces {project_id}; a request never leaves with the placeholder or an
 * empty project segment, which the gateway would answer with a confusing
 * signature error. */
static hwai_status expand_path(
    const hwai_client *client, const hwai__call *call, hwai__buf *out, hwai_error **err)
{
    const char *path = call->path;
    const char *slot = strstr(path, PROJECT_ID_PLACEHOLDER);
    if (slot) {
        if (hwai__str_empty(client->project_id)) {
            return hwai__error_set(
                err,
                HWAI_E_CONFIG,
                "%s needs a project id: set the project_id client option "
                "(HUAWEICLOUD_SDK_PROJECT_ID for the hwai command)",
                call->operation);
        }
        hwai__buf_append(out, path, (size_t)(slot - path));
        hwai__percent_encode(out, client->project_id, strlen(client->project_id));
        hwai__buf_append_str(out, slot + strlen(PROJECT_ID_PLACEHOLDER));
    } else {
        hwai__buf_append_str(out, path);
    }
    if (out->oom) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory building the request path");
    }
    if (strpbrk(out->data, "{}")) {
        return hwai__error_set(
            err, HWAI_E_INTERNAL, "request path '%s' has an unfilled parameter", out->data);
    }
    return HWAI_OK;
}

static hwai_status add_common_headers(
    const hwai_client *client, const hwai__call *call, hwai__headers *headers)
{
    bool ok = true;
    if (call->body) {
        ok = hwai__headers_add(
            headers, "Content-Type", call->content_type ? call->content_type : "application/json");
    }
    ok = ok && hwai__headers_add(headers, "User-Agent", client->user_agent);
    /* AK/SK requests carry the project id as a signed header, as the official
     * SDKs send it. */
    if (ok && client->project_id && client->credentials &&
        client->credentials->kind == HWAI_CREDENTIALS_AKSK) {
        ok = hwai__headers_add(headers, "X-Project-Id", client->project_id);
    }
    return ok ? HWAI_OK : HWAI_E_NOMEM;
}

/* Splits the base URL into what signing needs: scheme and authority, and the
 * base path that prefixes every call's path. */
static hwai_status build_target(
    hwai_client *client,
    const hwai__call *call,
    hwai__url *base_url,
    hwai__buf *full_path,
    hwai_error **err)
{
    hwai__buf base = HWAI__BUF_INIT;
    hwai_status status = hwai__endpoint_base(client, call->service, &base, err);
    if (status == HWAI_OK) {
        status = hwai__endpoint_check(client, base.data, err);
    }
    if (status == HWAI_OK) {
        status = hwai__url_parse(base_url, base.data, err);
    }
    hwai__buf_cleanup(&base);
    if (status != HWAI_OK) {
        return status;
    }
    size_t base_len = strlen(base_url->path);
    while (base_len > 0 && base_url->path[base_len - 1] == '/') {
        base_len--;
    }
    hwai__buf_append(full_path, base_url->path, base_len);
    return expand_path(client, call, full_path, err);
}

void hwai__prepared_cleanup(hwai__prepared *prep)
{
    hwai__headers_cleanup(&prep->headers);
    hwai__buf_cleanup(&prep->uri);
    hwai__buf_cleanup(&prep->url);
    hwai__buf_cleanup(&prep->path);
    hwai__url_cleanup(&prep->base_url);
}

/* Builds the URL and headers and signs them. Called once per attempt, so every
 * attempt carries a fresh signature and date. */
static hwai_status authorize(
    hwai_client *client, const hwai__call *call, hwai__prepared *prep, hwai_error **err)
{
    hwai__headers_clear(&prep->headers);
    hwai__buf_clear(&prep->uri);
    hwai__buf_clear(&prep->url);
    if (add_common_headers(client, call, &prep->headers) != HWAI_OK) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory building request headers");
    }
    hwai__auth_request auth = {
        call->method,       prep->path.data, call->query, prep->base_url.authority,
        &prep->headers,     call->body,      call->body_len};
    hwai_status status = hwai__auth_apply(client->credentials, &auth, &prep->uri, err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai__buf_printf(
        &prep->url, "%s://%s%s", prep->base_url.scheme, prep->base_url.authority,
        prep->uri.data);
    if (prep->url.oom) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory building the URL");
    }
    prep->request = (hwai__http_request){
        call->method,
        prep->url.data,
        &prep->headers,
        call->body,
        call->body_len,
        client->connect_timeout_ms,
        client->timeout_ms,
        client->max_response_bytes};
    return HWAI_OK;
}

hwai_status hwai__pipeline_prepare(
    hwai_client *client, const hwai__call *call, hwai__prepared *prep, hwai_error **err)
{
    memset(prep, 0, sizeof(*prep));
    hwai_status status = build_target(client, call, &prep->base_url, &prep->path, err);
    if (status == HWAI_OK) {
        status = authorize(client, call, prep, err);
    }
    return status;
}

static long elapsed_ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)((now.tv_sec - start->tv_sec) * 1000 +
                  (now.tv_nsec - start->tv_nsec) / 1000000);
}

void hwai__pipeline_log_result(
    hwai_client *client,
    const hwai__call *call,
    const hwai__prepared *prep,
    const hwai__http_response *resp,
    hwai_status status,
    long elapsed_ms,
    hwai_error **err)
{
    if (status == HWAI_OK) {
        const char *request_id = hwai__headers_get(&resp->headers, "X-Request-Id");
        hwai__log(
            client,
            resp->status >= 400 ? HWAI_LOG_WARN : HWAI_LOG_INFO,
            "%s %s %s -> HTTP %d in %ld ms (request id %s)",
            call->operation,
            call->method,
            prep->uri.data,
            resp->status,
            elapsed_ms,
            request_id ? request_id : "none");
    } else {
        hwai__log(
            client,
            HWAI_LOG_WARN,
            "%s %s %s failed after %ld ms: %s",
            call->operation,
            call->method,
            prep->uri.data,
            elapsed_ms,
            err && *err ? hwai_error_message(*err) : hwai_status_str(status));
    }
}

static hwai_status send_once(
    hwai_client *client,
    const hwai__call *call,
    hwai__prepared *prep,
    hwai__http_response *resp,
    hwai_error **err)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    hwai_status status =
        client->transport->ops->perform(client->transport, &prep->request, resp, err);
    hwai__pipeline_log_result(client, call, prep, resp, status, elapsed_ms_since(&start), err);
    return status;
}

hwai_status hwai__pipeline_check_status(
    const hwai__call *call, const hwai__http_response *resp, hwai_error **err)
{
    if (resp->status >= 300 && resp->status < 400) {
        /* A signed request is valid for one host and path only, and following a
         * redirect could hand credentials to another host, so redirects are
         * reported rather than followed. */
        const char *location = hwai__headers_get(&resp->headers, "Location");
        return hwai__error_set_http(
            err,
            HWAI_E_SERVICE,
            resp->status,
            NULL,
            hwai__headers_get(&resp->headers, "X-Request-Id"),
            "%s answered with a redirect (HTTP %d) to '%s'; redirects are not followed, so "
            "point the endpoint at the final URL",
            call->operation,
            resp->status,
            location ? location : "");
    }
    if (resp->status >= 400) {
        return hwai__error_from_response(resp, call->operation, err);
    }
    return HWAI_OK;
}

hwai_status hwai__pipeline_send(
    hwai_client *client, const hwai__call *call, hwai__http_response *resp, hwai_error **err)
{
    hwai__prepared prep;
    hwai_status status = hwai__pipeline_prepare(client, call, &prep, err);
    if (status == HWAI_OK) {
        status = send_once(client, call, &prep, resp, err);
        if (status == HWAI_OK) {
            status = hwai__pipeline_check_status(call, resp, err);
        }
        hwai__error_set_attempts(err, 1);
    }
    hwai__prepared_cleanup(&prep);
    return status;
}

bool hwai__content_type_is_json(const char *content_type)
{
    /* "application/json", "application/json;charset=UTF-8", "application/problem+json". */
    size_t len = strcspn(content_type, ";");
    while (len > 0 && content_type[len - 1] == ' ') {
        len--;
    }
    return (len >= 4 && hwai__strncasecmp(content_type + len - 4, "json", 4) == 0);
}

hwai_status hwai__pipeline_json(
    hwai_client *client,
    const hwai__call *call,
    hwai__http_response *resp,
    json_t **root_out,
    hwai_error **err)
{
    *root_out = NULL;
    hwai_status status = hwai__pipeline_send(client, call, resp, err);
    if (status != HWAI_OK) {
        return status;
    }
    const char *request_id = hwai__headers_get(&resp->headers, "X-Request-Id");
    const char *content_type = hwai__headers_get(&resp->headers, "Content-Type");
    if (content_type && !hwai__content_type_is_json(content_type)) {
        return hwai__error_set_http(
            err,
            HWAI_E_CONTENT_TYPE,
            resp->status,
            NULL,
            request_id,
            "%s answer has Content-Type '%s', expected application/json",
            call->operation,
            content_type);
    }
    status = hwai__json_parse(
        resp->body.data ? resp->body.data : "", resp->body.len, HWAI__JSON_MAX_DEPTH, root_out,
        err);
    if (status != HWAI_OK) {
        hwai__buf context = HWAI__BUF_INIT;
        hwai__buf_printf(&context, "%s answer", call->operation);
        hwai__error_prefix(err, context.data ? context.data : call->operation);
        hwai__buf_cleanup(&context);
        hwai__error_set_response(err, resp->status, request_id);
        return status;
    }
    if (call->error_code_in_success && !hwai__str_empty(hwai__json_str(*root_out, "error_code"))) {
        const char *code = hwai__json_str(*root_out, "error_code");
        const char *message = hwai__json_str(*root_out, "error_msg");
        status = hwai__error_set_http(
            err,
            HWAI_E_SERVICE,
            resp->status,
            code,
            request_id,
            "%s",
            message ? message : "service reported an error");
        json_decref(*root_out);
        *root_out = NULL;
    }
    return status;
}
