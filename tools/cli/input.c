/* Reading message text and request bodies from files or stdin. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest message or body read: 64 MiB, the library's default response limit,
 * so `hwai chat - < /dev/zero` stops instead of exhausting memory. */
#define MAX_INPUT_BYTES (64u * 1024u * 1024u)

/* Reads the rest of `file` into `out` and returns 0, EFBIG past the limit, or
 * an errno value. */
static int read_stream(FILE *file, cli_bytes *out)
{
    size_t capacity = 4096;
    size_t len = 0;
    char *data = malloc(capacity);

    if (data == NULL) {
        return ENOMEM;
    }
    for (;;) {
        if (len > MAX_INPUT_BYTES) {
            free(data);
            return EFBIG;
        }
        /* Keep one byte free for the terminating NUL. */
        if (capacity - len < 2) {
            char *bigger = capacity <= SIZE_MAX / 2 ? realloc(data, capacity * 2) : NULL;
            if (bigger == NULL) {
                free(data);
                return ENOMEM;
            }
            data = bigger;
            capacity *= 2;
        }
        size_t count = fread(data + len, 1, capacity - len - 1, file);
        len += count;
        if (count == 0) {
            break;
        }
    }
    if (ferror(file)) {
        int error = errno != 0 ? errno : EIO;
        free(data);
        return error;
    }
    data[len] = '\0';
    out->data = data;
    out->len = len;
    return 0;
}

int cli_read_input(const char *command, const char *content, const char *path, cli_bytes *out)
{
    int from_stdin = strcmp(path, "-") == 0;
    FILE *file = from_stdin ? stdin : fopen(path, "rb");
    int error = 0;

    memset(out, 0, sizeof(*out));
    if (file == NULL) {
        error = errno;
        goto done;
    }
    errno = 0;
    error = read_stream(file, out);
    if (!from_stdin) {
        fclose(file);
    }

done:
    if (error == EFBIG) {
        return cli_usage_error(
            command, "%s is larger than %u MiB", content, MAX_INPUT_BYTES / (1024u * 1024u));
    }
    if (error == ENOMEM) {
        return cli_fail("cannot read %s: %s", content, strerror(error));
    }
    if (error != 0 && from_stdin) {
        return cli_usage_error(
            command, "cannot read %s from standard input: %s", content, strerror(error));
    }
    if (error != 0) {
        return cli_usage_error(
            command, "cannot read %s from '%s': %s", content, path, strerror(error));
    }
    return CLI_EXIT_OK;
}

void cli_bytes_free(cli_bytes *bytes)
{
    if (bytes != NULL) {
        free(bytes->data);
        bytes->data = NULL;
        bytes->len = 0;
    }
}
