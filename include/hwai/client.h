/**
 * @file client.h
 * @brief The client: configuration, connection sharing and logging.
 *
 * A client contains the configuration, the credentials and a pool of connections.
 * It is safe to use from several threads at once; calls made through one client
 * reuse its connections, DNS cache and TLS sessions.
 */
#ifndef HWAI_CLIENT_H
#define HWAI_CLIENT_H

#include "hwai/common.h"
#include "hwai/credentials.h"
#include "hwai/error.h"
#include "hwai/retry.h"
#include "hwai/sign.h"

HWAI_BEGIN_DECL

/** Opaque client handle. */
typedef struct hwai_client hwai_client;

/** Severity of a log message. */
typedef enum hwai_log_level {
    HWAI_LOG_ERROR = 1,
    HWAI_LOG_WARN = 2,
    HWAI_LOG_INFO = 3,
    HWAI_LOG_DEBUG = 4
} hwai_log_level;

/**
 * Receives one log line (UTF-8, no trailing newline). It may be called from any
 * thread that uses the client, so it must be thread-safe. Secrets are masked
 * before the line is formatted.
 */
typedef void (*hwai_log_cb)(hwai_log_level level, const char *message, void *user_data);

/** The services a client talks to. Values are pinned. */
typedef enum hwai_service {
    /** Natural language processing, host `nlp-ext.<region>`. */
    HWAI_SERVICE_NLP = 1,
    /** Pangu large models, host `pangu.<region>`. */
    HWAI_SERVICE_PANGU = 2,
    /** OpenAI-compatible gateway; by default ModelArts MaaS. */
    HWAI_SERVICE_MAAS = 3,
    /** Image recognition, host `image.<region>`. */
    HWAI_SERVICE_IMAGE = 4,
    /** Optical character recognition, host `ocr.<region>`. */
    HWAI_SERVICE_OCR = 5,
    /** Content moderation, host `moderation.<region>`. */
    HWAI_SERVICE_MODERATION = 6,
    /** ModelArts, host `modelarts.<region>`. */
    HWAI_SERVICE_MODELARTS = 7,
    /** Identity and Access Management, host `iam.<region>`. */
    HWAI_SERVICE_IAM = 8
} hwai_service;

/**
 * Settings for one service that differ from the client's defaults. Fields left
 * NULL or 0 fall back to the client's settings.
 */
typedef struct hwai_service_config {
    hwai_service service;
    /** Region of this service, such as "cn-southwest-2" for Pangu. */
    const char *region;
    /** Base URL of this service, overriding the region table. */
    const char *endpoint;
    /** Project id for this service's requests. */
    const char *project_id;
    /** Signing algorithm for this service; 0 means the client's. */
    hwai_sign_algorithm signing_algorithm;
    /** Service name in the V11-HMAC-SHA256 scope; NULL means the name the
     * region table gives, such as "nlp". */
    const char *signing_service_name;
} hwai_service_config;

/** The project id to use in one region. */
typedef struct hwai_region_project {
    const char *region;
    const char *project_id;
} hwai_region_project;

/** Default connect timeout: 10 seconds. */
#define HWAI_DEFAULT_CONNECT_TIMEOUT_MS 10000u
/** Default total timeout of one HTTP exchange: 120 seconds. */
#define HWAI_DEFAULT_TIMEOUT_MS 120000u
/** Default maximum response body: 64 MiB. */
#define HWAI_DEFAULT_MAX_RESPONSE_BYTES (64u * 1024u * 1024u)
/** Default deadline of one call, every attempt and delay included: 5 minutes. */
#define HWAI_DEFAULT_CALL_TIMEOUT_MS 300000u
/** Default idle timeout of a stream (no bytes received): 60 seconds. */
#define HWAI_DEFAULT_STREAM_IDLE_TIMEOUT_MS 60000u

#define HWAI_CLIENT_OPTIONS_VERSION 1

