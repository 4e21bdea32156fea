#include "core/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/credentials_internal.h"
#include "auth/token_cache.h"
#include "core/client_internal.h"
#include "core/error_internal.h"
#include "json/json.h"
#include "retry/cancel.h"
#include "util/str.h"

#define PROJECT_ID_PLACEHOLDER "{project_id}"
/* An attempt with less time than this left cannot finish, so it is not begun. */
#define MIN_ATTEMPT_MS 5

uint64_t hwai__monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

hwai_status
hwai__path_append_param(hwai__buf *path, const char *name, const char *value, hwai_error **err)
{
    if (hwai__str_empty(value)) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is required but empty", name);
    }
    hwai__percent_encode(path, value, strlen(value));
    return path->oom ? HWAI_E_NOMEM : HWAI_OK;
}

static const hwai_credentials *call_credentials(const hwai_client *client, const hwai__call *call)
{
    if (call->anonymous) {
        return NULL;
    }
    return call->credentials ? call->credentials : client->credentials;
}

/* The project id of the call's region: configured, or looked up through IAM
 * with AK/SK credentials when the region is known. */
static hwai_status resolve_project_id(
    hwai_client *client, const hwai__call *call, hwai__prepared *prep, hwai_error **err)
{
    const char *configured = hwai__service_project_id(client, call->service);
    if (!hwai__str_empty(configured)) {
        prep->project_id = hwai__strdup(configured);
        return prep->project_id ? HWAI_OK : HWAI_E_NOMEM;
    }
    const hwai_credentials *creds = prep->credentials;
    const char *region = prep->scope.region;
    if (creds && creds->kind == HWAI_CREDENTIALS_AKSK && !hwai__str_empty(region)) {
        hwai__call_budget budget = { prep->deadline_at_ms, call->cancel };
        hwai_status status =
            hwai__project_lookup_within(client, creds, region, &budget, &prep->project_id, err);
        if (status != HWAI_OK) {
            hwai__error_prefix(err, "project id lookup");
        }
        return status;
    }
    return hwai__error_set(
        err, HWAI_E_CONFIG,
        "%s needs a project id: set the project_id client option (or a project id for "
        "region '%s'), or set a region with AK/SK credentials so it can be looked up",
        call->operation, region ? region : "(none)");
}

/* Replaces {project_id}; a request never leaves with the placeholder or an
 * empty project segment, which the gateway would response with a confusing
 * signature error. */
