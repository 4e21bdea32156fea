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

typedef struct cli_command {
    const char *name;
    int (*run)(const cli_global *global, int argc, char **argv);
} cli_command;

static const cli_command command_table[] = {
    { "auth", cli_cmd_auth },
    { "chat", cli_cmd_chat },
    { "nlp", cli_cmd_nlp },
    { "sign", cli_cmd_sign },
};

#define COMMAND_NAMES "auth, chat, nlp or sign"

/* The help is printed in parts because C99 compilers need to support only
 * 4095 characters in one string literal. */
static void print_help(void)
{
    fputs(
        "Usage: hwai [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]\n"
        "\n"
        "Command line client of the Huawei Cloud AI services.\n"
        "\n"
        "Commands:\n"
        "  auth      show the credentials a call would use: 'auth whoami'\n"
        "  chat      send a chat message and print the reply\n"
        "  nlp       natural language processing: 'nlp sentiment'\n"
        "  sign      sign a request with AK/SK and print it, without sending it\n"
        "\n"
        "Endpoints and regions:\n"
        "  --endpoint URL            one base URL for every service, with scheme\n"
        "  --region ID               region id, such as cn-north-4, for the service\n"
        "                            endpoints when --endpoint is not given\n"
        "  --project-id ID           project id (default: HUAWEICLOUD_SDK_PROJECT_ID,\n"
        "                            else the credentials' project id, else with\n"
        "                            AK/SK looked up through IAM for the region)\n"
        "  --service-region S=ID     region of service S; may be repeated\n"
        "  --service-endpoint S=URL  base URL of service S; may be repeated\n"
        "  --region-project ID=PID   project id PID for region ID; may be repeated\n"
        "  --iam-endpoint URL        IAM endpoint for tokens and project lookup\n"
        "                            (default: HUAWEICLOUD_SDK_IAM_ENDPOINT, else\n"
        "                            https://iam.REGION.myhuaweicloud.com)\n"
        "  Services S: nlp, pangu, maas, image, ocr, moderation, modelarts, iam.\n"
        "\n",
        stdout);
    fputs(
        "Credentials, the first that applies wins:\n"
        "  --api-key KEY             API key, sent as a Bearer token\n"
        "                            (default: HWAI_API_KEY)\n"
        "  --iam-user NAME           IAM user name for an IAM token; needs\n"
        "                            --iam-domain. The password comes from\n"
        "                            HWAI_IAM_PASSWORD, else from a prompt on the\n"
        "                            terminal\n"
        "  --iam-domain NAME         account (domain) name of the IAM user\n"
        "  --no-auth                 send requests without authorization\n"
        "  Without these, AK/SK come from HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK,\n"
        "  else from the profile file (HUAWEICLOUD_SDK_CREDENTIALS_FILE, else\n"
        "  ~/.huaweicloud/credentials).\n"
        "  --signing-algorithm A     AK/SK signing: SDK-HMAC-SHA256 (default),\n"
        "                            V11-HMAC-SHA256 or SDK-HMAC-SM3\n"
        "\n",
        stdout);
    fputs(
        "Retries and timeouts:\n"
        "  --retries N               retries after the first attempt, 0 to 9;\n"
        "                            0 turns retries off (library default: 2)\n"
        "  --timeout-ms N            deadline of one call in milliseconds, every\n"
        "                            attempt and delay between them included\n"
        "                            (library default: 300000); for chat --stream\n"
        "                            it bounds the wait for the response headers\n"
        "  --http-timeout-ms N       timeout of one HTTP exchange, milliseconds\n"
        "                            (library default: 120000)\n"
        "  --connect-timeout-ms N    connect timeout, milliseconds (library\n"
        "                            default: 10000)\n"
        "  --idle-timeout-ms N       idle timeout of chat --stream, milliseconds:\n"
        "                            it fails when no data arrives for that long\n"
        "                            (library default: 60000)\n"
        "\n",
        stdout);
    fputs(
        "TLS and network:\n"
        "  --ca-file PATH            PEM file of CA certificates to trust\n"
        "  --ca-path DIR             directory of hashed CA certificates to trust\n"
        "  --client-cert PATH        PEM client certificate for mutual TLS; needs\n"
        "                            --client-key\n"
        "  --client-key PATH         PEM private key of --client-cert\n"
        "  --proxy URL               HTTP proxy, such as http://proxy.example:3128;\n"
        "                            proxy variables in the environment are ignored\n"
        "  --proxy-user USER         proxy user name; the password comes from\n"
        "                            HWAI_PROXY_PASSWORD\n"
        "  --insecure                skip TLS certificate and host name verification\n"
        "                            (tests against self-signed servers only)\n"
        "\n"
        "Output:\n"
        "  --output text|json        print text (default) or the service's JSON\n"
        "                            response on one line (with chat --stream,\n"
        "                            one line per chunk)\n"
        "  -v, --verbose             log requests and retries to standard error,\n"
        "                            secrets masked\n"
        "  -h, --help                show this help and exit\n"
        "  --version                 show the version and exit\n"
        "\n",
        stdout);
    fputs(
        "Environment:\n"
        "  HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK   AK/SK used to sign requests\n"
        "  HUAWEICLOUD_SDK_SECURITY_TOKEN           security token of temporary AK/SK\n"
        "  HUAWEICLOUD_SDK_PROJECT_ID               project id\n"
        "  HUAWEICLOUD_SDK_CREDENTIALS_FILE         profile file of AK/SK\n"
        "  HWAI_API_KEY                             API key\n"
        "  HWAI_IAM_PASSWORD                        password of --iam-user\n"
        "  HWAI_PROXY_PASSWORD                      password of --proxy-user\n"
        "\n"
        "Exit status: 0 on success, 2 for invalid usage, local input or missing\n"
        "credentials, 130 when Ctrl-C cancels a call, 1 for any other failure.\n"
        "Run 'hwai COMMAND --help' for the options of a command.\n",
        stdout);
}

static void print_version(void)
{
    printf("hwai %s (libhwai %s)\n", HWAI_VERSION_STRING, hwai_version());
}

static int run_command(const cli_global *global, int argc, char **argv, int command_index)
{
    if (command_index >= argc) {
        return cli_usage_error(NULL, "missing command: expected " COMMAND_NAMES);
    }
    const char *name = argv[command_index];
    for (size_t i = 0; i < sizeof(command_table) / sizeof(command_table[0]); i++) {
        if (strcmp(name, command_table[i].name) == 0) {
            return command_table[i].run(global, argc - command_index - 1, argv + command_index + 1);
        }
    }
    return cli_usage_error(NULL, "unknown command '%s': expected " COMMAND_NAMES, name);
}

int main(int argc, char **argv)
{
    cli_global global;
    cli_global_action action = CLI_GLOBAL_RUN;
    int command_index = argc;

    int rc = cli_parse_global_options(&global, argc, argv, &command_index, &action);
    if (rc == CLI_EXIT_OK && action == CLI_GLOBAL_HELP) {
        print_help();
        rc = cli_finish_output();
    } else if (rc == CLI_EXIT_OK && action == CLI_GLOBAL_VERSION) {
        print_version();
        rc = cli_finish_output();
    } else if (rc == CLI_EXIT_OK) {
        rc = run_command(&global, argc, argv, command_index);
    }
    cli_global_cleanup(&global);
    return rc;
}