/**
 * Client configuration. Initialise with ::HWAI_CLIENT_OPTIONS_INIT or
 * hwai_client_options_init(), then set what you need; zero and NULL fields take
 * the defaults documented on each field. Strings are copied by hwai_client_new().
 */
typedef struct hwai_client_options {
    /** Must be ::HWAI_CLIENT_OPTIONS_VERSION of the headers you compiled with. */
    unsigned int version;
    /** Default region id, such as "cn-north-4"; used to build each service's
     * endpoint (https://<service>.<region>.myhuaweicloud.com). */
    const char *region;
    /** Project id substituted into `{project_id}` and sent as `X-Project-Id`. */
    const char *project_id;
    /** One base URL for every service, such as an on-premises gateway or the local
     * emulator ("http://127.0.0.1:8080"); overrides the region endpoints. Must
     * include the scheme. */
    const char *endpoint;
    /** Connect timeout in milliseconds; 0 means ::HWAI_DEFAULT_CONNECT_TIMEOUT_MS. */
    uint32_t connect_timeout_ms;
    /** Total timeout of one HTTP exchange in milliseconds; 0 means
     * ::HWAI_DEFAULT_TIMEOUT_MS. */
    uint32_t timeout_ms;
    /** Appended to the User-Agent header after "hwai/<version>"; NULL for none. */
    const char *user_agent_suffix;
    /** Credentials; the client takes its own reference. NULL sends requests
     * without authorization, which only a loopback endpoint accepts. */
    const hwai_credentials *credentials;
    /** Hosts (names or addresses, without port) to which plain http:// is allowed
     * besides loopback, which is always allowed. */
    const char *const *http_allowed_hosts;
    /** Number of entries in @ref http_allowed_hosts. */
    size_t http_allowed_host_count;
    /** PEM file of CA certificates to trust instead of the system bundle, or NULL. */
    const char *ca_file;
    /** Directory of hashed CA certificates, or NULL. */
    const char *ca_path;
    /** Non-zero turns off TLS certificate and host name verification. Only for
     * tests against self-signed servers: anyone on the path can then read and
     * change the traffic, credentials included. A warning is logged. */
    int insecure_skip_tls_verify;
    /** Largest response body accepted, in bytes; 0 means
     * ::HWAI_DEFAULT_MAX_RESPONSE_BYTES. */
    size_t max_response_bytes;
    /** Log callback, or NULL for no logging. */
    hwai_log_cb log_cb;
    /** Passed to @ref log_cb unchanged. */
    void *log_user_data;
    /** Most verbose level passed to @ref log_cb; 0 means ::HWAI_LOG_WARN. */
    hwai_log_level log_level;
    /** IAM endpoint for tokens and project lookup; NULL means
     * `HUAWEICLOUD_SDK_IAM_ENDPOINT`, else the `iam_endpoint` of the profile file
     * the credentials came from, else https://iam.<region>.myhuaweicloud.com. */
    const char *iam_endpoint;
    /** Signing algorithm for AK/SK credentials; 0 means SDK-HMAC-SHA256. */
    hwai_sign_algorithm signing_algorithm;
    /** Per-service regions, endpoints, project ids and signing; may be NULL. */
    const hwai_service_config *services;
    /** Number of entries in @ref services. */
    size_t service_count;
    /** Project ids by region; a region not listed (and not given a project id
     * otherwise) has its project id looked up through IAM on first use. */
    const hwai_region_project *region_projects;
    /** Number of entries in @ref region_projects. */
    size_t region_project_count;
    /** PEM client certificate for mutual TLS, or NULL. */
    const char *client_cert_file;
    /** PEM private key of @ref client_cert_file, or NULL. */
    const char *client_key_file;
    /** Proxy URL such as "http://proxy.example:3128", or NULL for none. Proxy
     * variables in the environment are never used. */
    const char *proxy_url;
    /** Proxy user name, or NULL. */
    const char *proxy_username;
    /** Proxy password, or NULL; copied into wiped memory. */
    const char *proxy_password;
    /** Retry policy, or NULL for the defaults in retry.h. */
    const hwai_retry_policy *retry;
    /** Deadline of one call in milliseconds, every attempt and backoff delay
     * included; 0 means ::HWAI_DEFAULT_CALL_TIMEOUT_MS. */
    uint32_t call_timeout_ms;
    /** A stream fails with ::HWAI_E_TIMEOUT when no byte arrives for this many
     * milliseconds; 0 means ::HWAI_DEFAULT_STREAM_IDLE_TIMEOUT_MS. */
    uint32_t stream_idle_timeout_ms;
} hwai_client_options;

