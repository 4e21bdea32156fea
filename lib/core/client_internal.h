#ifndef HWAI_CORE_CLIENT_INTERNAL_H
#define HWAI_CORE_CLIENT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>

#include "hwai/client.h"
#include "transport/transport.h"

struct hwai_client {
    char *region;
    char *project_id;
    char *endpoint;
    char *user_agent;
    uint32_t connect_timeout_ms;
    uint32_t timeout_ms;
    size_t max_response_bytes;
    hwai_credentials *credentials;
    char **http_allowed_hosts;
    size_t http_allowed_host_count;
    hwai_log_cb log_cb;
    void *log_user_data;
    hwai_log_level log_level;
    hwai__transport *transport;
    char *iam_endpoint;
    hwai_sign_algorithm signing_algorithm;
    /* Deep copies of the caller's arrays. */
    hwai_service_config *services;
    size_t service_count;
    hwai_region_project *region_projects;
    size_t region_project_count;
    hwai_retry_policy retry;
    uint32_t call_timeout_ms;
    uint32_t stream_idle_timeout_ms;
    /* IAM tokens of IAM password credentials, and project ids found through
     * IAM, shared by the client's threads. */
    struct hwai__token_cache *tokens;
    /* Host of the proxy, when one is set: plain http:// through it leaves the
     * machine, so it must pass the same check as a plain http:// endpoint. */
    char *proxy_host;
};

/* Sends one log line through the client's callback when its level allows.
 * Callers pass no secrets; header values are masked before they get here. */
void hwai__log(const hwai_client *client, hwai_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

bool hwai__log_enabled(const hwai_client *client, hwai_log_level level);

#endif