static hwai_status
expand_path(hwai_client *client, const hwai__call *call, hwai__prepared *prep, hwai_error **err)
{
    const char *path = call->path;
    const char *slot = strstr(path, PROJECT_ID_PLACEHOLDER);
    hwai__buf *out = &prep->path;
    if (slot) {
        hwai_status status = resolve_project_id(client, call, prep, err);
        if (status != HWAI_OK) {
            return status;
        }
        hwai__buf_append(out, path, (size_t)(slot - path));
        hwai__percent_encode(out, prep->project_id, strlen(prep->project_id));
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
    const hwai_client *client,
    const hwai__call *call,
    const hwai__prepared *prep,
    hwai__headers *headers)
{
    bool ok = true;
    if (call->body) {
        ok = hwai__headers_add(
            headers, "Content-Type", call->content_type ? call->content_type : "application/json");
    }
    ok = ok && hwai__headers_add(headers, "User-Agent", client->user_agent);
    /* AK/SK requests carry the project id as a signed header, as the official
     * SDKs send it. */
    if (ok && prep->project_id && prep->credentials &&
        prep->credentials->kind == HWAI_CREDENTIALS_AKSK) {
        ok = hwai__headers_add(headers, "X-Project-Id", prep->project_id);
    }
    return ok ? HWAI_OK : HWAI_E_NOMEM;
}

/* Splits the base URL into what signing needs: scheme and authority, and the
 * base path that prefixes every call's path. */
static hwai_status
build_target(hwai_client *client, const hwai__call *call, hwai__prepared *prep, hwai_error **err)
{
    hwai__url *base_url = &prep->base_url;
    hwai__buf *full_path = &prep->path;
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
    return expand_path(client, call, prep, err);
}

void hwai__prepared_cleanup(hwai__prepared *prep)
{
    free(prep->project_id);
    hwai__secret_free(prep->token_used);
    hwai__headers_cleanup(&prep->headers);
    hwai__buf_cleanup(&prep->uri);
    hwai__buf_cleanup(&prep->url);
    hwai__buf_cleanup(&prep->path);
    hwai__url_cleanup(&prep->base_url);
}

hwai_status hwai__pipeline_authorize(
    hwai_client *client, const hwai__call *call, hwai__prepared *prep, hwai_error **err)
{
    hwai__headers_clear(&prep->headers);
    hwai__buf_clear(&prep->uri);
    hwai__buf_clear(&prep->url);
    hwai__secret_free(prep->token_used);
    prep->token_used = NULL;
    if (add_common_headers(client, call, prep, &prep->headers) != HWAI_OK) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory building request headers");
    }
    prep->scope.project_id = prep->project_id;
    hwai__auth_request auth = { call->method,   prep->path.data,
                                call->query,    prep->base_url.authority,
                                &prep->headers, call->body,
                                call->body_len };
    hwai_status status = hwai__auth_apply(
        client, prep->credentials, &prep->scope, &auth, &prep->uri, &prep->token_used, err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai__buf_printf(
        &prep->url, "%s://%s%s", prep->base_url.scheme, prep->base_url.authority, prep->uri.data);
    if (prep->url.oom) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory building the URL");
    }
    uint64_t now = hwai__monotonic_ms();
    uint64_t left = prep->deadline_at_ms > now ? prep->deadline_at_ms - now : 1;
    uint32_t timeout = client->timeout_ms;
    if (left < timeout) {
        timeout = (uint32_t)left;
    }
    prep->request = (hwai__http_request){
        call->method,   prep->url.data,
        &prep->headers, call->body,
        call->body_len, client->connect_timeout_ms < timeout ? client->connect_timeout_ms : timeout,
        timeout,        client->max_response_bytes,
        call->cancel
    };
    return HWAI_OK;
}

hwai_status hwai__pipeline_prepare(
    hwai_client *client, const hwai__call *call, hwai__prepared *prep, hwai_error **err)
{
    memset(prep, 0, sizeof(*prep));
    uint32_t deadline = call->deadline_ms ? call->deadline_ms : client->call_timeout_ms;
    prep->deadline_at_ms = hwai__monotonic_ms() + deadline;
    prep->credentials = call_credentials(client, call);
    prep->scope.service = call->service;
    prep->scope.region = hwai__service_region(client, call->service);
    prep->scope.algorithm = hwai__service_algorithm(client, call->service);
    prep->scope.signing_service = hwai__service_signing_name(client, call->service);
    prep->scope.deadline_at_ms = prep->deadline_at_ms;
    prep->scope.cancel = call->cancel;
    return build_target(client, call, prep, err);
}

static long elapsed_ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)((now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000);
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
        char *request_id = hwai__clean_text(hwai__headers_get(&resp->headers, "X-Request-Id"), 128);
        hwai__log(
            client, resp->status >= 400 ? HWAI_LOG_WARN : HWAI_LOG_INFO,
            "%s %s %s -> HTTP %d in %ld ms (request id %s)", call->operation, call->method,
            prep->uri.data, resp->status, elapsed_ms, request_id ? request_id : "none");
        free(request_id);
    } else {
        hwai__log(
            client, HWAI_LOG_WARN, "%s %s %s failed after %ld ms: %s", call->operation,
            call->method, prep->uri.data, elapsed_ms,
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
        char code[16];
        snprintf(code, sizeof(code), "%d", resp->status);
        return hwai__error_set_http(
            err, HWAI_E_SERVICE, resp->status, code,
            hwai__headers_get(&resp->headers, "X-Request-Id"),
            "%s responded with a redirect (HTTP %d) to '%s'; redirects are not followed, so "
            "point the endpoint at the final URL",
            call->operation, resp->status, location ? location : "");
    }
    if (resp->status == 407) {
        return hwai__error_set_http(
            err, HWAI_E_SERVICE, 407, "407", hwai__headers_get(&resp->headers, "X-Request-Id"),
            "the proxy rejected the request (HTTP 407 Proxy Authentication Required): check "
            "the proxy user name and password");
    }
    if (resp->status >= 400) {
        return hwai__error_from_response(resp, call->operation, err);
    }
    return HWAI_OK;
}

