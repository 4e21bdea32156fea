/*
 * hwai sign: signs a request with AK/SK and prints it without sending it.
 * It opens no connection, so --region here only sets the V11 signing scope.
 * Comparing its canonical request with a gateway's helps to find the cause of
 * an APIG.0301 (signature mismatch) response.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COMMAND "sign"
#define SDK_DATE_HEADER "X-Sdk-Date"
#define PROJECT_ID_HEADER "X-Project-Id"

enum {
    OPT_HELP = 1,
    OPT_METHOD,
    OPT_URL,
    OPT_HEADER,
    OPT_DATA,
    OPT_DATA_FILE,
    OPT_DATE,
    OPT_PROJECT_ID,
    OPT_ALGORITHM,
    OPT_SERVICE,
    OPT_REGION,
    OPT_VERBOSE
};

static const cli_option sign_option_table[] = {
    { "--help", "-h", 0, OPT_HELP },
    { "--method", NULL, 1, OPT_METHOD },
    { "--url", NULL, 1, OPT_URL },
    { "-H", "--header", 1, OPT_HEADER },
    { "--data", NULL, 1, OPT_DATA },
    { "--data-file", NULL, 1, OPT_DATA_FILE },
    { "--date", NULL, 1, OPT_DATE },
    { "--project-id", NULL, 1, OPT_PROJECT_ID },
    { "--algorithm", NULL, 1, OPT_ALGORITHM },
    { "--service", NULL, 1, OPT_SERVICE },
    { "--region", NULL, 1, OPT_REGION },
    { "--verbose", NULL, 0, OPT_VERBOSE },
};

/* Headers to sign. Names and values of -H arguments point into `copies`, and
 * the others point to static strings or to argv. */
typedef struct header_list {
    hwai_http_header *items;
    char **copies;
    size_t count;
    size_t capacity;
} header_list;

typedef struct sign_options {
    const char *method;
    const char *url;
    const char *data;
    const char *data_file;
    const char *date;
    const char *project_id;
    /* 0 until --algorithm or the global --signing-algorithm sets it. */
    hwai_sign_algorithm algorithm;
    /* Service name and region of the V11-HMAC-SHA256 scope. */
    const char *service;
    const char *region;
    header_list headers;
    int verbose;
    int help;
} sign_options;

static void print_sign_help(void)
{
    fputs(
        "Usage: hwai sign --method M --url URL [OPTIONS]\n"
        "\n"
        "Signs a request with AK/SK and prints it without sending it: first the\n"
        "request line 'METHOD URI', then every header as 'Name: value',\n"
        "Authorization and X-Security-Token included. Nothing is sent over the\n"
        "network.\n"
        "\n"
        "AK/SK come from HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (with\n"
        "HUAWEICLOUD_SDK_SECURITY_TOKEN for temporary credentials), else from the\n"
        "profile file (HUAWEICLOUD_SDK_CREDENTIALS_FILE, else\n"
        "~/.huaweicloud/credentials).\n"
        "\n"
        "Options:\n"
        "  --method M            HTTP method\n"
        "  --url URL             absolute URL, path and query already percent-encoded\n"
        "  -H, --header 'N: V'   header to send and sign; may be repeated\n"
        "  --data TEXT           request body\n"
        "  --data-file PATH      read the request body from PATH ('-' for stdin)\n"
        "  --date DATE           X-Sdk-Date value, YYYYMMDDTHHMMSSZ (UTC), used as\n"
        "                        given; the current time when neither this nor\n"
        "                        -H 'X-Sdk-Date: ...' is given\n"
        "  --project-id ID       add the header X-Project-Id: ID\n"
        "  --algorithm A         SDK-HMAC-SHA256, V11-HMAC-SHA256 or SDK-HMAC-SM3\n"
        "                        (default: the global --signing-algorithm, else\n"
        "                        SDK-HMAC-SHA256); SM3 needs a build with SM3\n"
        "  --service NAME        service name of the V11-HMAC-SHA256 scope, such\n"
        "                        as nlp; required with V11-HMAC-SHA256 only\n"
        "  --region ID           region id of the V11-HMAC-SHA256 scope, such as\n"
        "                        cn-north-4; required with V11-HMAC-SHA256 only\n"
        "  --verbose             print the canonical request and the string to\n"
        "                        sign to standard error\n"
        "  -h, --help            show this help and exit\n"
        "\n"
        "The output contains the Authorization value and any security token.\n",
        stdout);
}

