/*
 * hwai: command line client of the Huawei Cloud AI services, built on libhwai.
 *
 *     hwai [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]
 *
 * Global options come before the command, and each command parses the rest.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_HELP = 1,
    OPT_VERSION,
    OPT_VERBOSE,
    OPT_ENDPOINT,
    OPT_REGION,
    OPT_PROJECT_ID,
    OPT_API_KEY,
    OPT_OUTPUT,
    OPT_TIMEOUT_MS,
    OPT_CONNECT_TIMEOUT_MS,
    OPT_INSECURE,
    OPT_CA_FILE
};

static const cli_option global_option_table[] = {
    {"--help", "-h", 0, OPT_HELP},
    {"--version", NULL, 0, OPT_VERSION},
    {"-v", "--verbose", 0, OPT_VERBOSE},
    {"--endpoint", NULL, 1, OPT_ENDPOINT},
    {"--region", NULL, 1, OPT_REGION},
    {"--project-id", NULL, 1, OPT_PROJECT_ID},
    {"--api-key", NULL, 1, OPT_API_KEY},
    {"--output", NULL, 1, OPT_OUTPUT},
    {"--timeout-ms", NULL, 1, OPT_TIMEOUT_MS},
    {"--connect-timeout-ms", NULL, 1, OPT_CONNECT_TIMEOUT_MS},
    {"--insecure", NULL, 0, OPT_INSECURE},
    {"--ca-file", NULL, 1, OPT_CA_FILE},
};

typedef struct cli_command {
    const char *name;
    int (*run)(const cli_global *global, int argc, char **argv);
} cli_command;

static const cli_command command_table[] = {
    {"chat", cli_cmd_chat},
    {"nlp", cli_cmd_nlp},
    {"sign", cli_cmd_sign},
};

static void print_help(void)
{
    fputs(
        "Usage: hwai [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]\n"
        "\n"
        "Command line client of the Huawei Cloud AI services.\n"
        "\n"
        "Commands:\n"
        "  chat      send a chat message and print the reply\n"
        "  nlp       natural language processing: 'nlp sentiment'\n"
        "  sign      sign a request with AK/SK and print it, without sending it\n"
        "\n"
        "Global options:\n"
        "  --endpoint URL            one base URL for every service, with scheme\n"
        "  --region ID               region id, such as cn-north-4, for the service\n"
        "                            endpoints when --endpoint is not given\n"
        "  --project-id ID           project id (default: HUAWEICLOUD_SDK_PROJECT_ID)\n"
        "  --api-key KEY             API key, sent as a Bearer token; wins over AK/SK\n"
        "                            (default: HWAI_API_KEY)\n"
        "  --output text|json        print text (default) or the service's JSON\n"
        "                            response on one line (with chat --stream,\n"
        "                            one line per chunk)\n"
        "  --timeout-ms N            total timeout of one HTTP exchange, milliseconds\n"
        "  --connect-timeout-ms N    connect timeout, milliseconds\n"
        "  --ca-file PATH            PEM file of CA certificates to trust\n"
        "  --insecure                skip TLS certificate and host name verification\n"
        "                            (tests against self-signed servers only)\n"
        "  -v, --verbose             log requests to standard error, secrets masked\n"
        "  -h, --help                show this help and exit\n"
        "  --version                 show the version and exit\n"
        "\n"
        "Environment:\n"
        "  HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK   AK/SK used to sign requests\n"
        "  HUAWEICLOUD_SDK_SECURITY_TOKEN           security token of temporary AK/SK\n"
        "  HUAWEICLOUD_SDK_PROJECT_ID               project id\n"
        "  HWAI_API_KEY                             API key\n"
        "\n"
        "Exit status: 0 on success, 2 for invalid usage or local input, 130 when\n"
        "Ctrl-C cancels 'chat --stream', 1 for any other failure.\n"
        "Run 'hwai COMMAND --help' for the options of a command.\n",
        stdout);
}

static void print_version(void)
{
    printf("hwai %s (libhwai %s)\n", HWAI_VERSION_STRING, hwai_version());
}

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
    case OPT_ENDPOINT:
        global->endpoint = arg->value;
        return 1;
    case OPT_REGION:
        global->region = arg->value;
        return 1;
    case OPT_PROJECT_ID:
        global->project_id = arg->value;
        return 1;
    case OPT_API_KEY:
        global->api_key = arg->value;
        return 1;
    case OPT_CA_FILE:
        global->ca_file = arg->value;
        return 1;
    case OPT_INSECURE:
        global->insecure_skip_tls_verify = 1;
        return 1;
    case OPT_VERBOSE:
        global->verbose = 1;
        return 1;
    }
    return 0;
}

static int apply_global_option(cli_global *global, const cli_arg *arg)
{
    if (store_global_value(global, arg)) {
        return CLI_EXIT_OK;
    }
    switch (arg->id) {
    case OPT_OUTPUT:
        return apply_output_format(global, arg);
    case OPT_TIMEOUT_MS:
        return cli_parse_uint32(NULL, arg, 1, UINT32_MAX, &global->timeout_ms);
    case OPT_CONNECT_TIMEOUT_MS:
        return cli_parse_uint32(NULL, arg, 1, UINT32_MAX, &global->connect_timeout_ms);
    }
    return cli_fail("unhandled option '%s'", arg->name);
}

/* Parses the global options. On success *command_index is the index of the
 * command in argv, or argc when there is none. --help and --version are
 * handled here and stop the program with *done set. */
static int parse_global_options(
    cli_global *global, int argc, char **argv, int *command_index, int *done)
{
    cli_args args;
    cli_arg arg;
    cli_arg_kind kind;
    int rc;

    cli_args_init(
        &args,
        argc - 1,
        argv + 1,
        NULL,
        global_option_table,
        sizeof(global_option_table) / sizeof(global_option_table[0]));
    args.stop_at_positional = 1;
    while ((kind = cli_args_next(&args, &arg)) == CLI_ARG_OPTION) {
        if (arg.id == OPT_HELP || arg.id == OPT_VERSION) {
            if (arg.id == OPT_HELP) {
                print_help();
            } else {
                print_version();
            }
            *done = 1;
            return cli_finish_output();
        }
        rc = apply_global_option(global, &arg);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
    }
    if (kind == CLI_ARG_INVALID) {
        return CLI_EXIT_USAGE;
    }
    *command_index = args.next + 1;
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

int main(int argc, char **argv)
{
    cli_global global;
    int command_index = argc;
    int done = 0;

    memset(&global, 0, sizeof(global));
    int rc = parse_global_options(&global, argc, argv, &command_index, &done);
    if (rc != CLI_EXIT_OK || done) {
        return rc;
    }
    if (command_index >= argc) {
        return cli_usage_error(NULL, "missing command: expected chat, nlp or sign");
    }
    load_environment(&global);

    const char *name = argv[command_index];
    for (size_t i = 0; i < sizeof(command_table) / sizeof(command_table[0]); i++) {
        if (strcmp(name, command_table[i].name) == 0) {
            return command_table[i].run(
                &global, argc - command_index - 1, argv + command_index + 1);
        }
    }
    return cli_usage_error(NULL, "unknown command '%s': expected chat, nlp or sign", name);
}
