/**
 * @file chat.h
 * @brief Chat completions: Pangu large models and OpenAI-compatible gateways.
 *
 * One request type serves three paths:
 * - Pangu v1, when @ref hwai_chat_request.deployment_id is set:
 *   `POST /v1/{project_id}/deployments/{deployment_id}/chat/completions`;
 * - Pangu v2, when @ref hwai_chat_request.pool_id is set as well:
 *   `POST /v2/{project_id}/pools/{pool_id}/deployments/{deployment_id}/chat/completions`;
 * - OpenAI-compatible gateways (MaaS, on-premises inference servers), when only
 *   @ref hwai_chat_request.model is set: `POST {base}/chat/completions` when the
 *   base URL ends in `/v1`, else `{base}/v1/chat/completions`.
 */
#ifndef HWAI_CHAT_H
#define HWAI_CHAT_H

#include "hwai/client.h"
#include "hwai/common.h"
#include "hwai/error.h"

HWAI_BEGIN_DECL

/** One message of the conversation. */
typedef struct hwai_chat_message {
    /** "system", "user" or "assistant". */
    const char *role;
    /** UTF-8 text; may hold NUL bytes when @ref content_len is given. */
    const char *content;
    /** Length of @ref content in bytes; 0 means strlen(content). */
    size_t content_len;
} hwai_chat_message;

#define HWAI_CHAT_REQUEST_VERSION 1

/**
 * A chat request. Initialise with ::HWAI_CHAT_REQUEST_INIT or
 * hwai_chat_request_init(): optional numbers start at ::HWAI_UNSET (or 0 for
 * @ref max_tokens) and are then left out of the request body.
 */
typedef struct hwai_chat_request {
    /** Must be ::HWAI_CHAT_REQUEST_VERSION. */
    unsigned int version;
    /** Pangu deployment id; selects the Pangu path. */
    const char *deployment_id;
    /** Pangu resource pool id; with @ref deployment_id selects the v2 path. */
    const char *pool_id;
    /** Model name; required on OpenAI-compatible gateways, sent as `model` on
     * Pangu paths when given. */
    const char *model;
    /** The conversation, oldest first; at least one message. */
    const hwai_chat_message *messages;
    /** Number of entries in @ref messages. */
    size_t message_count;
    /** Sampling temperature, 0 to 2 (Pangu accepts 0 to 1). */
    double temperature;
    /** Nucleus sampling mass, in (0, 1]. */
    double top_p;
    /** Maximum number of tokens to generate, 1 or more; 0 leaves it unset. */
    int32_t max_tokens;
    /** Presence penalty, -2 to 2. */
    double presence_penalty;
    /** Frequency penalty, -2 to 2. */
    double frequency_penalty;
    /** End-user identifier sent as `user`, or NULL. */
    const char *user;
    /** Deadline of this call in milliseconds, every attempt and delay included;
     * 0 means the client's call_timeout_ms. For a stream it bounds opening only. */
    uint32_t deadline_ms;
    /** Cancellation token, or NULL; see retry.h. */
    hwai_cancel_token *cancel;
} hwai_chat_request;

#define HWAI_CHAT_REQUEST_INIT                                                           \
    {                                                                                    \
        HWAI_CHAT_REQUEST_VERSION, NULL, NULL, NULL, NULL, 0, HWAI_UNSET, HWAI_UNSET, 0, \
            HWAI_UNSET, HWAI_UNSET, NULL, 0, NULL                                        \
    }

/**
 * @brief Initialises @p req to an empty request of the given struct version.
 *
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p req is NULL or @p version is unknown
 */
HWAI_API HWAI_NODISCARD hwai_status
hwai_chat_request_init(hwai_chat_request *req, unsigned int version);

/** Token counts reported by the service. */
typedef struct hwai_chat_usage {
    /** Non-zero when the service reported usage. */
    int present;
    int64_t prompt_tokens;
    int64_t completion_tokens;
    int64_t total_tokens;
} hwai_chat_usage;

/** One generated reply. Strings are borrowed from the result. */
typedef struct hwai_chat_choice {
    uint32_t index;
    /** Role of the reply, normally "assistant"; never NULL. */
    const char *role;
    /** Reply text, NUL-terminated, but it may contain NUL bytes, so use @ref content_len. */
    const char *content;
    size_t content_len;
    /** Reasoning text of reasoning models, or NULL. */
    const char *reasoning_content;
    size_t reasoning_content_len;
    /** "stop", "length", "content_filter", ... or NULL when absent. */
    const char *finish_reason;
} hwai_chat_choice;