static void header_list_free(header_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->copies[i]);
    }
    free(list->items);
    free(list->copies);
    memset(list, 0, sizeof(*list));
}

static int header_list_reserve(header_list *list, size_t capacity)
{
    list->items = calloc(capacity, sizeof(*list->items));
    list->copies = calloc(capacity, sizeof(*list->copies));
    list->capacity = capacity;
    return list->items != NULL && list->copies != NULL ? 0 : -1;
}

static void header_list_add(header_list *list, const char *name, const char *value, char *copy)
{
    /* parse_sign_options() reserves one slot per argument plus two, one each
     * for --date and --project-id, so the list cannot overflow. */
    list->items[list->count].name = name;
    list->items[list->count].value = value;
    list->copies[list->count] = copy;
    list->count++;
}

static const hwai_http_header *header_list_find(const header_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++) {
        if (strcasecmp(list->items[i].name, name) == 0) {
            return &list->items[i];
        }
    }
    return NULL;
}

/* RFC 9110 token characters, the only ones allowed in a header name. */
static int is_token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits "Name: value" on the first ':' and trims the value. The value is
 * never quoted in messages, because it may be a token. */
static int parse_header_arg(header_list *list, const char *text)
{
    const char *colon = strchr(text, ':');
    size_t name_len = colon != NULL ? (size_t)(colon - text) : 0;

    if (colon == NULL || name_len == 0) {
        return cli_usage_error(COMMAND, "invalid header in -H argument: expected 'Name: value'");
    }
    for (size_t i = 0; i < name_len; i++) {
        if (!is_token_char(text[i])) {
            return cli_usage_error(
                COMMAND, "invalid header name '%.*s' in -H argument", (int)name_len, text);
        }
    }
    char *copy = strdup(text);
    if (copy == NULL) {
        return cli_fail("out of memory");
    }
    char *value = copy + name_len + 1;
    copy[name_len] = '\0';
    while (is_blank(*value)) {
        value++;
    }
    size_t value_len = strlen(value);
    while (value_len > 0 && is_blank(value[value_len - 1])) {
        value[--value_len] = '\0';
    }
    for (size_t i = 0; i < value_len; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            cli_usage_error(
                COMMAND, "invalid value of header '%s': control characters are not allowed", copy);
            free(copy);
            return CLI_EXIT_USAGE;
        }
    }
    header_list_add(list, copy, value, copy);
    return CLI_EXIT_OK;
}

static int apply_sign_option(sign_options *opts, const cli_arg *arg)
{
    switch (arg->id) {
    case OPT_HELP: opts->help = 1; return CLI_EXIT_OK;
    case OPT_METHOD: opts->method = arg->value; return CLI_EXIT_OK;
    case OPT_URL: opts->url = arg->value; return CLI_EXIT_OK;
    case OPT_HEADER: return parse_header_arg(&opts->headers, arg->value);
    case OPT_DATA: opts->data = arg->value; return CLI_EXIT_OK;
    case OPT_DATA_FILE: opts->data_file = arg->value; return CLI_EXIT_OK;
    case OPT_DATE: opts->date = arg->value; return CLI_EXIT_OK;
    case OPT_PROJECT_ID: opts->project_id = arg->value; return CLI_EXIT_OK;
    case OPT_ALGORITHM:
        opts->algorithm = cli_sign_algorithm_from_name(arg->value);
        if (opts->algorithm == 0) {
            return cli_usage_error(
                COMMAND, "invalid value '%s' for --algorithm: expected %s", arg->value,
                cli_sign_algorithm_list);
        }
        return CLI_EXIT_OK;
    case OPT_SERVICE: opts->service = arg->value; return CLI_EXIT_OK;
    case OPT_REGION: opts->region = arg->value; return CLI_EXIT_OK;
    case OPT_VERBOSE: opts->verbose = 1; return CLI_EXIT_OK;
    }
    return cli_fail("unhandled option '%s'", arg->name);
}

