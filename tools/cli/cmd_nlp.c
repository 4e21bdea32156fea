/* hwai nlp: natural language processing calls. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#define SENTIMENT_COMMAND "nlp sentiment"

enum { OPT_HELP = 1, OPT_LANG };

static const cli_option sentiment_option_table[] = {
    { "--help", "-h", 0, OPT_HELP },
    { "--lang", NULL, 1, OPT_LANG },
};

typedef struct sentiment_options {
    const char *lang;
    /* The TEXT argument: the text itself, or "-" for stdin. */
    const char *text_arg;
    int help;
} sentiment_options;

static void print_nlp_help(void)
{
    fputs(
        "Usage: hwai [GLOBAL OPTIONS] nlp SUBCOMMAND [OPTIONS] ...\n"
        "\n"
        "Subcommands:\n"
        "  sentiment [--lang zh|en] TEXT   analyse the sentiment of TEXT\n"
        "\n"
        "Run 'hwai nlp SUBCOMMAND --help' for the options of a subcommand.\n",
        stdout);
}

static void print_sentiment_help(void)
{
    fputs(
        "Usage: hwai [GLOBAL OPTIONS] nlp sentiment [OPTIONS] TEXT\n"
        "\n"
        "Analyses the sentiment of TEXT and prints the label and the confidence:\n"
        "  label: 1 (positive)\n"
        "  confidence: 0.9731\n"
        "TEXT is one argument, or '-' to read it from standard input.\n"
        "With --output json, prints the service's JSON response on one line.\n"
        "Ctrl-C cancels the call and exits with status 130.\n"
        "\n"
        "Options:\n"
        "  --lang zh|en   language of TEXT; the service's default when left out\n"
        "  -h, --help     show this help and exit\n",
        stdout);
}

static int parse_sentiment_options(sentiment_options *opts, int argc, char **argv)
{
    cli_args args;
    cli_arg arg;
    cli_arg_kind kind;

    memset(opts, 0, sizeof(*opts));
    cli_args_init(
        &args, argc, argv, SENTIMENT_COMMAND, sentiment_option_table,
        sizeof(sentiment_option_table) / sizeof(sentiment_option_table[0]));
    while ((kind = cli_args_next(&args, &arg)) != CLI_ARG_END) {
        if (kind == CLI_ARG_INVALID) {
            return CLI_EXIT_USAGE;
        }
        if (kind == CLI_ARG_OPTION && arg.id == OPT_HELP) {
            opts->help = 1;
        } else if (kind == CLI_ARG_OPTION && arg.id == OPT_LANG) {
            opts->lang = arg.value;
        } else if (opts->text_arg != NULL) {
            return cli_usage_error(
                SENTIMENT_COMMAND, "unexpected argument '%s': quote TEXT as one argument",
                arg.value);
        } else {
            opts->text_arg = arg.value;
        }
    }
    if (opts->help) {
        return CLI_EXIT_OK;
    }
    if (opts->lang != NULL && strcmp(opts->lang, "zh") != 0 && strcmp(opts->lang, "en") != 0) {
        return cli_usage_error(
            SENTIMENT_COMMAND, "invalid value '%s' for --lang: expected zh or en", opts->lang);
    }
    if (opts->text_arg == NULL) {
        return cli_usage_error(SENTIMENT_COMMAND, "missing TEXT argument");
    }
    return CLI_EXIT_OK;
}

/* Points *text at the TEXT argument, or reads stdin into `stdin_text` for "-". */
static int load_text(const sentiment_options *opts, cli_bytes *stdin_text, const char **text)
{
    *text = opts->text_arg;
    if (strcmp(opts->text_arg, "-") == 0) {
        int rc = cli_read_input(SENTIMENT_COMMAND, "the text", "-", stdin_text);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
        /* The request takes a NUL-terminated string. */
        if (memchr(stdin_text->data, '\0', stdin_text->len) != NULL) {
            return cli_usage_error(SENTIMENT_COMMAND, "the text contains a NUL byte");
        }
        *text = stdin_text->data;
    }
    if ((*text)[0] == '\0') {
        return cli_usage_error(SENTIMENT_COMMAND, "the text is empty");
    }
    return CLI_EXIT_OK;
}

static int print_sentiment(const hwai_sentiment_result *result, cli_output_format format)
{
    if (format == CLI_OUTPUT_JSON) {
        cli_write_json_line(result->raw_json, result->raw_json_len);
    } else {
        printf("label: %d (%s)\n", result->label, hwai_sentiment_label_str(result->label));
        printf("confidence: %s\n", result->confidence_text);
    }
    return cli_finish_output();
}

static int run_sentiment(const cli_global *global, const char *text, const char *lang)
{
    hwai_sentiment_request request;
    hwai_sentiment_result *result = NULL;
    hwai_client *client = NULL;
    hwai_error *err = NULL;
    int rc;

    hwai_status status = hwai_sentiment_request_init(&request, HWAI_SENTIMENT_REQUEST_VERSION);
    if (status != HWAI_OK) {
        rc = cli_report_failure("sentiment analysis failed", status, NULL);
        goto done;
    }
    request.content = text;
    request.lang = lang;
    request.deadline_ms = global->call_timeout_ms;
    rc = cli_client_new(&client, global, SENTIMENT_COMMAND);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    request.cancel = cli_cancel_on_interrupt();
    status = hwai_nlp_sentiment(&result, client, &request, &err);
    int interrupted = cli_cancel_finish(request.cancel);
    if (status != HWAI_OK && interrupted) {
        rc = cli_report_interrupted("sentiment analysis");
        goto done;
    }
    if (status != HWAI_OK) {
        rc = cli_report_failure("sentiment analysis failed", status, err);
        goto done;
    }
    rc = print_sentiment(result, global->output);

done:
    hwai_sentiment_result_free(result);
    hwai_client_free(client);
    hwai_error_free(err);
    return rc;
}

static int cmd_sentiment(const cli_global *global, int argc, char **argv)
{
    sentiment_options opts;
    cli_bytes stdin_text = { NULL, 0 };
    const char *text = NULL;
    int rc;

    rc = parse_sentiment_options(&opts, argc, argv);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    if (opts.help) {
        print_sentiment_help();
        rc = cli_finish_output();
        goto done;
    }
    rc = load_text(&opts, &stdin_text, &text);
    if (rc != CLI_EXIT_OK) {
        goto done;
    }
    rc = run_sentiment(global, text, opts.lang);

done:
    cli_bytes_free(&stdin_text);
    return rc;
}

int cli_cmd_nlp(const cli_global *global, int argc, char **argv)
{
    if (argc < 1) {
        return cli_usage_error("nlp", "missing subcommand: expected 'sentiment'");
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        print_nlp_help();
        return cli_finish_output();
    }
    if (strcmp(argv[0], "sentiment") == 0) {
        return cmd_sentiment(global, argc - 1, argv + 1);
    }
    return cli_usage_error("nlp", "unknown subcommand '%s': expected 'sentiment'", argv[0]);
}
