/* hwai chat: one chat completion on the Pangu or an OpenAI-compatible path,
 * received whole or, with --stream, piece by piece. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define COMMAND "chat"

enum {
    OPT_HELP = 1,
    OPT_DEPLOYMENT,
    OPT_POOL,
    OPT_MODEL,
    OPT_SYSTEM,
    OPT_MAX_TOKENS,
    OPT_TEMPERATURE,
    OPT_TOP_P,
    OPT_STREAM
};

static const cli_option chat_option_table[] = {
    { "--help", "-h", 0, OPT_HELP },
    { "--deployment", NULL, 1, OPT_DEPLOYMENT },
    { "--pool", NULL, 1, OPT_POOL },
    { "--model", NULL, 1, OPT_MODEL },
    { "--system", NULL, 1, OPT_SYSTEM },
    { "--max-tokens", NULL, 1, OPT_MAX_TOKENS },
    { "--temperature", NULL, 1, OPT_TEMPERATURE },
    { "--top-p", NULL, 1, OPT_TOP_P },
    { "--stream", NULL, 0, OPT_STREAM },
};

/* How the response is received: whole, or as a stream of pieces (--stream). */
typedef enum chat_mode { CHAT_MODE_COMPLETE = 0, CHAT_MODE_STREAM = 1 } chat_mode;

typedef struct chat_options {
    chat_mode mode;
    const char *deployment_id;
    const char *pool_id;
    const char *model;
    const char *system_text;
    /* The MESSAGE argument: the text itself, or "-" for stdin. */
    const char *message_arg;
    int32_t max_tokens;
    double temperature;
    double top_p;
    int help;
} chat_options;

static void print_chat_help(void)
{
    fputs(
        "Usage: hwai [GLOBAL OPTIONS] chat [OPTIONS] MESSAGE\n"
        "\n"
        "Sends MESSAGE as the user's message and prints the reply text.\n"
        "MESSAGE is one argument, or '-' to read it from standard input.\n"
        "With --output json, prints the service's JSON response on one line.\n"
        "Ctrl-C cancels the call and exits with status 130.\n"
        "\n"
        "With --stream, prints the reply piece by piece as it arrives, and with\n"
        "--output json one line per chunk, each the JSON of one stream event.\n"
        "When the stream fails or is cut off, the output so far stays on standard\n"
        "output and the error goes to standard error. Ctrl-C cancels the stream,\n"
        "also while it waits for the response headers, and exits with status 130.\n"
        "With -v, a summary line goes to standard error: time to first text,\n"
        "chunk count, finish reason, token usage and request id.\n"
        "\n"
        "Options:\n"
        "  --deployment ID    Pangu deployment id; selects the Pangu path\n"
        "  --pool ID          Pangu resource pool id (v2 path); needs --deployment\n"
        "  --model NAME       model name; without --deployment selects the\n"
        "                     OpenAI-compatible path, with it is sent as 'model'\n"
        "  --system TEXT      system message sent before MESSAGE\n"
        "  --max-tokens N     maximum number of tokens to generate, 1 or more\n"
        "  --temperature X    sampling temperature, 0 or more\n"
        "  --top-p X          nucleus sampling mass, greater than 0 and at most 1\n"
        "  --stream           print the reply piece by piece as it arrives\n"
        "  -h, --help         show this help and exit\n"
        "\n"
        "One of --deployment and --model is required.\n",
        stdout);
}

static int apply_chat_option(chat_options *opts, const cli_arg *arg)
{
    switch (arg->id) {
    case OPT_HELP: opts->help = 1; return CLI_EXIT_OK;
    case OPT_DEPLOYMENT: opts->deployment_id = arg->value; return CLI_EXIT_OK;
    case OPT_POOL: opts->pool_id = arg->value; return CLI_EXIT_OK;
    case OPT_MODEL: opts->model = arg->value; return CLI_EXIT_OK;
    case OPT_SYSTEM: opts->system_text = arg->value; return CLI_EXIT_OK;
    case OPT_MAX_TOKENS: return cli_parse_int32(COMMAND, arg, 1, INT32_MAX, &opts->max_tokens);
    case OPT_TEMPERATURE:
        return cli_parse_double(COMMAND, arg, 0.0, 1, INFINITY, &opts->temperature);
    case OPT_TOP_P: return cli_parse_double(COMMAND, arg, 0.0, 0, 1.0, &opts->top_p);
    case OPT_STREAM: opts->mode = CHAT_MODE_STREAM; return CLI_EXIT_OK;
    }
    return cli_fail("unhandled option '%s'", arg->name);
}

static int check_chat_options(const chat_options *opts)
{
    if (opts->message_arg == NULL) {
        return cli_usage_error(COMMAND, "missing MESSAGE argument");
    }
    if (opts->deployment_id == NULL && opts->model == NULL) {
        return cli_usage_error(COMMAND, "either --deployment (Pangu) or --model is required");
    }
    if (opts->pool_id != NULL && opts->deployment_id == NULL) {
        return cli_usage_error(COMMAND, "--pool requires --deployment");
    }
    return CLI_EXIT_OK;
}

