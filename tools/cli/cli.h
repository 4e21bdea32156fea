/*
 * Declarations shared by the source files of the hwai command line tool.
 * The tool uses the public API of libhwai only.
 */
#ifndef HWAI_CLI_H
#define HWAI_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <hwai/hwai.h>

/* Exit statuses. The numbers are part of the command's interface. */
enum {
    CLI_EXIT_OK = 0,
    /* A request failed, the service rejected it, or output could not be written. */
    CLI_EXIT_FAILURE = 1,
    /* Invalid usage or local input: bad option, missing argument, unreadable file. */
    CLI_EXIT_USAGE = 2,
    /* Stopped by Ctrl-C (SIGINT), by the shell convention of 128 + signal number. */
    CLI_EXIT_INTERRUPTED = 130
};

typedef enum cli_output_format { CLI_OUTPUT_TEXT = 0, CLI_OUTPUT_JSON = 1 } cli_output_format;

/* Number of services in hwai_service, whose values run from 1 to this. */
#define CLI_SERVICE_COUNT 8

/* Settings from the global options and the environment, shared by every command. */
typedef struct cli_global {
    const char *endpoint;
    const char *region;
    /* From --project-id, else HUAWEICLOUD_SDK_PROJECT_ID, else NULL. */
    const char *project_id;
    /* From --api-key, else HWAI_API_KEY, else NULL. */
    const char *api_key;
    /* IAM user name and account (domain) name of --iam-user and --iam-domain;
     * both or neither are set. */
    const char *iam_user;
    const char *iam_domain;
    /* --no-auth: send requests without authorization. */
    int no_auth;
    const char *iam_endpoint;
    /* 0 leaves the library default, SDK-HMAC-SHA256. */
    hwai_sign_algorithm signing_algorithm;
    /* --service-region and --service-endpoint: at most one entry per service. */
    hwai_service_config services[CLI_SERVICE_COUNT];
    size_t service_count;
    /* --region-project. The region strings are copies owned by this struct,
     * and the project ids point into argv. */
    hwai_region_project *region_projects;
    size_t region_project_count;
    const char *ca_file;
    const char *ca_path;
    const char *client_cert_file;
    const char *client_key_file;
    const char *proxy_url;
    const char *proxy_user;
    /* Retries after the first attempt, from --retries; -1 leaves the library
     * default. */
    int retries;
    /* Timeouts in milliseconds; 0 leaves the library default. */
    uint32_t call_timeout_ms;
    uint32_t http_timeout_ms;
    uint32_t connect_timeout_ms;
    uint32_t idle_timeout_ms;
    int insecure_skip_tls_verify;
    int verbose;
    cli_output_format output;
} cli_global;

/* Argument parsing (cli_args.c) */

/* One option a command accepts. `name` and `alias` are spelled as typed
 * ("--header", "-H"), and single-dash names are one letter. */
typedef struct cli_option {
    const char *name;
    const char *alias;
    int takes_value;
    int id;
} cli_option;

typedef enum cli_arg_kind {
    CLI_ARG_END = 0,
    CLI_ARG_OPTION = 1,
    CLI_ARG_POSITIONAL = 2,
    /* A usage error, whose message has been printed. */
    CLI_ARG_INVALID = 3
} cli_arg_kind;

/* Iterator over the arguments of one command. */
typedef struct cli_args {
    int argc;
    char **argv;
    int next;
    /* Set after "--", which makes every later argument positional. */
    int options_ended;
    /* Non-zero stops at the first positional argument without consuming it. */
    int stop_at_positional;
    /* Command name for the help hint of usage errors, or NULL for the global options. */
    const char *command;
    const cli_option *options;
    size_t option_count;
} cli_args;

/* One parsed argument. `name` is the option's primary spelling. */
typedef struct cli_arg {
    int id;
    const char *name;
    const char *value;
} cli_arg;

void cli_args_init(
    cli_args *args,
    int argc,
    char **argv,
    const char *command,
    const cli_option *options,
    size_t option_count);
cli_arg_kind cli_args_next(cli_args *args, cli_arg *out);

/* Parse numbers strictly. The whole text must be a number within [min, max].
 * They return CLI_EXIT_OK, or CLI_EXIT_USAGE after printing an error that
 * names the option and the value. */
int cli_parse_int32(
    const char *command, const cli_arg *arg, int32_t min, int32_t max, int32_t *out);
int cli_parse_uint32(
    const char *command, const cli_arg *arg, uint32_t min, uint32_t max, uint32_t *out);
int cli_parse_double(
    const char *command,
    const cli_arg *arg,
    double min,
    int min_inclusive,
    double max,
    double *out);

/* Output and error reports (output.c) */

#if defined(__GNUC__)
#define CLI_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define CLI_PRINTF(fmt_index, first_arg)
#endif

/* Prints "hwai: <message>" and a help hint to stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Prints "hwai: <failure>: <message> (HTTP <status>, <code>, request id <id>,
 * after <n> attempts)" as one line to stderr, leaving out the unknown parts and
 * the attempt count of a call that was not retried, and returns the exit status.
 * `failure` names the operation, such as "chat failed". */
int cli_report_failure(const char *failure, hwai_status status, const hwai_error *err);

/* Prints "hwai: <operation> cancelled by Ctrl-C" and returns
 * CLI_EXIT_INTERRUPTED. */
int cli_report_interrupted(const char *operation);

/* Prints "hwai: <message>" for a failure that has no hwai_error and returns
 * CLI_EXIT_FAILURE. */
int cli_fail(const char *fmt, ...) CLI_PRINTF(1, 2);

