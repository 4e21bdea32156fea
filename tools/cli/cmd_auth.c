/* hwai auth: what the configured credentials resolve to. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define WHOAMI_COMMAND "auth whoami"

enum { OPT_HELP = 1, OPT_SERVICE };

static const cli_option whoami_option_table[] = {
    { "--help", "-h", 0, OPT_HELP },
    { "--service", NULL, 1, OPT_SERVICE },
};

typedef struct whoami_options {
    hwai_service service;
    int help;
} whoami_options;

static void print_auth_help(void)
{
    fputs(
        "Usage: hwai [GLOBAL OPTIONS] auth SUBCOMMAND [OPTIONS]\n"
        "\n"
        "Subcommands:\n"
        "  whoami [--service NAME]   show the credentials, region and project id\n"
        "                            that calls to a service would use\n"
        "\n"
        "Run 'hwai auth SUBCOMMAND --help' for the options of a subcommand.\n",
        stdout);
}

static void print_whoami_help(void)
{
    fputs(
        "Usage: hwai [GLOBAL OPTIONS] auth whoami [OPTIONS]\n"
        "\n"
        "Resolves the credentials from the global options and the environment the\n"
        "way a call would, looking up the project id and fetching an IAM token\n"
        "when needed, and prints what calls to the service would use:\n"
        "  source: environment\n"
        "  kind: aksk\n"
        "  access key: HWAIEMULATORAK000001\n"
        "  region: cn-north-4\n"
        "  project id: 0123456789abcdef0123456789abcdef\n"
        "  signing: SDK-HMAC-SHA256\n"
        "Kind is aksk, api-key, iam-password or none. Values that do not apply\n"
        "print as 'none'. IAM tokens add 'token expires: YYYY-MM-DDTHH:MM:SSZ'\n"
        "(UTC). With --output json, prints the same fields as one JSON object,\n"
        "with null for values that do not apply. The SK, the password and the\n"
        "token are never printed.\n"
        "\n"
        "Options:\n"
        "  --service NAME   nlp (default), pangu, maas, image, ocr, moderation,\n"
        "                   modelarts or iam\n"
        "  -h, --help       show this help and exit\n",
        stdout);
}

static int parse_whoami_options(whoami_options *opts, int argc, char **argv)
{
    cli_args args;
    cli_arg arg;
    cli_arg_kind kind;

    memset(opts, 0, sizeof(*opts));
    opts->service = HWAI_SERVICE_NLP;
    cli_args_init(
        &args, argc, argv, WHOAMI_COMMAND, whoami_option_table,
        sizeof(whoami_option_table) / sizeof(whoami_option_table[0]));
    while ((kind = cli_args_next(&args, &arg)) != CLI_ARG_END) {
        if (kind == CLI_ARG_INVALID) {
            return CLI_EXIT_USAGE;
        }
        if (kind == CLI_ARG_POSITIONAL) {
            return cli_usage_error(WHOAMI_COMMAND, "unexpected argument '%s'", arg.value);
        }
        if (arg.id == OPT_HELP) {
            opts->help = 1;
            continue;
        }
        opts->service = cli_service_from_name(arg.value, strlen(arg.value));
        if (opts->service == 0) {
            return cli_usage_error(
                WHOAMI_COMMAND, "unknown service '%s' for --service: expected one of %s", arg.value,
                cli_service_name_list);
        }
    }
    return CLI_EXIT_OK;
}

/* Formats seconds since 1970 as "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
static void format_utc_time(int64_t seconds, char *buf, size_t size)
{
    time_t value = (time_t)seconds;
    struct tm utc;

    if (gmtime_r(&value, &utc) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) {
        snprintf(buf, size, "%" PRId64, seconds);
    }
}

static const char *text_or_none(const char *value)
{
    return value != NULL && value[0] != '\0' ? value : "none";
}

static void print_text_line(const char *label, const char *value)
{
    printf("%s: %s\n", label, text_or_none(value));
}

static void print_json_field(const char *name, const char *value, int first)
{
    printf("%s\"%s\":", first ? "" : ",", name);
    cli_write_json_string(value != NULL && value[0] != '\0' ? value : NULL);
}

static int print_auth_info(const hwai_auth_info *info, cli_output_format format)
{
    const char *signing = cli_sign_algorithm_name(info->signing_algorithm);
    char expires[32] = "";

    if (info->token_expires_at != 0) {
        format_utc_time(info->token_expires_at, expires, sizeof(expires));
    }
    if (format == CLI_OUTPUT_JSON) {
        fputc('{', stdout);
        print_json_field("source", info->source, 1);
        print_json_field("kind", cli_credentials_kind_name(info->kind), 0);
        print_json_field("access_key", info->access_key_id, 0);
        print_json_field("region", info->region, 0);
        print_json_field("project_id", info->project_id, 0);
        print_json_field("signing", signing, 0);
        print_json_field("token_expires", expires, 0);
        fputs("}\n", stdout);
        return cli_finish_output();
    }
    print_text_line("source", info->source);
    print_text_line("kind", cli_credentials_kind_name(info->kind));
    print_text_line("access key", info->access_key_id);
    print_text_line("region", info->region);
    print_text_line("project id", info->project_id);
    print_text_line("signing", signing);
    if (expires[0] != '\0') {
        print_text_line("token expires", expires);
    }
    return cli_finish_output();
}

static int run_whoami(const cli_global *global, hwai_service service)
{
    hwai_client *client = NULL;
    hwai_auth_info *info = NULL;
    hwai_error *err = NULL;

    int rc = cli_client_new(&client, global, WHOAMI_COMMAND);
    if (rc == CLI_EXIT_OK) {
        hwai_status status = hwai_client_auth_info(&info, client, service, &err);
        if (status != HWAI_OK) {
            rc = cli_report_failure("resolving the credentials failed", status, err);
        } else {
            rc = print_auth_info(info, global->output);
        }
    }
    hwai_auth_info_free(info);
    hwai_client_free(client);
    hwai_error_free(err);
    return rc;
}

static int cmd_whoami(const cli_global *global, int argc, char **argv)
{
    whoami_options opts;

    int rc = parse_whoami_options(&opts, argc, argv);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (opts.help) {
        print_whoami_help();
        return cli_finish_output();
    }
    return run_whoami(global, opts.service);
}

int cli_cmd_auth(const cli_global *global, int argc, char **argv)
{
    if (argc < 1) {
        return cli_usage_error("auth", "missing subcommand: expected 'whoami'");
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        print_auth_help();
        return cli_finish_output();
    }
    if (strcmp(argv[0], "whoami") == 0) {
        return cmd_whoami(global, argc - 1, argv + 1);
    }
    return cli_usage_error("auth", "unknown subcommand '%s': expected 'whoami'", argv[0]);
}
