#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/credentials_internal.h"
#include "auth/token_cache.h"
#include "core/client_internal.h"
#include "core/endpoint.h"
#include "core/error_internal.h"
#include "hwai/version.h"
#include "retry/backoff.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/url.h"

hwai_status hwai_client_options_init(hwai_client_options *opts, unsigned int version)
{
    if (!opts) {
        return HWAI_E_INVALID_ARG;
    }
    if (version != HWAI_CLIENT_OPTIONS_VERSION) {
        return HWAI_E_INVALID_ARG;
    }
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return HWAI_OK;
}

static hwai_status
copy_allowed_hosts(hwai_client *client, const hwai_client_options *opts, hwai_error **err)
{
    if (opts->http_allowed_host_count == 0) {
        return HWAI_OK;
    }
    if (!opts->http_allowed_hosts) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "http_allowed_hosts is NULL but http_allowed_host_count is %zu",
            opts->http_allowed_host_count);
    }
    client->http_allowed_hosts = calloc(opts->http_allowed_host_count, sizeof(char *));
    if (!client->http_allowed_hosts) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying http_allowed_hosts");
    }
    for (size_t i = 0; i < opts->http_allowed_host_count; i++) {
        const char *host = opts->http_allowed_hosts[i];
        if (hwai__str_empty(host)) {
            return hwai__error_set(
                err, HWAI_E_INVALID_ARG, "http_allowed_hosts[%zu] is NULL or empty", i);
        }
        client->http_allowed_hosts[i] = hwai__strdup(host);
        client->http_allowed_host_count = i + 1;
        if (!client->http_allowed_hosts[i]) {
            return hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying http_allowed_hosts");
        }
    }
    return HWAI_OK;
}

static hwai_status
copy_service_configs(hwai_client *client, const hwai_client_options *opts, hwai_error **err)
{
    if (opts->service_count == 0) {
        return HWAI_OK;
    }
    if (!opts->services) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "services is NULL but service_count is %zu",
            opts->service_count);
    }
    client->services = calloc(opts->service_count, sizeof(*client->services));
    if (!client->services) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying services");
    }
    client->service_count = opts->service_count;
    for (size_t i = 0; i < opts->service_count; i++) {
        const hwai_service_config *in = &opts->services[i];
        hwai_service_config *copy = &client->services[i];
        if (in->service < HWAI_SERVICE_NLP || in->service > HWAI_SERVICE_IAM) {
            return hwai__error_set(
                err, HWAI_E_INVALID_ARG, "services[%zu].service %d is not a known service", i,
                (int)in->service);
        }
        copy->service = in->service;
        copy->signing_algorithm = in->signing_algorithm;
        copy->region = hwai__strdup(in->region);
        copy->endpoint = hwai__strdup(in->endpoint);
        copy->project_id = hwai__strdup(in->project_id);
        copy->signing_service_name = hwai__strdup(in->signing_service_name);
        if ((in->region && !copy->region) || (in->endpoint && !copy->endpoint) ||
            (in->project_id && !copy->project_id) ||
            (in->signing_service_name && !copy->signing_service_name)) {
            return hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying services");
        }
        if (in->endpoint) {
            hwai_status status = hwai__endpoint_check(client, in->endpoint, err);
            if (status != HWAI_OK) {
                hwai__error_prefix(err, "services endpoint");
                return status;
            }
        }
    }
    return HWAI_OK;
}

static hwai_status
copy_region_projects(hwai_client *client, const hwai_client_options *opts, hwai_error **err)
{
    if (opts->region_project_count == 0) {
        return HWAI_OK;
    }
    if (!opts->region_projects) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "region_projects is NULL but region_project_count is %zu",
            opts->region_project_count);
    }
    client->region_projects = calloc(opts->region_project_count, sizeof(hwai_region_project));
    if (!client->region_projects) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying region_projects");
    }
    client->region_project_count = opts->region_project_count;
    for (size_t i = 0; i < opts->region_project_count; i++) {
        const hwai_region_project *in = &opts->region_projects[i];
        if (hwai__str_empty(in->region) || hwai__str_empty(in->project_id) ||
            strpbrk(in->project_id, "/?#{}\r\n")) {
            return hwai__error_set(
                err, HWAI_E_INVALID_ARG,
                "region_projects[%zu] needs a region and a project id without / ? # { }", i);
        }
        client->region_projects[i].region = hwai__strdup(in->region);
        client->region_projects[i].project_id = hwai__strdup(in->project_id);
        if (!client->region_projects[i].region || !client->region_projects[i].project_id) {
            return hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying region_projects");
        }
    }
    return HWAI_OK;
}

