#include "auth/auth.h"

#include "auth/credentials_internal.h"
#include "auth/signer.h"
#include "core/error_internal.h"
#include "util/buf.h"

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
    const hwai__auth_request *req,
    hwai__buf *uri_out,
    hwai_error **err)
{
    if (creds->security_token &&
        !hwai__headers_set(req->headers, "X-Security-Token", creds->security_token)) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory adding X-Security-Token");
    }
    hwai__sign_params params = {
        .algorithm = HWAI_SIGN_SDK_HMAC_SHA256,
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .headers = req->headers,
        .host = req->authority,
        .body = req->body,
        .body_len = req->body_len,
        .ak = creds->ak,
        .sk = creds->sk,
    };
    hwai__sign_result result = {0};
    hwai_status status = hwai__sign(&params, &result, err);
    if (status == HWAI_OK) {
        hwai__buf_append_str(uri_out, result.uri);
        status = uri_out->oom ? HWAI_E_NOMEM : HWAI_OK;
    }
    hwai__sign_result_cleanup(&result);
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

hwai_status hwai__auth_apply(
    const hwai_credentials *creds,
    const hwai__auth_request *req,
    hwai__buf *uri_out,
    hwai_error **err)
{
    if (!creds) {
        return append_plain_uri(req, uri_out);
    }
    switch (creds->kind) {
    case HWAI_CREDENTIALS_AKSK:
        return apply_aksk(creds, req, uri_out, err);
    case HWAI_CREDENTIALS_API_KEY:
        return apply_api_key(creds, req, uri_out, err);
    }
    return hwai__error_set(err, HWAI_E_INTERNAL, "unknown credentials kind %d", (int)creds->kind);
}