/* --service and --region make up the V11-HMAC-SHA256 scope, which the other
 * algorithms do not have. */
static int check_signing_scope(const sign_options *opts)
{
    int is_v11 = opts->algorithm == HWAI_SIGN_V11_HMAC_SHA256;

    if (is_v11 && (opts->service == NULL || opts->service[0] == '\0')) {
        return cli_usage_error(COMMAND, "V11-HMAC-SHA256 requires --service, such as nlp");
    }
    if (is_v11 && (opts->region == NULL || opts->region[0] == '\0')) {
        return cli_usage_error(COMMAND, "V11-HMAC-SHA256 requires --region, such as cn-north-4");
    }
    if (!is_v11 && (opts->service != NULL || opts->region != NULL)) {
        return cli_usage_error(
            COMMAND, "--service and --region apply only to --algorithm V11-HMAC-SHA256");
    }
    return CLI_EXIT_OK;
}

/* Checks the combination of options and appends the headers that --date and
 * --project-id add. */
static int finish_sign_options(sign_options *opts)
{
    if (opts->method == NULL || opts->method[0] == '\0') {
        return cli_usage_error(COMMAND, "missing required option --method");
    }
    if (opts->url == NULL || opts->url[0] == '\0') {
        return cli_usage_error(COMMAND, "missing required option --url");
    }
    if (opts->data != NULL && opts->data_file != NULL) {
        return cli_usage_error(COMMAND, "--data and --data-file cannot be used together");
    }
    int rc = check_signing_scope(opts);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (opts->date != NULL && header_list_find(&opts->headers, SDK_DATE_HEADER) != NULL) {
        return cli_usage_error(
            COMMAND, "--date and -H '" SDK_DATE_HEADER ": ...' cannot be used together");
    }
    if (opts->project_id != NULL && header_list_find(&opts->headers, PROJECT_ID_HEADER) != NULL) {
        return cli_usage_error(
            COMMAND, "--project-id and -H '" PROJECT_ID_HEADER ": ...' cannot be used together");
    }
    if (opts->date != NULL) {
        header_list_add(&opts->headers, SDK_DATE_HEADER, opts->date, NULL);
    }
    if (opts->project_id != NULL) {
        header_list_add(&opts->headers, PROJECT_ID_HEADER, opts->project_id, NULL);
    }
    return CLI_EXIT_OK;
}

static int
parse_sign_options(sign_options *opts, int argc, char **argv, hwai_sign_algorithm default_algorithm)
{
    cli_args args;
    cli_arg arg;
    cli_arg_kind kind;
    int rc;

    /* Every argument adds at most one header, and --date and --project-id
     * one each. */
    if (header_list_reserve(&opts->headers, (size_t)argc + 2) != 0) {
        return cli_fail("out of memory");
    }
    cli_args_init(
        &args, argc, argv, COMMAND, sign_option_table,
        sizeof(sign_option_table) / sizeof(sign_option_table[0]));
    while ((kind = cli_args_next(&args, &arg)) != CLI_ARG_END) {
        if (kind == CLI_ARG_INVALID) {
            return CLI_EXIT_USAGE;
        }
        if (kind == CLI_ARG_POSITIONAL) {
            return cli_usage_error(COMMAND, "unexpected argument '%s'", arg.value);
        }
        rc = apply_sign_option(opts, &arg);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
    }
    if (opts->algorithm == 0) {
        opts->algorithm = default_algorithm != 0 ? default_algorithm : HWAI_SIGN_SDK_HMAC_SHA256;
    }
    return opts->help ? CLI_EXIT_OK : finish_sign_options(opts);
}

