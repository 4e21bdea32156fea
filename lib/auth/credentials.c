#include "auth/credentials_internal.h"

#include <stdlib.h>

#include "core/error_internal.h"
#include "util/str.h"

/* Checks that value is non-empty printable ASCII without spaces. AKs, tokens and API
 * keys travel in header values, where a CR or LF would inject a header. The message
 * names the parameter and the position, never the value. */
static hwai_status validate_header_text(const char *value, const char *name, hwai_error **err)
{
    if (!value) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is NULL", name);
    }
    if (!*value) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is empty", name);
    }
    for (size_t i = 0; value[i]; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c <= 0x20 || c >= 0x7f) {
            return hwai__error_set(
                err, HWAI_E_INVALID_ARG,
                "%s is malformed: character %zu is a space, control character or not ASCII", name,
                i + 1);
        }
    }
    return HWAI_OK;
}

static void credentials_destroy(hwai_credentials *creds)
{
    hwai__secret_free(creds->ak);
    hwai__secret_free(creds->sk);
    hwai__secret_free(creds->security_token);
    hwai__secret_free(creds->api_key);
    free(creds);
}

static hwai_credentials *credentials_alloc(hwai_credentials_kind kind)
{
    hwai_credentials *creds = calloc(1, sizeof(*creds));
    if (creds) {
        atomic_init(&creds->refs, 1);
        creds->kind = kind;
    }
    return creds;
}

hwai_status hwai_credentials_new_aksk(
    hwai_credentials **out,
    const char *ak,
    const char *sk,
    const char *security_token,
    hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "out is NULL");
    }
    *out = NULL;
    hwai_status status = validate_header_text(ak, "ak", err);
    if (status != HWAI_OK) {
        return status;
    }
    if (hwai__str_empty(sk)) {
        /* The SK is only an HMAC key, so any bytes are allowed. */
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "sk is %s", sk ? "empty" : "NULL");
    }
    /* An empty token counts as none, so a token read from an unset environment
     * variable does not fail. */
    bool has_token = !hwai__str_empty(security_token);
    if (has_token) {
        status = validate_header_text(security_token, "security_token", err);
        if (status != HWAI_OK) {
            return status;
        }
    }

    hwai_credentials *creds = credentials_alloc(HWAI_CREDENTIALS_AKSK);
    if (!creds) {
        goto nomem;
    }
    creds->ak = hwai__secret_dup(ak);
    creds->sk = hwai__secret_dup(sk);
    creds->security_token = has_token ? hwai__secret_dup(security_token) : NULL;
    if (!creds->ak || !creds->sk || (has_token && !creds->security_token)) {
        credentials_destroy(creds);
        goto nomem;
    }
    *out = creds;
    return HWAI_OK;
nomem:
    return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while creating credentials");
}

hwai_status
hwai_credentials_new_api_key(hwai_credentials **out, const char *api_key, hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "out is NULL");
    }
    *out = NULL;
    hwai_status status = validate_header_text(api_key, "api_key", err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai_credentials *creds = credentials_alloc(HWAI_CREDENTIALS_API_KEY);
    if (creds) {
        creds->api_key = hwai__secret_dup(api_key);
    }
    if (!creds || !creds->api_key) {
        free(creds);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while creating credentials");
    }
    *out = creds;
    return HWAI_OK;
}

hwai_credentials_kind hwai_credentials_get_kind(const hwai_credentials *creds)
{
    return creds ? creds->kind : (hwai_credentials_kind)0;
}

hwai_credentials *hwai__credentials_ref(const hwai_credentials *creds)
{
    /* The count is the one mutable field of an otherwise immutable object. */
    hwai_credentials *mutable_creds = (hwai_credentials *)creds;
    if (mutable_creds) {
        atomic_fetch_add_explicit(&mutable_creds->refs, 1, memory_order_relaxed);
    }
    return mutable_creds;
}

void hwai_credentials_free(hwai_credentials *creds)
{
    if (!creds) {
        return;
    }
    /* Release ordering makes every thread's use happen before the wipe, and the
     * acquire fence makes the last thread see those uses. */
    if (atomic_fetch_sub_explicit(&creds->refs, 1, memory_order_release) == 1) {
        atomic_thread_fence(memory_order_acquire);
        credentials_destroy(creds);
    }
}
