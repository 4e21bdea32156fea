#ifndef HWAI_SERVICES_CHAT_RESULT_H
#define HWAI_SERVICES_CHAT_RESULT_H

#include <jansson.h>

#include "hwai/chat.h"
#include "transport/transport.h"

/* Builds a result from a chat.completion response, taking ownership of root (the
 * result's strings point into it). resp supplies the request id and raw body. */
hwai_status hwai__chat_result_from_json(
    hwai_chat_result **out, json_t *root, const hwai__http_response *resp, hwai_error **err);

/* Reads {prompt,completion,total}_tokens; absent or malformed usage leaves
 * usage->present at 0. The services type them as numbers that may be reals. */
void hwai__chat_usage_from_json(const json_t *usage_obj, hwai_chat_usage *usage);

#endif
