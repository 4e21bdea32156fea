/* Credentials from the environment and the client built from the global options. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

#define ENV_AK "HUAWEICLOUD_SDK_AK"
#define ENV_SK "HUAWEICLOUD_SDK_SK"
#define ENV_SECURITY_TOKEN "HUAWEICLOUD_SDK_SECURITY_TOKEN"

/* Returns the variable's value, or NULL when it is unset or empty. */
static const char *env_value(const char *name)
{
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

int cli_credentials_from_env(hwai_credentials **out, const char *command)
{
    const char *ak = env_value(ENV_AK);
    const char *sk = env_value(ENV_SK);
    hwai_error *err = NULL;
    int rc = CLI_EXIT_OK;

    *out = NULL;
    if (ak == NULL && sk == NULL) {
        return CLI_EXIT_OK;
    }
    if (ak == NULL || sk == NULL) {
        return cli_usage_error(
            command,
            "%s is set but %s is not: set both for AK/SK signing",
            ak != NULL ? ENV_AK : ENV_SK,
            ak != NULL ? ENV_SK : ENV_AK);
    }
    const char *security_token = env_value(ENV_SECURITY_TOKEN);
    hwai_status status = hwai_credentials_new_aksk(out, ak, sk, security_token, &err);
    if (status != HWAI_OK) {
        rc = cli_report_failure("invalid AK/SK credentials", status, err);
    }
    hwai_error_free(err);
    return rc;
}

/* An API key, when given, wins over AK/SK. Without either, requests are sent
 * without authorization, which only a loopback endpoint such as the emulator
 * accepts. */
static int make_credentials(hwai_credentials **out, const cli_global *global, const char *command)
{
    hwai_error *err = NULL;
    int rc = CLI_EXIT_OK;

    if (global->api_key == NULL) {
        return cli_credentials_from_env(out, command);
    }
    hwai_status status = hwai_credentials_new_api_key(out, global->api_key, &err);
    if (status != HWAI_OK) {
        rc = cli_report_failure("invalid API key", status, err);
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

static void apply_global_options(hwai_client_options *options, const cli_global *global)
{
    options->endpoint = global->endpoint;
    options->region = global->region;
    options->project_id = global->project_id;
    options->timeout_ms = global->timeout_ms;
    options->connect_timeout_ms = global->connect_timeout_ms;
    options->ca_file = global->ca_file;
    options->insecure_skip_tls_verify = global->insecure_skip_tls_verify;
    options->user_agent_suffix = "hwai-cli/" HWAI_VERSION_STRING;
    if (global->verbose) {
        options->log_cb = log_to_stderr;
        options->log_level = HWAI_LOG_DEBUG;
    }
}

int cli_client_new(hwai_client **out, const cli_global *global, const char *command)
{
    hwai_client_options options;
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
    if (status == HWAI_OK) {
        apply_global_options(&options, global);
        options.credentials = credentials;
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
