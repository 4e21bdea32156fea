#include "core/endpoint.h"

#include <string.h>

#include "core/client_internal.h"
#include "core/error_internal.h"
#include "util/str.h"
#include "util/url.h"

typedef struct service_hosts {
    const char *name;
    const char *host_prefix;
    /* Regions the service is offered in, NULL-terminated. */
    const char *regions[4];
} service_hosts;

/* Regions from the official SDKs' built-in endpoint tables: NLP is offered in
 * cn-north-4 only and Pangu in cn-southwest-2 only. */
static const service_hosts service_table[] = {
    [HWAI__SERVICE_NLP] = {"nlp", "nlp-ext", {"cn-north-4", NULL}},
    [HWAI__SERVICE_PANGU] = {"pangu", "pangu", {"cn-southwest-2", NULL}},
    [HWAI__SERVICE_MAAS] = {"maas", NULL, {NULL}},
};

/* MaaS serves its OpenAI-compatible API from one global host. */
#define MAAS_BASE_URL "https://api.modelarts-maas.com/v1"

static bool region_known(const service_hosts *svc, const char *region)
{
    for (size_t i = 0; svc->regions[i]; i++) {
        if (strcmp(svc->regions[i], region) == 0) {
            return true;
        }
    }
    return false;
}

static hwai_status unknown_region(const service_hosts *svc, const char *region, hwai_error **err)
{
    hwai__buf known = HWAI__BUF_INIT;
    for (size_t i = 0; svc->regions[i]; i++) {
        hwai__buf_printf(&known, "%s%s", i ? ", " : "", svc->regions[i]);
    }
    hwai_status status = hwai__error_set(
        err,
        HWAI_E_CONFIG,
        "region '%s' has no %s endpoint; known regions: %s; or set the endpoint option "
        "to the service's base URL",
        region,
        svc->name,
        known.data ? known.data : "none");
    hwai__buf_cleanup(&known);
    return status;
}

hwai_status hwai__endpoint_base(
    const hwai_client *client, hwai__service service, hwai__buf *out, hwai_error **err)
{
    const char *base = client->endpoint;
    if (base) {
        size_t len = strlen(base);
        while (len > 0 && base[len - 1] == '/') {
            len--;
        }
        hwai__buf_append(out, base, len);
        return out->oom ? HWAI_E_NOMEM : HWAI_OK;
    }
    if (service == HWAI__SERVICE_MAAS) {
        hwai__buf_append_str(out, MAAS_BASE_URL);
        return out->oom ? HWAI_E_NOMEM : HWAI_OK;
    }
    const service_hosts *svc = &service_table[service];
    if (hwai__str_empty(client->region)) {
        return hwai__error_set(
            err,
            HWAI_E_CONFIG,
            "no region or endpoint set for the %s service; set the region option "
            "(for example %s) or the endpoint option",
            svc->name,
            svc->regions[0]);
    }
    if (!region_known(svc, client->region)) {
        return unknown_region(svc, client->region, err);
    }
    hwai__buf_printf(out, "https://%s.%s.myhuaweicloud.com", svc->host_prefix, client->region);
    return out->oom ? HWAI_E_NOMEM : HWAI_OK;
}

static bool host_allowed(const hwai_client *client, const char *host)
{
    if (hwai__host_is_loopback(host)) {
        return true;
    }
    for (size_t i = 0; i < client->http_allowed_host_count; i++) {
        if (hwai__strcasecmp(client->http_allowed_hosts[i], host) == 0) {
            return true;
        }
    }
    return false;
}

hwai_status hwai__endpoint_check(const hwai_client *client, const char *url, hwai_error **err)
{
    hwai__url parsed;
    hwai_status status = hwai__url_parse(&parsed, url, err);
    if (status != HWAI_OK) {
        return status;
    }
    if (strcmp(parsed.scheme, "http") == 0 && !host_allowed(client, parsed.host)) {
        status = hwai__error_set(
            err,
            HWAI_E_INSECURE_URL,
            "plain http:// to '%s' is not allowed: use https://, or add the host to "
            "http_allowed_hosts",
            parsed.host);
    }
    hwai__url_cleanup(&parsed);
    return status;
}
