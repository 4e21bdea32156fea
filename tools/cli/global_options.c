/*
 * Global options: the settings before the command that every command shares,
 * such as the endpoint, credentials, retries and timeouts.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Largest value of --retries, so that the attempts (retries + 1) stay within
 * the library's maximum of 10. */
#define MAX_RETRIES 9u

enum {
    OPT_HELP = 1,
    OPT_VERSION,
    OPT_VERBOSE,
    OPT_ENDPOINT,
    OPT_REGION,
    OPT_PROJECT_ID,
    OPT_API_KEY,
    OPT_IAM_USER,
    OPT_IAM_DOMAIN,
    OPT_NO_AUTH,
    OPT_IAM_ENDPOINT,
    OPT_SERVICE_REGION,
    OPT_SERVICE_ENDPOINT,
    OPT_REGION_PROJECT,
    OPT_SIGNING_ALGORITHM,
    OPT_OUTPUT,
    OPT_RETRIES,
    OPT_TIMEOUT_MS,
    OPT_HTTP_TIMEOUT_MS,
    OPT_CONNECT_TIMEOUT_MS,
    OPT_IDLE_TIMEOUT_MS,
    OPT_INSECURE,
    OPT_CA_FILE,
    OPT_CA_PATH,
    OPT_CLIENT_CERT,
    OPT_CLIENT_KEY,
    OPT_PROXY,
    OPT_PROXY_USER
};

static const cli_option global_option_table[] = {
    { "--help", "-h", 0, OPT_HELP },
    { "--version", NULL, 0, OPT_VERSION },
    { "-v", "--verbose", 0, OPT_VERBOSE },
    { "--endpoint", NULL, 1, OPT_ENDPOINT },
    { "--region", NULL, 1, OPT_REGION },
    { "--project-id", NULL, 1, OPT_PROJECT_ID },
    { "--api-key", NULL, 1, OPT_API_KEY },
    { "--iam-user", NULL, 1, OPT_IAM_USER },
    { "--iam-domain", NULL, 1, OPT_IAM_DOMAIN },
    { "--no-auth", NULL, 0, OPT_NO_AUTH },
    { "--iam-endpoint", NULL, 1, OPT_IAM_ENDPOINT },
    { "--service-region", NULL, 1, OPT_SERVICE_REGION },
    { "--service-endpoint", NULL, 1, OPT_SERVICE_ENDPOINT },
    { "--region-project", NULL, 1, OPT_REGION_PROJECT },
    { "--signing-algorithm", NULL, 1, OPT_SIGNING_ALGORITHM },
    { "--output", NULL, 1, OPT_OUTPUT },
    { "--retries", NULL, 1, OPT_RETRIES },
    { "--timeout-ms", NULL, 1, OPT_TIMEOUT_MS },
    { "--http-timeout-ms", NULL, 1, OPT_HTTP_TIMEOUT_MS },
    { "--connect-timeout-ms", NULL, 1, OPT_CONNECT_TIMEOUT_MS },
    { "--idle-timeout-ms", NULL, 1, OPT_IDLE_TIMEOUT_MS },
    { "--insecure", NULL, 0, OPT_INSECURE },
    { "--ca-file", NULL, 1, OPT_CA_FILE },
    { "--ca-path", NULL, 1, OPT_CA_PATH },
    { "--client-cert", NULL, 1, OPT_CLIENT_CERT },
    { "--client-key", NULL, 1, OPT_CLIENT_KEY },
    { "--proxy", NULL, 1, OPT_PROXY },
    { "--proxy-user", NULL, 1, OPT_PROXY_USER },
};

