#include "auth/auth.h"

#include "auth/credentials_internal.h"
#include "auth/signer.h"
#include "auth/token_cache.h"
#include "core/client_internal.h"
#include "core/error_internal.h"
#include "util/buf.h"
#include "util/str.h"

static hwai_status append_plain_uri(const hwai__auth_request *req, hwai__buf *uri_out)
{
    hwai__buf_append_str(uri_out, req->path);
    if (req->query && req->query->count > 0) {
        hwai__buf_append_char(uri_out, '?');
        hwai__query_canonical(req->query, uri_out);
    }
    return uri_out->oom ? HWAI_E_NOMEM : HWAI_OK;
}

static hwai_status apply_aksk(
    const hwai_credentials *creds,
    const hwai__auth_scope *scope,
    const hwai__auth_request *req,
    hwai__buf *uri_out,
    hwai_error **err)
{
    hwai__aksk_snapshot keys;
    hwai_status status = hwai__credentials_snapshot(creds, &keys, err);
    if (status != HWAI_OK) {
        return status;
    }
    if (keys.security_token &&
        !hwai__headers_set(req->headers, "X-Security-Token", keys.security_token)) {
        hwai__aksk_snapshot_cleanup(&keys);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory adding X-Security-Token");
    }
    hwai__sign_params params = {
        .algorithm = scope->algorithm ? scope->algorithm : HWAI_SIGN_SDK_HMAC_SHA256,
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .headers = req->headers,
        .host = req->authority,
        .body = req->body,
        .body_len = req->body_len,
        .ak = keys.ak,
        .sk = keys.sk,
        .service = scope->signing_service,
        .region = scope->region,
    };
    hwai__sign_result result = { 0 };
    status = hwai__sign(&params, &result, err);
    if (status == HWAI_OK) {
        hwai__buf_append_str(uri_out, result.uri);
        status = uri_out->oom ? HWAI_E_NOMEM : HWAI_OK;
    }
    hwai__sign_result_cleanup(&result);
    hwai__aksk_snapshot_cleanup(&keys);
    return status;
}

static hwai_status apply_api_key(
    const hwai_credentials *creds,
    const hwai__auth_request *req,
    hwai__buf *uri_out,
    hwai_error **err)
{
    hwai__buf value = HWAI__BUF_INIT;
    hwai__buf_printf(&value, "Bearer %s", creds->api_key);
    bool ok = !value.oom && hwai__headers_set(req->headers, "Authorization", value.data);
    hwai__buf_cleanup_secret(&value);
    if (!ok) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory adding Authorization");
    }
    return append_plain_uri(req, uri_out);
}

static hwai_status apply_iam_token(
    hwai_client *client,
    const hwai_credentials *creds,
    const hwai__auth_scope *scope,
    const hwai__auth_request *req,
    hwai__buf *uri_out,
    char **token_used_out,
    hwai_error **err)
{
    char *token = NULL;
    hwai__call_budget budget = { scope->deadline_at_ms, scope->cancel };
    hwai_status status = hwai__token_get_within(
        client->tokens, client, creds, scope->region, scope->project_id, &budget, &token, NULL,
        err);
    if (status != HWAI_OK) {
        return status;
    }
    if (!hwai__headers_set(req->headers, "X-Auth-Token", token)) {
        hwai__secret_free(token);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory adding X-Auth-Token");
    }
    if (token_used_out) {
        *token_used_out = token;
    } else {
        hwai__secret_free(token);
    }
    return append_plain_uri(req, uri_out);
}

hwai_status hwai__auth_apply(
    hwai_client *client,
    const hwai_credentials *creds,
    const hwai__auth_scope *scope,
    const hwai__auth_request *req,
    hwai__buf *uri_out,
    char **token_used_out,
    hwai_error **err)
{
    if (token_used_out) {
        *token_used_out = NULL;
    }
    if (!creds) {
        return append_plain_uri(req, uri_out);
    }
    switch (creds->kind) {
    case HWAI_CREDENTIALS_AKSK: return apply_aksk(creds, scope, req, uri_out, err);
    case HWAI_CREDENTIALS_API_KEY: return apply_api_key(creds, req, uri_out, err);
    case HWAI_CREDENTIALS_IAM_PASSWORD:
        return apply_iam_token(client, creds, scope, req, uri_out, token_used_out, err);
    case HWAI_CREDENTIALS_NONE: return append_plain_uri(req, uri_out);
    }
    return hwai__error_set(err, HWAI_E_INTERNAL, "unknown credentials kind %d", (int)creds->kind);
}

void hwai__auth_token_rejected(
    hwai_client *client, const hwai__auth_scope *scope, const char *token)
{
    if (client->tokens && token) {
        hwai__token_invalidate(client->tokens, scope->region, scope->project_id, token);
    }
}

void hwai__auth_redact_error(hwai_error **err, const hwai_credentials *creds, const char *token)
{
    if (!err || !*err) {
        return;
    }
    const char *secrets[] = {
        token,
        creds ? creds->sk : NULL,
        creds ? creds->security_token : NULL,
        creds ? creds->api_key : NULL,
        creds ? creds->password : NULL,
    };
    hwai__error_redact(*err, secrets, sizeof(secrets) / sizeof(secrets[0]));
}
