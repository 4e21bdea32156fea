/**
 * @file credentials.h
 * @brief Credentials a client signs or authorizes its requests with.
 *
 * A credentials object is immutable once made. A client takes its own reference
 * when it is created, so the caller may free its handle right after
 * hwai_client_new(). Secrets are copied into memory that is wiped when the last
 * reference goes away, and never appear in logs or error messages.
 */
#ifndef HWAI_CREDENTIALS_H
#define HWAI_CREDENTIALS_H

#include "hwai/common.h"
#include "hwai/error.h"

HWAI_BEGIN_DECL

/** Opaque credentials handle. */
typedef struct hwai_credentials hwai_credentials;

/** How the credentials authorize a request. */
typedef enum hwai_credentials_kind {
    /** AK/SK request signing (SDK-HMAC-SHA256), optionally with a security token. */
    HWAI_CREDENTIALS_AKSK = 1,
    /** `Authorization: Bearer <api key>`, for MaaS and OpenAI-compatible gateways. */
    HWAI_CREDENTIALS_API_KEY = 2
} hwai_credentials_kind;

/**
 * @brief Makes AK/SK credentials.
 *
 * @param[out] out            receives the new credentials; free with hwai_credentials_free()
 * @param[in]  ak             access key id; non-empty printable ASCII without spaces,
 *                            because it is sent in the Authorization header
 * @param[in]  sk             secret access key; non-empty
 * @param[in]  security_token security token of temporary credentials, or NULL (an
 *                            empty string counts as NULL); printable ASCII without
 *                            spaces; sent as the signed `X-Security-Token` header
 * @param[out] err            optional detailed error
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p out is NULL, @p ak or @p sk is NULL or empty, or
 *                             @p ak or @p security_token has a character that cannot
 *                             be sent in a header
 * @retval HWAI_E_NOMEM        out of memory
 */
HWAI_API HWAI_NODISCARD hwai_status hwai_credentials_new_aksk(
    hwai_credentials **out,
    const char *ak,
    const char *sk,
    const char *security_token,
    hwai_error **err);

/**
 * @brief Makes API key credentials, sent as `Authorization: Bearer <key>`.
 *
 * @param[out] out     receives the new credentials; free with hwai_credentials_free()
 * @param[in]  api_key the key; non-empty, printable ASCII without spaces
 * @param[out] err     optional detailed error
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p out is NULL or the key is NULL, empty or malformed
 * @retval HWAI_E_NOMEM        out of memory
 */
HWAI_API HWAI_NODISCARD hwai_status
hwai_credentials_new_api_key(hwai_credentials **out, const char *api_key, hwai_error **err);

/**
 * @brief Returns the kind of the credentials, or 0 for NULL.
 */
HWAI_API hwai_credentials_kind hwai_credentials_get_kind(const hwai_credentials *creds);

/**
 * @brief Drops the caller's reference; the secrets are wiped when no client holds
 * another. Accepts NULL. Thread-safe.
 */
HWAI_API void hwai_credentials_free(hwai_credentials *creds);

HWAI_END_DECL

#endif /* HWAI_CREDENTIALS_H */
