#include <stdlib.h>
#include <string.h>

#include "auth/credentials_internal.h"
#include "core/client_internal.h"
#include "core/endpoint.h"
#include "core/error_internal.h"
#include "hwai/version.h"
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

static hwai_status copy_allowed_hosts(
    hwai_client *client, const hwai_client_options *opts, hwai_error **err)
{
    if (opts->http_allowed_host_count == 0) {
        return HWAI_OK;
    }
    if (!opts->http_allowed_hosts) {
        return hwai__error_set(
            err,
            HWAI_E_INVALID_ARG,
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

static hwai_status copy_strings(
    hwai_client *client, const hwai_client_options *opts, hwai_error **err)
{
    client->region = hwai__strdup(opts->region);
    client->project_id = hwai__strdup(opts->project_id);
    client->endpoint = hwai__strdup(opts->endpoint);
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

static hwai_status check_options(const hwai_client_options *opts, hwai_error **err)
{
    if (opts->version != HWAI_CLIENT_OPTIONS_VERSION) {
        return hwai__error_set(
            err,
            HWAI_E_INVALID_ARG,
            "hwai_client_options.version is %u but this library knows version %d; "
            "initialise the struct with HWAI_CLIENT_OPTIONS_INIT",
            opts->version,
            HWAI_CLIENT_OPTIONS_VERSION);
    }
    if (opts->user_agent_suffix && strpbrk(opts->user_agent_suffix, "\r\n")) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "user_agent_suffix must not contain CR or LF");
    }
    if (opts->project_id && strpbrk(opts->project_id, "/?#{}\r\n")) {
        return hwai__error_set(
            err,
            HWAI_E_INVALID_ARG,
            "project_id '%s' contains a character not allowed in a project id",
            opts->project_id);
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
    if (status == HWAI_OK && client->endpoint) {
        status = hwai__endpoint_check(client, client->endpoint, err);
    }
    if (status == HWAI_OK) {
        hwai__transport_config config = {
            opts->ca_file, opts->ca_path, opts->insecure_skip_tls_verify != 0};
        status = hwai__transport_curl_new(&client->transport, &config, err);
    }
    if (status != HWAI_OK) {
        hwai_client_free(client);
        return status;
    }
    if (opts->insecure_skip_tls_verify) {
        hwai__log(
            client,
            HWAI_LOG_WARN,
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
    hwai_credentials_free(client->credentials);
    for (size_t i = 0; i < client->http_allowed_host_count; i++) {
        free(client->http_allowed_hosts[i]);
    }
    free(client->http_allowed_hosts);
    free(client->region);
    free(client->project_id);
    free(client->endpoint);
    free(client->user_agent);
    free(client);
}
