/* Chat request validation and JSON encoding, shared by plain and streamed calls. */
#ifndef HWAI_SERVICES_CHAT_REQUEST_H
#define HWAI_SERVICES_CHAT_REQUEST_H

#include <stdbool.h>

#include "core/pipeline.h"
#include "hwai/chat.h"

/* Where a chat request goes. */
typedef struct hwai__chat_route {
    hwai_service service;
    hwai__buf path;
    /* OpenAI-compatible gateways; they take stream_options. */
    bool openai_compatible;
} hwai__chat_route;

hwai_status hwai__chat_validate(const hwai_chat_request *req, hwai_error **err);

/* Picks the path from the request's deployment, pool and model. base_path is
 * the path of the OpenAI-compatible base URL, used to decide between
 * {base}/chat/completions and {base}/v1/chat/completions. */
hwai_status hwai__chat_route_build(
    hwai_client *client, const hwai_chat_request *req, hwai__chat_route *route, hwai_error **err);
void hwai__chat_route_cleanup(hwai__chat_route *route);

/* Encodes the body; stream adds "stream": true (and include_usage on
 * OpenAI-compatible paths). Returns a new string or NULL with *err set. */
char *hwai__chat_encode(
    const hwai_chat_request *req,
    bool openai_compatible,
    bool stream,
    size_t *len_out,
    hwai_error **err);

#endif