static const char *env_value(const char *name)
{
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

static int apply_output_format(cli_global *global, const cli_arg *arg)
{
    if (strcmp(arg->value, "text") == 0) {
        global->output = CLI_OUTPUT_TEXT;
    } else if (strcmp(arg->value, "json") == 0) {
        global->output = CLI_OUTPUT_JSON;
    } else {
        return cli_usage_error(
            NULL, "invalid value '%s' for --output: expected text or json", arg->value);
    }
    return CLI_EXIT_OK;
}

/* Options that only store a value. Returns 0 when `arg` is not one of them. */
static int store_global_value(cli_global *global, const cli_arg *arg)
{
    switch (arg->id) {
    case OPT_ENDPOINT: global->endpoint = arg->value; return 1;
    case OPT_REGION: global->region = arg->value; return 1;
    case OPT_PROJECT_ID: global->project_id = arg->value; return 1;
    case OPT_API_KEY: global->api_key = arg->value; return 1;
    case OPT_IAM_USER: global->iam_user = arg->value; return 1;
    case OPT_IAM_DOMAIN: global->iam_domain = arg->value; return 1;
    case OPT_NO_AUTH: global->no_auth = 1; return 1;
    case OPT_IAM_ENDPOINT: global->iam_endpoint = arg->value; return 1;
    case OPT_CA_FILE: global->ca_file = arg->value; return 1;
    case OPT_CA_PATH: global->ca_path = arg->value; return 1;
    case OPT_CLIENT_CERT: global->client_cert_file = arg->value; return 1;
    case OPT_CLIENT_KEY: global->client_key_file = arg->value; return 1;
    case OPT_PROXY: global->proxy_url = arg->value; return 1;
    case OPT_PROXY_USER: global->proxy_user = arg->value; return 1;
    case OPT_INSECURE: global->insecure_skip_tls_verify = 1; return 1;
    case OPT_VERBOSE: global->verbose = 1; return 1;
    }
    return 0;
}

/* Returns the settings of `service`, adding an empty entry on first use. */
static hwai_service_config *service_settings(cli_global *global, hwai_service service)
{
    for (size_t i = 0; i < global->service_count; i++) {
        if (global->services[i].service == service) {
            return &global->services[i];
        }
    }
    hwai_service_config *config = &global->services[global->service_count++];
    memset(config, 0, sizeof(*config));
    config->service = service;
    return config;
}

/* Applies --service-region SERVICE=REGION or --service-endpoint SERVICE=URL.
 * The value is not quoted in messages, because a URL may carry a password. */
static int apply_service_setting(cli_global *global, const cli_arg *arg, const char *value_name)
{
    const char *equals = strchr(arg->value, '=');

    if (equals == NULL || equals == arg->value || equals[1] == '\0') {
        return cli_usage_error(
            NULL, "invalid value for %s: expected SERVICE=%s", arg->name, value_name);
    }
    size_t name_len = (size_t)(equals - arg->value);
    hwai_service service = cli_service_from_name(arg->value, name_len);
    if (service == 0) {
        return cli_usage_error(
            NULL, "unknown service '%.*s' in %s: expected one of %s", (int)name_len, arg->value,
            arg->name, cli_service_name_list);
    }
    hwai_service_config *config = service_settings(global, service);
    if (arg->id == OPT_SERVICE_REGION) {
        config->region = equals + 1;
    } else {
        config->endpoint = equals + 1;
    }
    return CLI_EXIT_OK;
}

/* Applies --region-project REGION=ID. A region given twice keeps the last id. */
static int apply_region_project(cli_global *global, const cli_arg *arg)
{
    const char *equals = strchr(arg->value, '=');

    if (equals == NULL || equals == arg->value || equals[1] == '\0') {
        return cli_usage_error(
            NULL, "invalid value '%s' for --region-project: expected REGION=ID", arg->value);
    }
    size_t region_len = (size_t)(equals - arg->value);
    for (size_t i = 0; i < global->region_project_count; i++) {
        hwai_region_project *entry = &global->region_projects[i];
        if (strlen(entry->region) == region_len &&
            strncmp(entry->region, arg->value, region_len) == 0) {
            entry->project_id = equals + 1;
            return CLI_EXIT_OK;
        }
    }
    size_t count = global->region_project_count + 1;
    hwai_region_project *entries = realloc(global->region_projects, count * sizeof(*entries));
    if (entries == NULL) {
        return cli_fail("out of memory");
    }
    global->region_projects = entries;
    char *region = strndup(arg->value, region_len);
    if (region == NULL) {
        return cli_fail("out of memory");
    }
    entries[count - 1].region = region;
    entries[count - 1].project_id = equals + 1;
    global->region_project_count = count;
    return CLI_EXIT_OK;
}

static int apply_signing_algorithm(cli_global *global, const cli_arg *arg)
{
    global->signing_algorithm = cli_sign_algorithm_from_name(arg->value);
    if (global->signing_algorithm == 0) {
        return cli_usage_error(
            NULL, "invalid value '%s' for --signing-algorithm: expected %s", arg->value,
            cli_sign_algorithm_list);
    }
    return CLI_EXIT_OK;
}

static int apply_retries(cli_global *global, const cli_arg *arg)
{
    uint32_t retries = 0;
    int rc = cli_parse_uint32(NULL, arg, 0, MAX_RETRIES, &retries);

    if (rc == CLI_EXIT_OK) {
        global->retries = (int)retries;
    }
    return rc;
}

static int apply_global_option(cli_global *global, const cli_arg *arg)
{
    if (store_global_value(global, arg)) {
        return CLI_EXIT_OK;
    }
    switch (arg->id) {
    case OPT_OUTPUT: return apply_output_format(global, arg);
    case OPT_SERVICE_REGION: return apply_service_setting(global, arg, "REGION");
    case OPT_SERVICE_ENDPOINT: return apply_service_setting(global, arg, "URL");
    case OPT_REGION_PROJECT: return apply_region_project(global, arg);
    case OPT_SIGNING_ALGORITHM: return apply_signing_algorithm(global, arg);
    case OPT_RETRIES: return apply_retries(global, arg);
    case OPT_TIMEOUT_MS:
        return cli_parse_uint32(NULL, arg, 1, UINT32_MAX, &global->call_timeout_ms);
    case OPT_HTTP_TIMEOUT_MS:
        return cli_parse_uint32(NULL, arg, 1, UINT32_MAX, &global->http_timeout_ms);
    case OPT_CONNECT_TIMEOUT_MS:
        return cli_parse_uint32(NULL, arg, 1, UINT32_MAX, &global->connect_timeout_ms);
    case OPT_IDLE_TIMEOUT_MS:
        return cli_parse_uint32(NULL, arg, 1, UINT32_MAX, &global->idle_timeout_ms);
    }
    return cli_fail("unhandled option '%s'", arg->name);
}

/* Checks the options that only work together. */
static int check_global_options(const cli_global *global)
{
    if ((global->iam_user == NULL) != (global->iam_domain == NULL)) {
        return cli_usage_error(
            NULL, "--iam-user and --iam-domain go together: give both or neither");
    }
    if ((global->client_cert_file == NULL) != (global->client_key_file == NULL)) {
        return cli_usage_error(
            NULL, "--client-cert and --client-key go together: give both or neither");
    }
    if (global->proxy_user != NULL && global->proxy_url == NULL) {
        return cli_usage_error(NULL, "--proxy-user requires --proxy");
    }
    /* The URL is not quoted, because it may carry a password. */
    if (global->proxy_url != NULL && strstr(global->proxy_url, "://") == NULL) {
        return cli_usage_error(
            NULL, "invalid value for --proxy: expected a URL with scheme, such as "
                  "http://proxy.example:3128, and the user in --proxy-user");
    }
    return CLI_EXIT_OK;
}

static void load_environment(cli_global *global)
{
    if (global->project_id == NULL) {
        global->project_id = env_value("HUAWEICLOUD_SDK_PROJECT_ID");
    }
    if (global->api_key == NULL) {
        global->api_key = env_value("HWAI_API_KEY");
    }
}

int cli_parse_global_options(
    cli_global *global, int argc, char **argv, int *command_index, cli_global_action *action)
{
    cli_args args;
    cli_arg arg;
    cli_arg_kind kind;
    int rc;

    memset(global, 0, sizeof(*global));
    global->retries = -1;
    *action = CLI_GLOBAL_RUN;
    cli_args_init(
        &args, argc - 1, argv + 1, NULL, global_option_table,
        sizeof(global_option_table) / sizeof(global_option_table[0]));
    args.stop_at_positional = 1;
    while ((kind = cli_args_next(&args, &arg)) == CLI_ARG_OPTION) {
        if (arg.id == OPT_HELP) {
            *action = CLI_GLOBAL_HELP;
            return CLI_EXIT_OK;
        }
        if (arg.id == OPT_VERSION) {
            *action = CLI_GLOBAL_VERSION;
            return CLI_EXIT_OK;
        }
        rc = apply_global_option(global, &arg);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
    }
    if (kind == CLI_ARG_INVALID) {
        return CLI_EXIT_USAGE;
    }
    rc = check_global_options(global);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    load_environment(global);
    *command_index = args.next + 1;
    return CLI_EXIT_OK;
}

void cli_global_cleanup(cli_global *global)
{
    for (size_t i = 0; i < global->region_project_count; i++) {
        free((char *)global->region_projects[i].region);
    }
    free(global->region_projects);
    global->region_projects = NULL;
    global->region_project_count = 0;
}