/* Loads AK/SK credentials with the credential chain, because only AK/SK can
 * sign: an API key, an IAM user and --no-auth cannot. */
static int load_signing_credentials(hwai_credentials **out, const cli_global *global)
{
    if (global->iam_user != NULL || global->no_auth) {
        return cli_usage_error(
            COMMAND, "signing needs AK/SK: %s cannot sign requests",
            global->iam_user != NULL ? "--iam-user" : "--no-auth");
    }
    return cli_credentials_from_chain(
        out, COMMAND,
        global->api_key != NULL
            ? "An API key cannot sign requests: set HUAWEICLOUD_SDK_AK and "
              "HUAWEICLOUD_SDK_SK, or write a profile file"
            : "Set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK, or write a profile file");
}

static void print_signed_request(const hwai_signed_request *signed_request, int verbose)
{
    if (verbose) {
        fprintf(
            stderr, "Canonical request:\n%s\n\nString to sign:\n%s\n\nSigned headers: %s\n",
            signed_request->canonical_request, signed_request->string_to_sign,
            signed_request->signed_headers);
    }
    printf("%s %s\n", signed_request->method, signed_request->uri);
    for (size_t i = 0; i < signed_request->header_count; i++) {
        const hwai_http_header *header = &signed_request->headers[i];
        /* An empty value prints as "Name:" without a trailing space. */
        printf("%s:%s%s\n", header->name, header->value[0] != '\0' ? " " : "", header->value);
    }
}

static int
sign_and_print(const sign_options *opts, const hwai_credentials *credentials, const cli_bytes *body)
{
    hwai_sign_input input;
    hwai_signed_request *signed_request = NULL;
    hwai_error *err = NULL;
    int rc = CLI_EXIT_OK;

    hwai_status status = hwai_sign_input_init(&input, HWAI_SIGN_INPUT_VERSION);
    if (status == HWAI_OK) {
        input.method = opts->method;
        input.url = opts->url;
        input.headers = opts->headers.items;
        input.header_count = opts->headers.count;
        input.body = body->data;
        input.body_len = body->len;
        input.algorithm = opts->algorithm;
        input.service = opts->service;
        input.region = opts->region;
        status = hwai_sign(&signed_request, credentials, &input, &err);
    }
    if (status != HWAI_OK) {
        rc = cli_report_failure("signing failed", status, err);
    } else {
        print_signed_request(signed_request, opts->verbose);
        rc = cli_finish_output();
    }
    hwai_signed_request_free(signed_request);
    hwai_error_free(err);
    return rc;
}

/* Fills `body` from --data or --data-file, and leaves it empty without either. */
static int load_body(const sign_options *opts, cli_bytes *body)
{
    if (opts->data_file != NULL) {
        return cli_read_input(COMMAND, "the request body", opts->data_file, body);
    }
    if (opts->data != NULL) {
        body->data = strdup(opts->data);
        body->len = strlen(opts->data);
        if (body->data == NULL) {
            return cli_fail("out of memory");
        }
    }
    return CLI_EXIT_OK;
}

int cli_cmd_sign(const cli_global *global, int argc, char **argv)
{
    sign_options opts;
    cli_bytes body = { NULL, 0 };
    hwai_credentials *credentials = NULL;
    int rc;

    memset(&opts, 0, sizeof(opts));
    rc = parse_sign_options(&opts, argc, argv, global->signing_algorithm);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    if (opts.help) {
        print_sign_help();
        rc = cli_finish_output();
        goto done;
    }
    rc = load_body(&opts, &body);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    rc = load_signing_credentials(&credentials, global);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    rc = sign_and_print(&opts, credentials, &body);

done:
    hwai_credentials_free(credentials);
    cli_bytes_free(&body);
    header_list_free(&opts.headers);
    return rc;
}