/* Prints "hwai: <message>" as one line to stderr, for information that is not
 * a failure, such as the summary that -v adds. */
void cli_note(const char *fmt, ...) CLI_PRINTF(1, 2);

/* Writes bytes to stdout, NUL bytes included. */
void cli_write(const void *data, size_t len);
/* Writes `text` as a quoted JSON string, or null for NULL. */
void cli_write_json_string(const char *text);
/* Writes a JSON text on one line, dropping the line breaks between its tokens. */
void cli_write_json_line(const char *json, size_t len);
/* Flushes stdout and returns CLI_EXIT_OK, or the exit status after reporting a
 * write error. */
int cli_finish_output(void);

/* Input (input.c) */

/* Bytes read from a file or stdin, NUL-terminated for convenience. */
typedef struct cli_bytes {
    char *data;
    size_t len;
} cli_bytes;

/* Reads a whole file, or stdin when `path` is "-". Returns CLI_EXIT_OK, or an
 * exit status after printing an error that names `content`, such as "the message". */
int cli_read_input(const char *command, const char *content, const char *path, cli_bytes *out);
void cli_bytes_free(cli_bytes *bytes);

/* Global options (global_options.c) */

typedef enum cli_global_action {
    CLI_GLOBAL_RUN = 0,
    CLI_GLOBAL_HELP = 1,
    CLI_GLOBAL_VERSION = 2
} cli_global_action;

/* Parses the global options into `global` and applies the environment
 * defaults. On success *command_index is the index of the command in argv,
 * or argc when there is none, and *action records whether --help or --version
 * came first. Returns an exit status. Call cli_global_cleanup() afterwards,
 * also after a failure. */
int cli_parse_global_options(
    cli_global *global, int argc, char **argv, int *command_index, cli_global_action *action);
void cli_global_cleanup(cli_global *global);

/* Names (names.c) */

/* "nlp, pangu, ...": every service name, for messages. */
extern const char *const cli_service_name_list;
/* Returns the service called `name` (`len` bytes, not NUL-terminated), or 0. */
hwai_service cli_service_from_name(const char *name, size_t len);
const char *cli_service_name(hwai_service service);
/* "SDK-HMAC-SHA256, V11-HMAC-SHA256 or SDK-HMAC-SM3", for messages. */
extern const char *const cli_sign_algorithm_list;
/* Returns the algorithm called `name`, or 0. */
hwai_sign_algorithm cli_sign_algorithm_from_name(const char *name);
/* Returns the algorithm's name, or NULL for 0 and unknown values. */
const char *cli_sign_algorithm_name(hwai_sign_algorithm algorithm);
/* Returns "aksk", "api-key", "iam-password", "none" or "unknown". */
const char *cli_credentials_kind_name(hwai_credentials_kind kind);

/* Credentials and client (client.c, password.c) */

/* Finds AK/SK credentials with the library's credential chain (environment,
 * then profile file). When none are found, prints the places searched
 * followed by `advice` as a usage error. Returns an exit status. */
int cli_credentials_from_chain(hwai_credentials **out, const char *command, const char *advice);

/* Makes a client from the global settings, with credentials in this order:
 * API key, IAM user, --no-auth, credential chain. Returns an exit status. */
int cli_client_new(hwai_client **out, const cli_global *global, const char *command);

/* Gets the password of IAM user `user` from HWAI_IAM_PASSWORD, else from a
 * prompt on the terminal without echo. Returns an exit status; on success
 * *out is a copy to release with cli_secret_free(). */
int cli_read_iam_password(const char *command, const char *user, char **out);
/* Overwrites a NUL-terminated secret with zeros and frees it. Accepts NULL. */
void cli_secret_free(char *secret);

/* Ctrl-C handling (interrupt.c) */

/* Makes the first SIGINT run cancel(arg) on a watcher thread instead of ending
 * the process, and a second SIGINT end it as usual. Only one watch may be
 * active. Returns 0, or -1 when SIGINT is ignored (as in background jobs of
 * some shells) or the watch could not be set up. SIGINT then keeps its
 * previous action. */
int cli_interrupt_start(void (*cancel)(void *arg), void *arg);
/* Restores the previous SIGINT action and waits for the watcher thread, so
 * cancel is not running and will not run once this returns. Returns 1 when a
 * SIGINT arrived during the watch, else 0. */
int cli_interrupt_stop(void);

/* Makes a cancellation token that the first Ctrl-C triggers, by way of the
 * watch above. Returns NULL when no token could be made. */
hwai_cancel_token *cli_cancel_on_interrupt(void);
/* Ends the watch of cli_cancel_on_interrupt() and frees the token, which no
 * call or stream may still use. Returns 1 when Ctrl-C was pressed. */
int cli_cancel_finish(hwai_cancel_token *token);

/* Streamed chat (cmd_chat_stream.c) */

/* Sends the request as a stream and prints each piece as it arrives, in the
 * global output format. Returns an exit status: 130 when Ctrl-C cancelled the
 * request's token. */
int cli_chat_stream(
    hwai_client *client, const hwai_chat_request *request, const cli_global *global);

/* Commands. Like every function above that returns an exit status, they
 * print their own error message before returning a non-zero one. */

int cli_cmd_auth(const cli_global *global, int argc, char **argv);
int cli_cmd_chat(const cli_global *global, int argc, char **argv);
int cli_cmd_nlp(const cli_global *global, int argc, char **argv);
int cli_cmd_sign(const cli_global *global, int argc, char **argv);

#endif /* HWAI_CLI_H */
