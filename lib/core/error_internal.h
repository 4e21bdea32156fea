/* Building hwai_error values inside the library. */
#ifndef HWAI_CORE_ERROR_INTERNAL_H
#define HWAI_CORE_ERROR_INTERNAL_H

#include "hwai/error.h"

struct hwai_error {
    hwai_status status;
    int http_status;
    unsigned int attempts;
    char *message;
    char *code;
    char *request_id;
};

/* Stores a new error in *err when err is non-NULL (replacing and freeing any
 * error already there) and returns status, so callers can write
 * `return hwai__error_set(err, HWAI_E_INVALID_ARG, "...")`. The message must
 * never contain a secret. */
hwai_status hwai__error_set(hwai_error **err, hwai_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like hwai__error_set, with the HTTP status, service code and request id of an
 * response; code and request_id may be NULL. */
hwai_status hwai__error_set_http(
    hwai_error **err,
    hwai_status status,
    int http_status,
    const char *code,
    const char *request_id,
    const char *fmt,
    ...) __attribute__((format(printf, 6, 7)));

/* Prefixes the message of *err with "context: ", keeping every other field. */
void hwai__error_prefix(hwai_error **err, const char *context);

void hwai__error_set_attempts(hwai_error **err, unsigned int attempts);

/* Copies text received from a server so it is safe for a message or a log
 * line: control characters become spaces, invalid UTF-8 bytes '?', and it is
 * cut at max_bytes on a character boundary. NULL for NULL. */
char *hwai__clean_text(const char *text, size_t max_bytes);

/* Masks each of the secrets (entries may be NULL) wherever the message or code
 * of err repeats it, as a service may echo a rejected key back. */
void hwai__error_redact(hwai_error *err, const char *const *secrets, size_t count);

/* Records the HTTP status and request id of the response an error came from. */
void hwai__error_set_response(hwai_error **err, int http_status, const char *request_id);

#endif