static hwai_status
copy_strings(hwai_client *client, const hwai_client_options *opts, hwai_error **err)
{
    client->region = hwai__strdup(opts->region);
    client->project_id = hwai__strdup(opts->project_id);
    client->endpoint = hwai__strdup(opts->endpoint);
    client->iam_endpoint = hwai__strdup(opts->iam_endpoint);
    /* The option first, then the variable the official SDKs read, then the
     * iam_endpoint key of the profile file the credentials came from. */
    if (!client->iam_endpoint) {
        const char *env = getenv("HUAWEICLOUD_SDK_IAM_ENDPOINT");
        const char *from_profile = opts->credentials ? opts->credentials->iam_endpoint : NULL;
        const char *chosen = !hwai__str_empty(env) ? env : from_profile;
        client->iam_endpoint = hwai__str_empty(chosen) ? NULL : hwai__strdup(chosen);
    }
    hwai__buf ua = HWAI__BUF_INIT;
    hwai__buf_printf(&ua, "hwai/%s", hwai_version());
    if (!hwai__str_empty(opts->user_agent_suffix)) {
        hwai__buf_printf(&ua, "; %s", opts->user_agent_suffix);
    }
    client->user_agent = hwai__buf_detach(&ua);
    if ((opts->region && !client->region) || (opts->project_id && !client->project_id) ||
        (opts->endpoint && !client->endpoint) || !client->user_agent) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying client options");
    }
    return HWAI_OK;
}

/* Region ids look like "cn-north-4"; anything else could steer the host name
 * built from them (https://iam.<region>.myhuaweicloud.com) elsewhere. */
static hwai_status check_region(const char *name, const char *region, hwai_error **err)
{
    if (!region) {
        return HWAI_OK;
    }
    size_t len = strlen(region);
    bool ok = len > 0 && len <= 64;
    for (size_t i = 0; ok && i < len; i++) {
        char c = region[i];
        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    }
    if (!ok) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "%s is not a region id: use lower-case letters, digits and '-', such as cn-north-4",
            name);
    }
    return HWAI_OK;
}

/* A base URL carries no credentials, query or fragment: a signature covers one
 * path, and userinfo would put a secret where logs show URLs. */
static hwai_status check_base_url(const char *name, const char *url, hwai_error **err)
{
    if (!url) {
        return HWAI_OK;
    }
    const char *authority = strstr(url, "://");
    authority = authority ? authority + 3 : url;
    size_t authority_len = strcspn(authority, "/?#");
    if (memchr(authority, '@', authority_len) || strpbrk(url, "?#")) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "%s must be a plain base URL such as https://host:port/path, without user "
            "information, query or fragment",
            name);
    }
    return HWAI_OK;
}

static hwai_status check_file_option(const char *name, const char *path, hwai_error **err)
{
    if (path && access(path, R_OK) != 0) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "%s '%s' cannot be read: %s", name, path, strerror(errno));
    }
    return HWAI_OK;
}

static hwai_status check_options(const hwai_client_options *opts, hwai_error **err)
{
    if (opts->version != HWAI_CLIENT_OPTIONS_VERSION) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "hwai_client_options.version is %u but this library knows version %d; "
            "initialise the struct with HWAI_CLIENT_OPTIONS_INIT",
            opts->version, HWAI_CLIENT_OPTIONS_VERSION);
    }
    if (opts->user_agent_suffix && strpbrk(opts->user_agent_suffix, "\r\n")) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "user_agent_suffix must not contain CR or LF");
    }
    if (opts->signing_algorithm < 0 || opts->signing_algorithm > HWAI_SIGN_SDK_HMAC_SM3) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "signing_algorithm %d is not a known algorithm",
            (int)opts->signing_algorithm);
    }
    hwai_status checked = check_region("region", opts->region, err);
    if (checked == HWAI_OK) {
        checked = check_base_url("endpoint", opts->endpoint, err);
    }
    if (checked == HWAI_OK) {
        checked = check_base_url("iam_endpoint", opts->iam_endpoint, err);
    }
    for (size_t i = 0; checked == HWAI_OK && opts->services && i < opts->service_count; i++) {
        checked = check_region("services[].region", opts->services[i].region, err);
        if (checked == HWAI_OK) {
            checked = check_base_url("services[].endpoint", opts->services[i].endpoint, err);
        }
        if (checked == HWAI_OK && (opts->services[i].signing_algorithm < 0 ||
                                   opts->services[i].signing_algorithm > HWAI_SIGN_SDK_HMAC_SM3)) {
            checked = hwai__error_set(
                err, HWAI_E_INVALID_ARG, "services[%zu].signing_algorithm is not a known algorithm",
                i);
        }
    }
    for (size_t i = 0;
         checked == HWAI_OK && opts->region_projects && i < opts->region_project_count; i++) {
        checked = check_region("region_projects[].region", opts->region_projects[i].region, err);
    }
    if (checked != HWAI_OK) {
        return checked;
    }
    const char *files[][2] = {
        { "ca_file", opts->ca_file },
        { "client_cert_file", opts->client_cert_file },
        { "client_key_file", opts->client_key_file },
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        hwai_status status = check_file_option(files[i][0], files[i][1], err);
        if (status != HWAI_OK) {
            return status;
        }
    }
    if ((opts->client_cert_file == NULL) != (opts->client_key_file == NULL)) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "client_cert_file and client_key_file go together; set both or neither");
    }
    if (opts->proxy_url && !strstr(opts->proxy_url, "://")) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "proxy_url has no scheme; write it as http://host:port (put credentials in "
            "proxy_username and proxy_password)");
    }
    if (opts->project_id && strpbrk(opts->project_id, "/?#{}\r\n")) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "project_id '%s' contains a character not allowed in a project id", opts->project_id);
    }
    return HWAI_OK;
}

