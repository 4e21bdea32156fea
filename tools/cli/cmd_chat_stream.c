/* hwai chat --stream: prints a streamed reply piece by piece as it arrives. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>

/* What has been written to stdout for one streamed reply. */
typedef struct stream_printer {
    cli_output_format format;
    /* Bytes of reply text written in text format. */
    size_t text_len;
} stream_printer;

/* Prints one piece and flushes it, so that it reaches a pipe at once. Text
 * format prints the content of choice 0 only, as plain chat does. */
static int print_chunk(stream_printer *printer, const hwai_chat_chunk *chunk)
{
    if (printer->format == CLI_OUTPUT_JSON) {
        cli_write_json_line(chunk->raw_json, chunk->raw_json_len);
    } else if (chunk->index == 0) {
        cli_write(chunk->content, chunk->content_len);
        printer->text_len += chunk->content_len;
    }
    return cli_finish_output();
}

/* Prints pieces until the stream ends, fails or is cancelled, and returns the
 * stream's status. *write_rc receives the exit status of a failed write to
 * stdout, which stops the reading early. */
static hwai_status
print_stream(hwai_chat_stream *stream, stream_printer *printer, int *write_rc, hwai_error **err)
{
    const hwai_chat_chunk *chunk = NULL;
    hwai_status status;

    *write_rc = CLI_EXIT_OK;
    while ((status = hwai_chat_stream_next(stream, &chunk, err)) == HWAI_OK && chunk != NULL) {
        *write_rc = print_chunk(printer, chunk);
        if (*write_rc != CLI_EXIT_OK) {
            break;
        }
    }
    return status;
}

/* Prints the -v summary line: time to first text, chunk count, finish reason,
 * token usage and request id. */
static void print_summary(const hwai_chat_stream_summary *summary)
{
    char first_text[48] = "no text";
    char usage[128] = "usage not reported";

    if (summary->first_chunk_ms >= 0) {
        snprintf(
            first_text, sizeof(first_text), "first text after %" PRId64 " ms",
            summary->first_chunk_ms);
    }
    if (summary->usage.present) {
        snprintf(
            usage, sizeof(usage),
            "tokens %" PRId64 " prompt + %" PRId64 " completion = %" PRId64 " total",
            summary->usage.prompt_tokens, summary->usage.completion_tokens,
            summary->usage.total_tokens);
    }
    cli_note(
        "chat stream: %s, %" PRIu64 " chunks, finish reason %s, %s, request id %s", first_text,
        summary->chunk_count, summary->finish_reason != NULL ? summary->finish_reason : "none",
        usage, summary->request_id != NULL ? summary->request_id : "none");
}

/* Ends the output once the stream has stopped and returns the exit status. */
static int finish_output(
    const stream_printer *printer, hwai_status status, int interrupted, const hwai_error *err)
{
    int complete = status == HWAI_OK;

    /* After an early end the text so far stays, and the line break keeps the
     * shell prompt off its last line. */
    if (printer->format == CLI_OUTPUT_TEXT && (complete || printer->text_len > 0)) {
        cli_write("\n", 1);
    }
    int rc = cli_finish_output();
    if (interrupted || status == HWAI_E_CANCELLED) {
        if (!complete) {
            cli_fail("chat stream cancelled by Ctrl-C: the reply is incomplete");
        }
        return CLI_EXIT_INTERRUPTED;
    }
    if (!complete) {
        return cli_report_failure("chat stream failed", status, err);
    }
    return rc;
}

int cli_chat_stream(hwai_client *client, const hwai_chat_request *request, const cli_global *global)
{
    hwai_chat_stream *stream = NULL;
    hwai_error *err = NULL;
    stream_printer printer = { global->output, 0 };
    int write_rc;
    int rc;

    /* The caller's watch triggers request->cancel on Ctrl-C, which ends the
     * wait for the headers as well as the reading of the stream. */
    hwai_status status = hwai_chat_stream_open(&stream, client, request, &err);
    if (status != HWAI_OK) {
        if (hwai_cancel_token_is_cancelled(request->cancel)) {
            rc = cli_report_interrupted("chat stream");
        } else {
            rc = cli_report_failure("chat stream failed", status, err);
        }
        hwai_error_free(err);
        return rc;
    }
    status = print_stream(stream, &printer, &write_rc, &err);
    int interrupted = hwai_cancel_token_is_cancelled(request->cancel);
    if (global->verbose) {
        print_summary(hwai_chat_stream_summary_get(stream));
    }
    if (write_rc != CLI_EXIT_OK) {
        rc = write_rc;
    } else {
        rc = finish_output(&printer, status, interrupted, err);
    }
    hwai_chat_stream_free(stream);
    hwai_error_free(err);
    return rc;
}