/* The delay before the next attempt: Retry-After when the response had a valid
 * one (in *server_delay_ms too, before any cap), else the computed backoff. */
static uint64_t next_delay_ms(
    const hwai_client *client,
    unsigned int retry,
    const hwai__http_response *resp,
    uint64_t *server_delay_ms)
{
    const char *retry_after = hwai__headers_get(&resp->headers, "Retry-After");
    bool has_server_delay =
        retry_after && hwai__parse_retry_after(retry_after, time(NULL), server_delay_ms);
    if (!has_server_delay) {
        *server_delay_ms = 0;
    }
    return hwai__backoff_delay_ms(
        &client->retry, retry, has_server_delay ? server_delay_ms : NULL, hwai__random_u64, NULL);
}

bool hwai__pipeline_token_rejected(
    hwai_client *client,
    const hwai__call *call,
    hwai__prepared *prep,
    const hwai__http_response *resp,
    bool *already_refreshed)
{
    if (!prep->token_used || resp->status != 401 || *already_refreshed) {
        return false;
    }
    *already_refreshed = true;
    hwai__auth_token_rejected(client, &prep->scope, prep->token_used);
    hwai__log(client, HWAI_LOG_INFO, "%s: IAM token rejected, fetching a new one", call->operation);
    return true;
}

hwai_status hwai__pipeline_retry_wait(
    hwai_client *client,
    const hwai__call *call,
    const hwai__prepared *prep,
    const hwai__http_response *resp,
    unsigned int attempt,
    hwai_status status,
    hwai_error **err)
{
    hwai__attempt_outcome outcome = { status, resp->status,
                                      err && *err ? hwai_error_code(*err) : NULL };
    hwai__idempotency idempotency = call->idempotency ? call->idempotency : HWAI__IDEMPOTENT;
    if (attempt >= client->retry.max_attempts || !hwai__retry_allowed(&outcome, idempotency)) {
        return status;
    }
    uint64_t server_delay = 0;
    uint64_t delay = next_delay_ms(client, attempt, resp, &server_delay);
    uint64_t now = hwai__monotonic_ms();
    uint64_t left = prep->deadline_at_ms > now ? prep->deadline_at_ms - now : 0;
    /* When the server requests more time than the deadline leaves, its
     * response is returned now rather than retried against its wish. */
    if (delay >= left || server_delay >= left) {
        hwai__log(
            client, HWAI_LOG_INFO, "%s: no retry, the next delay of %llu ms passes the deadline",
            call->operation, (unsigned long long)(server_delay > delay ? server_delay : delay));
        return status;
    }
    hwai__log(
        client, HWAI_LOG_INFO, "%s: attempt %u failed (%s%s%s), retrying in %llu ms",
        call->operation, attempt, hwai_status_str(status), outcome.error_code ? ", " : "",
        outcome.error_code ? outcome.error_code : "", (unsigned long long)delay);
    if (!hwai__cancel_sleep_ms(call->cancel, delay)) {
        return hwai__error_set(
            err, HWAI_E_CANCELLED, "%s cancelled by the caller", call->operation);
    }
    return HWAI_OK;
}

