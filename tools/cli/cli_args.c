/*
 * Command line parsing: options in GNU style ("--name value", "--name=value",
 * "-H value", "-Hvalue", "--" to end options) and strict number conversion.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_args_init(
    cli_args *args,
    int argc,
    char **argv,
    const char *command,
    const cli_option *options,
    size_t option_count)
{
    memset(args, 0, sizeof(*args));
    args->argc = argc;
    args->argv = argv;
    args->next = 0;
    args->command = command;
    args->options = options;
    args->option_count = option_count;
}

static int spelling_matches(const char *spelling, const char *text, size_t len)
{
    return spelling != NULL && strlen(spelling) == len && strncmp(spelling, text, len) == 0;
}

static const cli_option *find_option(const cli_args *args, const char *text, size_t len)
{
    for (size_t i = 0; i < args->option_count; i++) {
        const cli_option *option = &args->options[i];
        if (spelling_matches(option->name, text, len) ||
            spelling_matches(option->alias, text, len)) {
            return option;
        }
    }
    return NULL;
}

/* Takes the value from the next argument, even "-" or a text starting with '-',
 * so that "--temperature -1" reaches the number check. */
static cli_arg_kind take_next_value(cli_args *args, const cli_option *option, cli_arg *out)
{
    if (args->next >= args->argc) {
        cli_usage_error(args->command, "option '%s' requires a value", option->name);
        return CLI_ARG_INVALID;
    }
    out->value = args->argv[args->next++];
    return CLI_ARG_OPTION;
}

static cli_arg_kind parse_long_option(cli_args *args, const char *text, cli_arg *out)
{
    const char *equals = strchr(text, '=');
    size_t name_len = equals ? (size_t)(equals - text) : strlen(text);
    const cli_option *option = find_option(args, text, name_len);

    /* The text after '=' is left out of the message because it may be a secret. */
    if (option == NULL) {
        cli_usage_error(args->command, "unknown option '%.*s'", (int)name_len, text);
        return CLI_ARG_INVALID;
    }
    out->id = option->id;
    out->name = option->name;
    if (!option->takes_value) {
        if (equals) {
            cli_usage_error(args->command, "option '%s' does not take a value", option->name);
            return CLI_ARG_INVALID;
        }
        return CLI_ARG_OPTION;
    }
    if (equals) {
        out->value = equals + 1;
        return CLI_ARG_OPTION;
    }
    return take_next_value(args, option, out);
}

static cli_arg_kind parse_short_option(cli_args *args, const char *text, cli_arg *out)
{
    const cli_option *option = find_option(args, text, 2);

    if (option == NULL || (!option->takes_value && text[2] != '\0')) {
        cli_usage_error(args->command, "unknown option '%.2s'", text);
        return CLI_ARG_INVALID;
    }
    out->id = option->id;
    out->name = option->name;
    if (!option->takes_value) {
        return CLI_ARG_OPTION;
    }
    if (text[2] != '\0') {
        out->value = text + 2;
        return CLI_ARG_OPTION;
    }
    return take_next_value(args, option, out);
}

cli_arg_kind cli_args_next(cli_args *args, cli_arg *out)
{
    memset(out, 0, sizeof(*out));
    while (args->next < args->argc) {
        const char *text = args->argv[args->next];
        int is_option = !args->options_ended && text[0] == '-' && text[1] != '\0';

        if (!is_option) {
            out->value = text;
            if (!args->stop_at_positional) {
                args->next++;
            }
            return CLI_ARG_POSITIONAL;
        }
        args->next++;
        if (strcmp(text, "--") == 0) {
            args->options_ended = 1;
            continue;
        }
        if (text[1] == '-') {
            return parse_long_option(args, text, out);
        }
        return parse_short_option(args, text, out);
    }
    return CLI_ARG_END;
}

/* Rejects what strtoll and strtod would skip or accept silently: an empty text
 * and leading white space. */
static int starts_like_number(const char *text)
{
    return text[0] != '\0' && !isspace((unsigned char)text[0]);
}

static int
parse_integer(const char *command, const cli_arg *arg, long long min, long long max, long long *out)
{
    char *end = NULL;
    long long value = 0;

    errno = 0;
    if (starts_like_number(arg->value)) {
        value = strtoll(arg->value, &end, 10);
    }
    if (end == NULL || end == arg->value || *end != '\0' || errno == ERANGE || value < min ||
        value > max) {
        cli_usage_error(
            command, "invalid value '%s' for %s: expected an integer from %lld to %lld", arg->value,
            arg->name, min, max);
        return CLI_EXIT_USAGE;
    }
    *out = value;
    return CLI_EXIT_OK;
}

int cli_parse_int32(const char *command, const cli_arg *arg, int32_t min, int32_t max, int32_t *out)
{
    long long value = 0;
    int rc = parse_integer(command, arg, min, max, &value);

    if (rc == CLI_EXIT_OK) {
        *out = (int32_t)value;
    }
    return rc;
}

int cli_parse_uint32(
    const char *command, const cli_arg *arg, uint32_t min, uint32_t max, uint32_t *out)
{
    long long value = 0;
    int rc = parse_integer(command, arg, min, max, &value);

    if (rc == CLI_EXIT_OK) {
        *out = (uint32_t)value;
    }
    return rc;
}

static void describe_range(char *buf, size_t size, double min, int min_inclusive, double max)
{
    if (isinf(max)) {
        snprintf(buf, size, "a number %s %g", min_inclusive ? "of at least" : "greater than", min);
    } else if (min_inclusive) {
        snprintf(buf, size, "a number from %g to %g", min, max);
    } else {
        snprintf(buf, size, "a number greater than %g and at most %g", min, max);
    }
}

int cli_parse_double(
    const char *command, const cli_arg *arg, double min, int min_inclusive, double max, double *out)
{
    char *end = NULL;
    double value = 0.0;

    errno = 0;
    if (starts_like_number(arg->value)) {
        value = strtod(arg->value, &end);
    }
    int parsed = end != NULL && end != arg->value && *end == '\0' && errno != ERANGE;
    int in_range = value <= max && (value > min || (min_inclusive && value == min));
    if (!parsed || !isfinite(value) || !in_range) {
        char expected[96];
        describe_range(expected, sizeof(expected), min, min_inclusive, max);
        return cli_usage_error(
            command, "invalid value '%s' for %s: expected %s", arg->value, arg->name, expected);
    }
    *out = value;
    return CLI_EXIT_OK;
}