static int parse_chat_options(chat_options *opts, int argc, char **argv)
{
    cli_args args;
    cli_arg arg;
    cli_arg_kind kind;
    int rc;

    memset(opts, 0, sizeof(*opts));
    opts->mode = CHAT_MODE_COMPLETE;
    opts->temperature = HWAI_UNSET;
    opts->top_p = HWAI_UNSET;
    cli_args_init(
        &args, argc, argv, COMMAND, chat_option_table,
        sizeof(chat_option_table) / sizeof(chat_option_table[0]));
    while ((kind = cli_args_next(&args, &arg)) != CLI_ARG_END) {
        if (kind == CLI_ARG_INVALID) {
            return CLI_EXIT_USAGE;
        }
        if (kind == CLI_ARG_OPTION) {
            rc = apply_chat_option(opts, &arg);
            if (rc != CLI_EXIT_OK) {
                return rc;
            }
        } else if (opts->message_arg != NULL) {
            return cli_usage_error(
                COMMAND, "unexpected argument '%s': quote MESSAGE as one argument", arg.value);
        } else {
            opts->message_arg = arg.value;
        }
    }
    return opts->help ? CLI_EXIT_OK : check_chat_options(opts);
}

/* Fills `message` from the MESSAGE argument, reading stdin into `stdin_text`
 * for "-". */
static int
load_user_message(const chat_options *opts, cli_bytes *stdin_text, hwai_chat_message *message)
{
    message->role = "user";
    if (strcmp(opts->message_arg, "-") == 0) {
        int rc = cli_read_input(COMMAND, "the message", "-", stdin_text);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
        message->content = stdin_text->data;
        message->content_len = stdin_text->len;
    } else {
        message->content = opts->message_arg;
        message->content_len = strlen(opts->message_arg);
    }
    if (message->content_len == 0) {
        return cli_usage_error(COMMAND, "the message is empty");
    }
    return CLI_EXIT_OK;
}

static int print_completion(const hwai_chat_result *result, cli_output_format format)
{
    if (format == CLI_OUTPUT_JSON) {
        cli_write_json_line(result->raw_json, result->raw_json_len);
        return cli_finish_output();
    }
    if (result->choice_count == 0) {
        return cli_fail("chat failed: the response contains no choices");
    }
    const hwai_chat_choice *choice = &result->choices[0];
    cli_write(choice->content, choice->content_len);
    cli_write("\n", 1);
    return cli_finish_output();
}

static int
run_chat_complete(hwai_client *client, const hwai_chat_request *request, cli_output_format format)
{
    hwai_chat_result *result = NULL;
    hwai_error *err = NULL;
    int rc;

    hwai_status status = hwai_chat(&result, client, request, &err);
    if (status != HWAI_OK && hwai_cancel_token_is_cancelled(request->cancel)) {
        rc = cli_report_interrupted("chat");
    } else if (status != HWAI_OK) {
        rc = cli_report_failure("chat failed", status, err);
    } else {
        rc = print_completion(result, format);
    }
    hwai_chat_result_free(result);
    hwai_error_free(err);
    return rc;
}

static int run_chat_mode(
    hwai_client *client,
    const hwai_chat_request *request,
    const chat_options *opts,
    const cli_global *global)
{
    switch (opts->mode) {
    case CHAT_MODE_COMPLETE: return run_chat_complete(client, request, global->output);
    case CHAT_MODE_STREAM: return cli_chat_stream(client, request, global);
    }
    return cli_fail("chat failed: unknown chat mode");
}

/* Runs the call with a cancellation token that Ctrl-C triggers. */
static int run_chat(
    hwai_client *client,
    hwai_chat_request *request,
    const chat_options *opts,
    const cli_global *global)
{
    request->cancel = cli_cancel_on_interrupt();
    int rc = run_chat_mode(client, request, opts, global);
    cli_cancel_finish(request->cancel);
    request->cancel = NULL;
    return rc;
}

/* Builds the request, which borrows every string from `opts` and `messages`. */
static int build_chat_request(
    hwai_chat_request *request,
    const chat_options *opts,
    const hwai_chat_message *messages,
    size_t message_count,
    uint32_t deadline_ms)
{
    hwai_status status = hwai_chat_request_init(request, HWAI_CHAT_REQUEST_VERSION);

    if (status != HWAI_OK) {
        return cli_report_failure("chat failed", status, NULL);
    }
    request->deployment_id = opts->deployment_id;
    request->pool_id = opts->pool_id;
    request->model = opts->model;
    request->messages = messages;
    request->message_count = message_count;
    request->max_tokens = opts->max_tokens;
    request->temperature = opts->temperature;
    request->top_p = opts->top_p;
    request->deadline_ms = deadline_ms;
    return CLI_EXIT_OK;
}

int cli_cmd_chat(const cli_global *global, int argc, char **argv)
{
    chat_options opts;
    cli_bytes stdin_text = { NULL, 0 };
    hwai_chat_message messages[2];
    size_t message_count = 0;
    hwai_chat_request request;
    hwai_client *client = NULL;
    int rc;

    rc = parse_chat_options(&opts, argc, argv);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    if (opts.help) {
        print_chat_help();
        rc = cli_finish_output();
        goto done;
    }
    if (opts.system_text != NULL) {
        messages[message_count++] = (hwai_chat_message){ "system", opts.system_text, 0 };
    }
    rc = load_user_message(&opts, &stdin_text, &messages[message_count]);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    message_count++;
    rc = build_chat_request(&request, &opts, messages, message_count, global->call_timeout_ms);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    rc = cli_client_new(&client, global, COMMAND);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    rc = run_chat(client, &request, &opts, global);

done:
    hwai_client_free(client);
    cli_bytes_free(&stdin_text);
    return rc;
}
