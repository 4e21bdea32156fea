/* Credentials and the client built from the global options. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

#define ENV_PROXY_PASSWORD "HWAI_PROXY_PASSWORD"

/* Returns the variable's value, or NULL when it is unset or empty. */
static const char *env_value(const char *name)
{
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

int cli_credentials_from_chain(hwai_credentials **out, const char *command, const char *advice)
{
    hwai_error *err = NULL;
    int rc = CLI_EXIT_OK;

    *out = NULL;
    hwai_status status = hwai_credentials_new_from_chain(out, NULL, &err);
    if (status == HWAI_E_AUTH) {
        /* Nothing found is a setup problem, reported like a missing option.
         * The library's message lists each place it looked. */
        rc = cli_usage_error(command, "%s. %s", hwai_error_message(err), advice);
    } else if (status != HWAI_OK) {
        rc = cli_report_failure("invalid credentials", status, err);
    }
    hwai_error_free(err);
    return rc;
}

static int
make_iam_credentials(hwai_credentials **out, const cli_global *global, const char *command)
{
    hwai_iam_password_options options = HWAI_IAM_PASSWORD_OPTIONS_INIT;
    hwai_error *err = NULL;
    char *password = NULL;

    int rc = cli_read_iam_password(command, global->iam_user, &password);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    options.user_name = global->iam_user;
    options.password = password;
    options.domain_name = global->iam_domain;
    options.project_id = global->project_id;
    hwai_status status = hwai_credentials_new_iam_password(out, &options, &err);
    cli_secret_free(password);
    if (status != HWAI_OK) {
        rc = cli_report_failure("invalid IAM credentials", status, err);
    }
    hwai_error_free(err);
    return rc;
}

/* Picks the credentials in the documented order: an API key, an IAM user,
 * --no-auth, then the credential chain (environment, profile file). */
static int make_credentials(hwai_credentials **out, const cli_global *global, const char *command)
{
    hwai_error *err = NULL;
    hwai_status status = HWAI_OK;
    int rc = CLI_EXIT_OK;

    if (global->api_key != NULL) {
        status = hwai_credentials_new_api_key(out, global->api_key, &err);
    } else if (global->iam_user != NULL) {
        return make_iam_credentials(out, global, command);
    } else if (global->no_auth) {
        status = hwai_credentials_new_none(out, &err);
    } else {
        return cli_credentials_from_chain(
            out, command,
            "Set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK, write a profile file, or use "
            "--api-key, --iam-user or --no-auth");
    }
    if (status != HWAI_OK) {
        rc = cli_report_failure(
            global->api_key != NULL ? "invalid API key" : "credentials setup failed", status, err);
    }
    hwai_error_free(err);
    return rc;
}

static const char *log_level_name(hwai_log_level level)
{
    switch (level) {
    case HWAI_LOG_ERROR: return "error";
    case HWAI_LOG_WARN: return "warning";
    case HWAI_LOG_INFO: return "info";
    case HWAI_LOG_DEBUG: return "debug";
    }
    return "log";
}

/* The library masks secrets before it formats a line. */
static void log_to_stderr(hwai_log_level level, const char *message, void *user_data)
{
    fprintf(stderr, "hwai [%s] %s\n", log_level_name(level), message);
}

static void apply_service_options(hwai_client_options *options, const cli_global *global)
{
    options->endpoint = global->endpoint;
    options->region = global->region;
    options->project_id = global->project_id;
    options->iam_endpoint = global->iam_endpoint;
    options->signing_algorithm = global->signing_algorithm;
    options->services = global->service_count > 0 ? global->services : NULL;
    options->service_count = global->service_count;
    options->region_projects = global->region_projects;
    options->region_project_count = global->region_project_count;
}

static void apply_network_options(hwai_client_options *options, const cli_global *global)
{
    options->call_timeout_ms = global->call_timeout_ms;
    options->timeout_ms = global->http_timeout_ms;
    options->connect_timeout_ms = global->connect_timeout_ms;
    options->stream_idle_timeout_ms = global->idle_timeout_ms;
    options->ca_file = global->ca_file;
    options->ca_path = global->ca_path;
    options->client_cert_file = global->client_cert_file;
    options->client_key_file = global->client_key_file;
    options->insecure_skip_tls_verify = global->insecure_skip_tls_verify;
    options->proxy_url = global->proxy_url;
    options->proxy_username = global->proxy_user;
    if (global->proxy_user != NULL) {
        options->proxy_password = env_value(ENV_PROXY_PASSWORD);
    }
}

int cli_client_new(hwai_client **out, const cli_global *global, const char *command)
{
    hwai_client_options options;
    hwai_retry_policy retry;
    hwai_credentials *credentials = NULL;
    hwai_error *err = NULL;
    hwai_status status;
    int rc;

    *out = NULL;
    rc = make_credentials(&credentials, global, command);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    status = hwai_client_options_init(&options, HWAI_CLIENT_OPTIONS_VERSION);
    if (status == HWAI_OK && global->retries >= 0) {
        status = hwai_retry_policy_init(&retry, HWAI_RETRY_POLICY_VERSION);
        retry.max_attempts = (uint32_t)global->retries + 1;
        options.retry = &retry;
    }
    if (status == HWAI_OK) {
        apply_service_options(&options, global);
        apply_network_options(&options, global);
        options.user_agent_suffix = "hwai-cli/" HWAI_VERSION_STRING;
        options.credentials = credentials;
        if (global->verbose) {
            options.log_cb = log_to_stderr;
            options.log_level = HWAI_LOG_DEBUG;
        }
        status = hwai_client_new(out, &options, &err);
    }
    if (status != HWAI_OK) {
        rc = cli_report_failure("client setup failed", status, err);
    }

done:
    /* The client keeps its own reference to the credentials. */
    hwai_credentials_free(credentials);
    hwai_error_free(err);
    return rc;
}