/** Result of a chat call; free with hwai_chat_result_free(). */
typedef struct hwai_chat_result {
    /** Completion id sent by the service, or NULL. */
    const char *id;
    /** Model name sent by the service, or NULL. */
    const char *model;
    /** Answers; at least one. */
    const hwai_chat_choice *choices;
    size_t choice_count;
    hwai_chat_usage usage;
    /** Value of the response's X-Request-Id header, or NULL. */
    const char *request_id;
    /** The service's JSON response as received, NUL-terminated. */
    const char *raw_json;
    size_t raw_json_len;
} hwai_chat_result;

/**
 * @brief Sends a chat request and waits for the whole answer.
 *
 * @param[out] out    receives the result; free with hwai_chat_result_free()
 * @param[in]  client the client; may be shared with other threads
 * @param[in]  req    the request; the caller keeps ownership
 * @param[out] err    optional detailed error
 * @retval HWAI_OK               success
 * @retval HWAI_E_INVALID_ARG    a NULL argument, no messages, no deployment id or
 *                               model, or a number out of range (the message names it)
 * @retval HWAI_E_CONFIG         the project id or endpoint is missing
 * @retval HWAI_E_SERVICE        the service responded with an HTTP error
 * @retval HWAI_E_BAD_RESPONSE   the response is not valid JSON or lacks `choices`
 * @retval HWAI_E_CONTENT_TYPE   the response is not JSON
 * @return any transport or authentication status from error.h otherwise
 */
HWAI_API HWAI_NODISCARD hwai_status hwai_chat(
    hwai_chat_result **out, hwai_client *client, const hwai_chat_request *req, hwai_error **err);

/**
 * @brief Frees a chat result. Accepts NULL.
 */
HWAI_API void hwai_chat_result_free(hwai_chat_result *result);

/**
 * @defgroup chat_stream Streamed chat
 *
 * A streamed chat delivers the answer piece by piece, as server-sent events,
 * so the first words can be shown while the model still writes:
 *
 * @code
 * hwai_chat_stream *stream = NULL;
 * if (hwai_chat_stream_open(&stream, client, &req, &err) == HWAI_OK) {
 *     const hwai_chat_chunk *chunk;
 *     while (hwai_chat_stream_next(stream, &chunk, &err) == HWAI_OK && chunk) {
 *         fwrite(chunk->content, 1, chunk->content_len, stdout);
 *     }
 *     const hwai_chat_stream_summary *summary = hwai_chat_stream_summary_get(stream);
 *     ... summary->content contains the whole text, even after an error ...
 *     hwai_chat_stream_free(stream);
 * }
 * @endcode
 *
 * Rules the stream follows:
 * - the request is the same as for hwai_chat(), sent with `"stream": true`, and
 *   on OpenAI-compatible paths with `"stream_options": {"include_usage": true}`;
 * - `data: [DONE]` ends the stream. A stream that closes after a chunk with a
 *   finish reason also ends normally, even without `[DONE]`;
 * - a stream that closes before either is ::HWAI_E_STREAM_TRUNCATED, also when
 *   the cut falls inside an event or a character; the text received so far
 *   stays in the summary;
 * - an event whose JSON holds an `error` object (OpenAI shape) or
 *   `error_code`/`error_msg` (Huawei shape), or an `event: error`, is
 *   ::HWAI_E_STREAM_ERROR carrying the service's code and message, even after
 *   HTTP 200 and even when `[DONE]` follows;
 * - an HTTP error before the stream starts is mapped as for hwai_chat();
 * - comments (keep-alives such as `: ping`) and events of other types are
 *   skipped;
 * - hwai_chat_stream_next() returns as soon as one complete event is in; it never
 *   waits for more bytes or for the end of the answer;
 * - a stream that receives no byte at all (keep-alive comments count) for the
 *   client's stream_idle_timeout_ms fails with ::HWAI_E_TIMEOUT; the whole response
 *   is also bounded by the client's timeout_ms;
 * - opening is retried by the client's retry policy; once a piece has reached
 *   the caller, nothing is retried.
 *
 * Threads: a stream belongs to one thread at a time, except
 * hwai_chat_stream_cancel(), which any thread may call until
 * hwai_chat_stream_free().
 * @{
 */

/** Opaque stream handle. */
typedef struct hwai_chat_stream hwai_chat_stream;

/** One piece of a streamed answer. Strings are borrowed from the stream and
 * stay valid until the next hwai_chat_stream_next() or hwai_chat_stream_free(). */
