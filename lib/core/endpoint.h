/* Which host serves a service, and whether a URL may be used at all. */
#ifndef HWAI_CORE_ENDPOINT_H
#define HWAI_CORE_ENDPOINT_H

#include "hwai/client.h"
#include "util/buf.h"

typedef enum hwai__service {
    HWAI__SERVICE_NLP,
    HWAI__SERVICE_PANGU,
    /* OpenAI-compatible gateways; ModelArts MaaS by default. */
    HWAI__SERVICE_MAAS
} hwai__service;

/* Appends the base URL of a service, without a trailing '/': the client's
 * endpoint override when set, else the regional endpoint. An unknown region is
 * HWAI_E_CONFIG naming the known ones and the endpoint override. */
hwai_status hwai__endpoint_base(
    const hwai_client *client, hwai__service service, hwai__buf *out, hwai_error **err);

/* Checks that url is absolute http(s) and that plain http:// goes only to
 * loopback or to a host the caller allowed. Opens no socket. */
hwai_status hwai__endpoint_check(const hwai_client *client, const char *url, hwai_error **err);

#endif