hwai_status hwai__pipeline_send(
    hwai_client *client, const hwai__call *call, hwai__http_response *resp, hwai_error **err)
{
    hwai__prepared prep;
    hwai_status status = hwai__pipeline_prepare(client, call, &prep, err);
    unsigned int attempt = 0;
    bool token_refreshed = false;
    while (status == HWAI_OK) {
        if (hwai__cancel_is_set(call->cancel)) {
            status = hwai__error_set(
                err, HWAI_E_CANCELLED, "%s cancelled by the caller", call->operation);
            break;
        }
        if (hwai__monotonic_ms() + MIN_ATTEMPT_MS >= prep.deadline_at_ms) {
            status = hwai__error_set(
                err, HWAI_E_TIMEOUT, "%s timed out: the call's deadline passed after %u attempts",
                call->operation, attempt);
            break;
        }
        hwai__http_response_cleanup(resp);
        status = hwai__pipeline_authorize(client, call, &prep, err);
        if (status != HWAI_OK) {
            break;
        }
        attempt++;
        status = send_once(client, call, &prep, resp, err);
        if (status == HWAI_E_TIMEOUT &&
            hwai__monotonic_ms() + MIN_ATTEMPT_MS >= prep.deadline_at_ms) {
            hwai__error_set(
                err, HWAI_E_TIMEOUT,
                "%s timed out: the call's deadline (call_timeout_ms or the request's "
                "deadline_ms) passed during attempt %u",
                call->operation, attempt);
        }
        if (status == HWAI_OK) {
            status = hwai__pipeline_check_status(call, resp, err);
        }
        if (status == HWAI_OK) {
            break;
        }
        hwai__auth_redact_error(err, prep.credentials, prep.token_used);
        /* An IAM token the gateway no longer takes gets one refresh and one more
         * try, outside the retry budget; a second rejection is returned. */
        if (hwai__pipeline_token_rejected(client, call, &prep, resp, &token_refreshed)) {
            attempt--;
            status = HWAI_OK;
            /* A call that succeeds on the next try returns no error. */
            hwai_error_free(err ? *err : NULL);
            if (err) {
                *err = NULL;
            }
            continue;
        }
        status = hwai__pipeline_retry_wait(client, call, &prep, resp, attempt, status, err);
        if (status == HWAI_OK) {
            hwai_error_free(err ? *err : NULL);
            if (err) {
                *err = NULL;
            }
        }
    }
    hwai__error_set_attempts(err, attempt);
    resp->attempts = attempt;
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
        hwai__error_set_http(
            err, HWAI_E_CONTENT_TYPE, resp->status, NULL, request_id,
            "%s response has Content-Type '%s', expected application/json", call->operation,
            content_type);
        hwai__error_set_attempts(err, resp->attempts);
        return HWAI_E_CONTENT_TYPE;
    }
    status = hwai__json_parse(
        resp->body.data ? resp->body.data : "", resp->body.len, HWAI__JSON_MAX_DEPTH, root_out,
        err);
    if (status != HWAI_OK) {
        hwai__buf context = HWAI__BUF_INIT;
        hwai__buf_printf(&context, "%s response", call->operation);
        hwai__error_prefix(err, context.data ? context.data : call->operation);
        hwai__buf_cleanup(&context);
        hwai__error_set_response(err, resp->status, request_id);
        hwai__error_set_attempts(err, resp->attempts);
        return status;
    }
    if (call->error_code_in_success && !hwai__str_empty(hwai__json_str(*root_out, "error_code"))) {
        const char *code = hwai__json_str(*root_out, "error_code");
        const char *message = hwai__json_str(*root_out, "error_msg");
        status = hwai__error_set_http(
            err, HWAI_E_SERVICE, resp->status, code, request_id, "%s",
            message ? message : "service reported an error");
        json_decref(*root_out);
        *root_out = NULL;
    }
    if (status != HWAI_OK) {
        hwai__error_set_attempts(err, resp->attempts);
    }
    return status;
}