hwai_status hwai_client_new(hwai_client **out, const hwai_client_options *opts, hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "out is NULL");
    }
    *out = NULL;
    hwai_client_options defaults = HWAI_CLIENT_OPTIONS_INIT;
    if (!opts) {
        opts = &defaults;
    }
    hwai_status status = check_options(opts, err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai_client *client = calloc(1, sizeof(*client));
    if (!client) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory creating the client");
    }
    client->connect_timeout_ms =
        opts->connect_timeout_ms ? opts->connect_timeout_ms : HWAI_DEFAULT_CONNECT_TIMEOUT_MS;
    client->timeout_ms = opts->timeout_ms ? opts->timeout_ms : HWAI_DEFAULT_TIMEOUT_MS;
    client->max_response_bytes =
        opts->max_response_bytes ? opts->max_response_bytes : HWAI_DEFAULT_MAX_RESPONSE_BYTES;
    client->signing_algorithm = opts->signing_algorithm;
    client->call_timeout_ms =
        opts->call_timeout_ms ? opts->call_timeout_ms : HWAI_DEFAULT_CALL_TIMEOUT_MS;
    client->stream_idle_timeout_ms = opts->stream_idle_timeout_ms
                                         ? opts->stream_idle_timeout_ms
                                         : HWAI_DEFAULT_STREAM_IDLE_TIMEOUT_MS;
    client->log_cb = opts->log_cb;
    client->log_user_data = opts->log_user_data;
    client->log_level = opts->log_level ? opts->log_level : HWAI_LOG_WARN;
    if (opts->credentials) {
        client->credentials = hwai__credentials_ref(opts->credentials);
    }
    status = copy_strings(client, opts, err);
    if (status == HWAI_OK) {
        status = copy_allowed_hosts(client, opts, err);
    }
    if (status == HWAI_OK && opts->proxy_url) {
        hwai__url proxy;
        status = hwai__url_parse(&proxy, opts->proxy_url, NULL);
        if (status != HWAI_OK) {
            status = hwai__error_set(
                err, HWAI_E_INVALID_ARG,
                "proxy_url is not a valid http(s) URL; write it as http://host:port");
        } else {
            client->proxy_host = hwai__strdup(proxy.host);
            hwai__url_cleanup(&proxy);
            status = client->proxy_host ? HWAI_OK : HWAI_E_NOMEM;
        }
    }
    if (status == HWAI_OK && client->endpoint) {
        status = hwai__endpoint_check(client, client->endpoint, err);
    }
    if (status == HWAI_OK && client->iam_endpoint) {
        status = hwai__endpoint_check(client, client->iam_endpoint, err);
    }
    if (status == HWAI_OK) {
        status = copy_service_configs(client, opts, err);
    }
    if (status == HWAI_OK) {
        status = copy_region_projects(client, opts, err);
    }
    if (status == HWAI_OK) {
        status = hwai__retry_policy_resolve(opts->retry, &client->retry, err);
    }
    if (status == HWAI_OK) {
        status = hwai__token_cache_new(&client->tokens, err);
    }
    if (status == HWAI_OK) {
        hwai__transport_config config = {
            opts->ca_file,          opts->ca_path,         opts->insecure_skip_tls_verify != 0,
            opts->client_cert_file, opts->client_key_file, opts->proxy_url,
            opts->proxy_username,   opts->proxy_password
        };
        status = hwai__transport_curl_new(&client->transport, &config, err);
    }
    if (status != HWAI_OK) {
        hwai_client_free(client);
        return status;
    }
    if (opts->insecure_skip_tls_verify) {
        hwai__log(
            client, HWAI_LOG_WARN,
            "TLS certificate verification is OFF for this client: anyone on the network "
            "path can read and change its traffic, credentials included");
    }
    *out = client;
    return HWAI_OK;
}

void hwai_client_free(hwai_client *client)
{
    if (!client) {
        return;
    }
    if (client->transport) {
        client->transport->ops->destroy(client->transport);
    }
    hwai__token_cache_free(client->tokens);
    hwai_credentials_free(client->credentials);
    for (size_t i = 0; i < client->http_allowed_host_count; i++) {
        free(client->http_allowed_hosts[i]);
    }
    free(client->http_allowed_hosts);
    for (size_t i = 0; i < client->service_count; i++) {
        free((char *)client->services[i].region);
        free((char *)client->services[i].endpoint);
        free((char *)client->services[i].project_id);
        free((char *)client->services[i].signing_service_name);
    }
    free(client->services);
    for (size_t i = 0; i < client->region_project_count; i++) {
        free((char *)client->region_projects[i].region);
        free((char *)client->region_projects[i].project_id);
    }
    free(client->region_projects);
    free(client->iam_endpoint);
    free(client->proxy_host);
    free(client->region);
    free(client->project_id);
    free(client->endpoint);
    free(client->user_agent);
    free(client);
}
