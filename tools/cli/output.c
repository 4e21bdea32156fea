/*
 * Writing results to stdout and failures to stderr.
 *
 * Every failure is reported as exactly one line on stderr, so control
 * characters in messages (which may quote the service) are replaced by spaces.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_one_line(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        fputc(*p < 0x20 || *p == 0x7f ? ' ' : *p, stderr);
    }
}

static void print_formatted_line(const char *fmt, va_list ap) CLI_PRINTF(1, 0);

static void print_formatted_line(const char *fmt, va_list ap)
{
    va_list measure;
    va_copy(measure, ap);
    int len = vsnprintf(NULL, 0, fmt, measure);
    va_end(measure);

    char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (text == NULL) {
        print_one_line(fmt);
        return;
    }
    vsnprintf(text, (size_t)len + 1, fmt, ap);
    print_one_line(text);
    free(text);
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;

    fputs("hwai: ", stderr);
    va_start(ap, fmt);
    print_formatted_line(fmt, ap);
    va_end(ap);
    if (command != NULL) {
        fprintf(stderr, "\nTry 'hwai %s --help'.\n", command);
    } else {
        fputs("\nTry 'hwai --help'.\n", stderr);
    }
    return CLI_EXIT_USAGE;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("hwai: ", stderr);
    va_start(ap, fmt);
    print_formatted_line(fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAILURE;
}

void cli_note(const char *fmt, ...)
{
    va_list ap;

    fputs("hwai: ", stderr);
    va_start(ap, fmt);
    print_formatted_line(fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Statuses caused by what the user typed or configured locally, which the
 * command reports with the usage exit status. */
static int exit_status_for(hwai_status status)
{
    switch (status) {
    case HWAI_E_INVALID_ARG:
    case HWAI_E_CONFIG:
    case HWAI_E_INSECURE_URL:
    case HWAI_E_SIGN: return CLI_EXIT_USAGE;
    default: return CLI_EXIT_FAILURE;
    }
}

/* Prints " (HTTP 401, APIG.0301, request id ..., after 3 attempts)" with only
 * the known parts. The attempt count appears only when the call was retried. */
static void print_error_details(const hwai_error *err)
{
    const char *separator = " (";
    int http_status = hwai_error_http_status(err);
    const char *code = hwai_error_code(err);
    const char *request_id = hwai_error_request_id(err);
    unsigned int attempts = hwai_error_attempts(err);
    char status_text[16];

    snprintf(status_text, sizeof(status_text), "%d", http_status);
    if (http_status > 0) {
        fprintf(stderr, "%sHTTP %d", separator, http_status);
        separator = ", ";
    }
    /* Without a service code the library stores the HTTP status as the code,
     * which would only repeat the number. */
    if (code != NULL && code[0] != '\0' && strcmp(code, status_text) != 0) {
        fputs(separator, stderr);
        print_one_line(code);
        separator = ", ";
    }
    if (request_id != NULL && request_id[0] != '\0') {
        fprintf(stderr, "%srequest id ", separator);
        print_one_line(request_id);
        separator = ", ";
    }
    if (attempts > 1) {
        fprintf(stderr, "%safter %u attempts", separator, attempts);
        separator = ", ";
    }
    if (strcmp(separator, ", ") == 0) {
        fputc(')', stderr);
    }
}

int cli_report_failure(const char *failure, hwai_status status, const hwai_error *err)
{
    const char *message = err != NULL ? hwai_error_message(err) : "";

    if (message[0] == '\0') {
        message = hwai_status_str(status);
    }
    fprintf(stderr, "hwai: %s: ", failure);
    print_one_line(message);
    if (err != NULL) {
        print_error_details(err);
    }
    fputc('\n', stderr);
    return exit_status_for(status);
}

int cli_report_interrupted(const char *operation)
{
    cli_fail("%s cancelled by Ctrl-C", operation);
    return CLI_EXIT_INTERRUPTED;
}

void cli_write(const void *data, size_t len)
{
    if (len > 0) {
        fwrite(data, 1, len, stdout);
    }
}

void cli_write_json_line(const char *json, size_t len)
{
    /* Valid JSON contains no raw line break inside a string, so every CR or LF is
     * white space between tokens and can go. */
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (json[i] == '\n' || json[i] == '\r') {
            cli_write(json + start, i - start);
            start = i + 1;
        }
    }
    cli_write(json + start, len - start);
    fputc('\n', stdout);
}

int cli_finish_output(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return cli_fail("writing to standard output failed: %s", strerror(errno));
    }
    return CLI_EXIT_OK;
}

void cli_write_json_string(const char *text)
{
    if (text == NULL) {
        fputs("null", stdout);
        return;
    }
    fputc('"', stdout);
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', stdout);
            fputc(*p, stdout);
        } else if (*p < 0x20) {
            fprintf(stdout, "\\u%04x", *p);
        } else {
            fputc(*p, stdout);
        }
    }
    fputc('"', stdout);
}