typedef struct hwai_chat_chunk {
    /** Index of the choice this piece belongs to. */
    uint32_t index;
    /** Role, sent with the first piece only; NULL otherwise. */
    const char *role;
    /** New text, possibly empty; may contain NUL bytes: use @ref content_len. */
    const char *content;
    size_t content_len;
    /** New reasoning text of reasoning models, or NULL. */
    const char *reasoning_content;
    size_t reasoning_content_len;
    /** Set on the last piece of a choice ("stop", "length", ...); NULL before. */
    const char *finish_reason;
    /** Usage, on the piece that carries it (often a final piece with no text). */
    hwai_chat_usage usage;
    /** The event's data as received (one JSON object). */
    const char *raw_json;
    size_t raw_json_len;
} hwai_chat_chunk;

/** Summary of what a stream has delivered so far; see hwai_chat_stream_summary_get(). */
typedef struct hwai_chat_stream_summary {
    /** All text of choice 0 received so far, NUL-terminated; may contain NUL bytes. */
    const char *content;
    size_t content_len;
    /** Finish reason of choice 0, or NULL when none arrived. */
    const char *finish_reason;
    /** Usage, when the service sent it. */
    hwai_chat_usage usage;
    /** Value of the response's X-Request-Id header, or NULL. */
    const char *request_id;
    /** HTTP status of the response, or 0 before headers arrived. */
    int http_status;
    /** Milliseconds from opening the stream to the first piece with text, or -1. */
    int64_t first_chunk_ms;
    /** Number of pieces delivered. */
    uint64_t chunk_count;
} hwai_chat_stream_summary;

/**
 * @brief Sends a streamed chat request and waits for the response headers.
 *
 * @param[out] out    receives the stream; free with hwai_chat_stream_free()
 * @param[in]  client the client; it must outlive the stream
 * @param[in]  req    the request, as for hwai_chat(); the caller keeps ownership
 * @param[out] err    optional detailed error
 * @retval HWAI_OK   the stream is open; read it with hwai_chat_stream_next()
 * @return the statuses of hwai_chat() otherwise; no stream is returned then
 */
HWAI_API HWAI_NODISCARD hwai_status hwai_chat_stream_open(
    hwai_chat_stream **out, hwai_client *client, const hwai_chat_request *req, hwai_error **err);

/**
 * @brief Returns the next piece of the answer, waiting for it when needed.
 *
 * @param[in]  stream the stream
 * @param[out] out    receives the piece, or NULL when the stream has ended normally
 * @param[out] err    optional detailed error
 * @retval HWAI_OK                        a piece in *out, or NULL at the end
 * @retval HWAI_E_STREAM_TRUNCATED        the answer ended early
 * @retval HWAI_E_STREAM_ERROR            the service reported an error in the stream
 * @retval HWAI_E_STREAM_EVENT_TOO_LARGE  one event exceeded the event size limit
 * @retval HWAI_E_BAD_RESPONSE            an event is not valid JSON
 * @retval HWAI_E_CANCELLED               hwai_chat_stream_cancel() was called
 * @return a transport status (for example ::HWAI_E_TIMEOUT) otherwise
 *
 * After an error or the end, further calls return the same result again.
 */
HWAI_API HWAI_NODISCARD hwai_status
hwai_chat_stream_next(hwai_chat_stream *stream, const hwai_chat_chunk **out, hwai_error **err);

/**
 * @brief Cancels the stream: a blocked or later hwai_chat_stream_next() returns
 * ::HWAI_E_CANCELLED promptly (within about 100 ms) and the transfer is closed.
 *
 * Safe from any thread, and more than once, until hwai_chat_stream_free().
 * Accepts NULL.
 */
HWAI_API void hwai_chat_stream_cancel(hwai_chat_stream *stream);

/**
 * @brief Returns what the stream has delivered so far, also after an error.
 *
 * The pointer is borrowed; it stays valid until hwai_chat_stream_free(), and its
 * contents change with each hwai_chat_stream_next(). Returns NULL for NULL.
 */
HWAI_API const hwai_chat_stream_summary *
hwai_chat_stream_summary_get(const hwai_chat_stream *stream);

/**
 * @brief Closes the transfer, if still open, and frees the stream. Accepts NULL.
 *
 * Closing before the end is safe. The caller must make sure no other thread
 * uses the stream, hwai_chat_stream_cancel() included, once this is called;
 * the library cannot detect such use.
 */
HWAI_API void hwai_chat_stream_free(hwai_chat_stream *stream);

/** @} */

HWAI_END_DECL

#endif /* HWAI_CHAT_H */