#define HWAI_CLIENT_OPTIONS_INIT                                                                 \
    {                                                                                            \
        HWAI_CLIENT_OPTIONS_VERSION, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, 0, NULL, NULL, 0, \
            0, NULL, NULL, (hwai_log_level)0, NULL, (hwai_sign_algorithm)0, NULL, 0, NULL, 0,    \
            NULL, NULL, NULL, NULL, NULL, NULL, 0, 0                                             \
    }

/**
 * @brief Initialises @p opts to the defaults for the given struct version.
 *
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p opts is NULL or @p version is unknown
 */
HWAI_API HWAI_NODISCARD hwai_status
hwai_client_options_init(hwai_client_options *opts, unsigned int version);

/**
 * @brief Creates a client.
 *
 * Nothing is sent over the network here. URLs are checked now: an endpoint without
 * a scheme, or a plain http:// endpoint whose host is neither loopback nor in
 * @ref hwai_client_options.http_allowed_hosts, is rejected.
 *
 * @param[out] out  receives the client; free with hwai_client_free()
 * @param[in]  opts options, or NULL for all defaults
 * @param[out] err  optional detailed error
 * @retval HWAI_OK              success
 * @retval HWAI_E_INVALID_ARG   @p out is NULL, or an option is malformed or of an
 *                              unknown struct version
 * @retval HWAI_E_INSECURE_URL  plain http:// to a host that is not allowed
 * @retval HWAI_E_NOMEM         out of memory
 * @retval HWAI_E_TRANSPORT     the HTTP library could not be initialised
 */
HWAI_API HWAI_NODISCARD hwai_status
hwai_client_new(hwai_client **out, const hwai_client_options *opts, hwai_error **err);

/** Authentication a client would use; see hwai_client_auth_info(). */
typedef struct hwai_auth_info {
    hwai_credentials_kind kind;
    /** Where the credentials came from, as hwai_credentials_source() returns it. */
    const char *source;
    /** Access key id (not secret), or NULL. */
    const char *access_key_id;
    /** Region of the service asked about, or NULL. */
    const char *region;
    /** Project id the service's calls would use, or NULL when none applies. */
    const char *project_id;
    /** Expiry of the IAM token in use, in seconds since 1970 (UTC), or 0. */
    int64_t token_expires_at;
    /** Signing algorithm for AK/SK credentials, or 0. */
    hwai_sign_algorithm signing_algorithm;
} hwai_auth_info;

/**
 * @brief Resolves what calls to @p service would authenticate with: looks up the
 * project id and fetches an IAM token when the configuration needs them, so
 * setup problems show up here rather than in the first real call.
 *
 * @param[out] out     receives the information; free with hwai_auth_info_free()
 * @param[in]  client  the client
 * @param[in]  service the service to ask about
 * @param[out] err     optional detailed error
 * @retval HWAI_OK success
 * @return the statuses of a failed project lookup or token request otherwise
 */
HWAI_API HWAI_NODISCARD hwai_status hwai_client_auth_info(
    hwai_auth_info **out, hwai_client *client, hwai_service service, hwai_error **err);

/**
 * @brief Frees what hwai_client_auth_info() returned. Accepts NULL.
 */
HWAI_API void hwai_auth_info_free(hwai_auth_info *info);

/**
 * @brief Frees a client and closes its connections. Accepts NULL.
 *
 * No call may be in flight on the client, from any thread.
 */
HWAI_API void hwai_client_free(hwai_client *client);

HWAI_END_DECL

#endif /* HWAI_CLIENT_H */
