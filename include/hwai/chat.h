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
    /** Sampling temperature, 0 or more (Pangu accepts 0 to 1). */
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
} hwai_chat_request;

#define HWAI_CHAT_REQUEST_INIT \
    {HWAI_CHAT_REQUEST_VERSION, NULL, NULL, NULL, NULL, 0, HWAI_UNSET, HWAI_UNSET, 0, \
     HWAI_UNSET, HWAI_UNSET, NULL}

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

/** One generated answer. Strings are borrowed from the result. */
typedef struct hwai_chat_choice {
    uint32_t index;
    /** Role of the answer, normally "assistant"; never NULL. */
    const char *role;
    /** Answer text, NUL-terminated, but may contain NUL bytes: use @ref content_len. */
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
    /** Value of the answer's X-Request-Id header, or NULL. */
    const char *request_id;
    /** The service's JSON answer as received, NUL-terminated. */
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
 * @retval HWAI_E_SERVICE        the service answered with an HTTP error
 * @retval HWAI_E_BAD_RESPONSE   the answer is not valid JSON or lacks `choices`
 * @retval HWAI_E_CONTENT_TYPE   the answer is not JSON
 * @return any transport or authentication status from error.h otherwise
 */
HWAI_API HWAI_NODISCARD hwai_status hwai_chat(
    hwai_chat_result **out,
    hwai_client *client,
    const hwai_chat_request *req,
    hwai_error **err);

/**
 * @brief Frees a chat result. Accepts NULL.
 */
HWAI_API void hwai_chat_result_free(hwai_chat_result *result);

HWAI_END_DECL

#endif /* HWAI_CHAT_H */
