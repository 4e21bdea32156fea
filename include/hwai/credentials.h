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

/** Kind of authorization that credentials add to a request. */
typedef enum hwai_credentials_kind {
    /** AK/SK request signing (SDK-HMAC-SHA256), optionally with a security token. */
    HWAI_CREDENTIALS_AKSK = 1,
    /** `Authorization: Bearer <api key>`, for MaaS and OpenAI-compatible gateways. */
    HWAI_CREDENTIALS_API_KEY = 2,
    /** An IAM user token obtained with a user name and password, sent as
     * `X-Auth-Token`, cached and refreshed before it expires. */
    HWAI_CREDENTIALS_IAM_PASSWORD = 3,
    /** No authorization, for a loopback endpoint that needs none. */
    HWAI_CREDENTIALS_NONE = 4
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

#define HWAI_IAM_PASSWORD_OPTIONS_VERSION 1

/**
 * IAM password authentication: `POST /v3/auth/tokens` on the IAM endpoint with
 * the password method, scoped to a project. Initialise with
 * ::HWAI_IAM_PASSWORD_OPTIONS_INIT. Strings are copied; the password is wiped
 * when the credentials are freed.
 */
typedef struct hwai_iam_password_options {
    /** Must be ::HWAI_IAM_PASSWORD_OPTIONS_VERSION. */
    unsigned int version;
    /** IAM user name; required. */
    const char *user_name;
    /** The user's password; required. */
    const char *password;
    /** Name of the account (domain) the user belongs to; required. */
    const char *domain_name;
    /** Project id to scope the token to; NULL scopes it to the project named
     * after the region of the call (the client's project id per region wins). */
    const char *project_id;
} hwai_iam_password_options;

#define HWAI_IAM_PASSWORD_OPTIONS_INIT                            \
    {                                                             \
        HWAI_IAM_PASSWORD_OPTIONS_VERSION, NULL, NULL, NULL, NULL \
    }

/**
 * @brief Initialises @p opts to empty options of the given struct version.
 *
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p opts is NULL or @p version is unknown
 */
HWAI_API HWAI_NODISCARD hwai_status
hwai_iam_password_options_init(hwai_iam_password_options *opts, unsigned int version);

/**
 * @brief Makes IAM password credentials. No request is sent until the first call.
 *
 * A client using them requests a token from IAM on first use, sends it as
 * `X-Auth-Token`, reuses it until 5 minutes before its `expires_at`, and then
 * fetches a new one; when several threads need a new token at once, one of
 * them fetches it while the others wait. A 401 response to a request that
 * carried the token (expired or revoked on the server) triggers one refresh and
 * one more attempt. After IAM rejects the password, calls in the next 10
 * seconds get the same error without sending it again, because IAM locks out
 * users after repeated failures.
 *
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p out or @p opts is NULL, a required field is
 *                             missing, or the version is unknown
 * @retval HWAI_E_NOMEM        out of memory
 */
HWAI_API HWAI_NODISCARD hwai_status hwai_credentials_new_iam_password(
    hwai_credentials **out, const hwai_iam_password_options *opts, hwai_error **err);

/**
 * @brief Makes credentials that authorize nothing, for loopback endpoints such as
 * a local inference server.
 *
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p out is NULL
 * @retval HWAI_E_NOMEM        out of memory
 */
HWAI_API HWAI_NODISCARD hwai_status
hwai_credentials_new_none(hwai_credentials **out, hwai_error **err);

#define HWAI_CREDENTIALS_CHAIN_OPTIONS_VERSION 1

/**
 * Settings of the credential chain. Initialise with
 * ::HWAI_CREDENTIALS_CHAIN_OPTIONS_INIT; NULL options mean all defaults.
 */
typedef struct hwai_credentials_chain_options {
    /** Must be ::HWAI_CREDENTIALS_CHAIN_OPTIONS_VERSION. */
    unsigned int version;
    /** Profile file to read; NULL means `HUAWEICLOUD_SDK_CREDENTIALS_FILE`, else
     * `$HOME/.huaweicloud/credentials`. */
    const char *profile_path;
    /** Non-zero adds the instance metadata provider after the profile file.
     * Off by default: nothing ever contacts a metadata address unless asked. */
    int use_metadata;
    /** Base URL of the metadata service, required with @ref use_metadata, e.g.
     * "http://169.254.169.254" on a cloud server. */
    const char *metadata_url;
    /** Timeout of each metadata request in milliseconds; 0 means 3000. */
    uint32_t metadata_timeout_ms;
} hwai_credentials_chain_options;

#define HWAI_CREDENTIALS_CHAIN_OPTIONS_INIT                      \
    {                                                            \
        HWAI_CREDENTIALS_CHAIN_OPTIONS_VERSION, NULL, 0, NULL, 0 \
    }

/**
 * @brief Initialises @p opts to the defaults of the given struct version.
 *
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p opts is NULL or @p version is unknown
 */
HWAI_API HWAI_NODISCARD hwai_status
hwai_credentials_chain_options_init(hwai_credentials_chain_options *opts, unsigned int version);

/**
 * @brief Finds AK/SK credentials the way the official Huawei Cloud SDKs do.
 *
 * The providers are tried in order, and the first that finds an AK and an SK wins:
 * 1. the environment: `HUAWEICLOUD_SDK_AK`, `HUAWEICLOUD_SDK_SK`, and the
 *    optional `HUAWEICLOUD_SDK_SECURITY_TOKEN`, `HUAWEICLOUD_SDK_PROJECT_ID`,
 *    `HUAWEICLOUD_SDK_DOMAIN_ID`;
 * 2. the profile file, an INI file whose `[basic]` (or else `[global]`) section
 *    contains `ak`, `sk` and optionally `security_token`, `project_id`,
 *    `domain_id`, `iam_endpoint`;
 * 3. instance metadata, only when turned on in @p opts: a token from
 *    `PUT <metadata_url>/meta-data/latest/api/token`, then temporary AK/SK from
 *    `GET <metadata_url>/openstack/latest/securitykey`, refreshed before they
 *    expire.
 * Explicit credentials (hwai_credentials_new_aksk()) come before all of these:
 * the chain is only for callers that pass none.
 *
 * @retval HWAI_OK             success; hwai_credentials_source() says which provider
 * @retval HWAI_E_AUTH         no provider found credentials; the message lists what
 *                             each one tried (variable names, the profile path)
 * @retval HWAI_E_INVALID_ARG  bad arguments, or a profile file that exists but is
 *                             malformed (the message names the file and line)
 * @retval HWAI_E_NOMEM        out of memory
 */
HWAI_API HWAI_NODISCARD hwai_status hwai_credentials_new_from_chain(
    hwai_credentials **out, const hwai_credentials_chain_options *opts, hwai_error **err);

/**
 * @brief Returns where the credentials came from: "explicit", "environment",
 * "profile file <path>" or "instance metadata <url>". Never NULL for non-NULL
 * credentials; borrowed for their lifetime.
 */
HWAI_API const char *hwai_credentials_source(const hwai_credentials *creds);

/**
 * @brief Returns the project id that came with the credentials (from the
 * environment or the profile file), or NULL. A client uses it when its own
 * options name no project id.
 */
HWAI_API const char *hwai_credentials_project_id(const hwai_credentials *creds);

/**
 * @brief Returns the access key id (AK), which is not secret, or NULL for
 * credentials without one.
 */
HWAI_API const char *hwai_credentials_access_key_id(const hwai_credentials *creds);

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
