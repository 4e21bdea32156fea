#include "core/endpoint.h"

#include <stdlib.h>
#include <string.h>

#include "auth/credentials_internal.h"
#include "core/client_internal.h"
#include "core/error_internal.h"
#include "util/str.h"
#include "util/url.h"

#define MAX_REGIONS 24

typedef struct service_hosts {
    const char *name;
    /* Name in the official SDKs' HUAWEICLOUD_SDK_REGION_<SERVICE>_<REGION>. */
    const char *env_name;
    const char *host_prefix;
    /* Regions the service is offered in, NULL-terminated; empty for global
     * services. */
    const char *regions[MAX_REGIONS];
    /* Global endpoint used when no region applies, or NULL. */
    const char *global_url;
} service_hosts;

/* From the region tables of the official Huawei Cloud Python SDK
 * (huaweicloudsdk<service>/<version>/region/<service>_region.py). */
static const service_hosts service_table[] = {
    [HWAI_SERVICE_NLP] = { "nlp", "NLP", "nlp-ext", { "cn-north-4", NULL }, NULL },
    [HWAI_SERVICE_PANGU] = { "pangu",
                             "PANGULARGEMODELS",
                             "pangu",
                             { "cn-southwest-2", NULL },
                             NULL },
    [HWAI_SERVICE_MAAS] = { "maas", "MAAS", NULL, { NULL }, "https://api.modelarts-maas.com/v1" },
    [HWAI_SERVICE_IMAGE] = { "image",
                             "IMAGE",
                             "image",
                             { "cn-north-4", "cn-north-1", "ap-southeast-1", "ap-southeast-3",
                               "cn-east-3", NULL },
                             NULL },
    [HWAI_SERVICE_OCR] = { "ocr",
                           "OCR",
                           "ocr",
                           { "cn-north-4", "cn-south-1", "cn-east-3", "cn-north-1",
                             "ap-southeast-2", "cn-southwest-2", "ap-southeast-1", "ap-southeast-3",
                             "la-south-2", "af-south-1", "la-north-2", NULL },
                           NULL },
    [HWAI_SERVICE_MODERATION] = { "moderation",
                                  "MODERATION",
                                  "moderation",
                                  { "cn-north-4", "cn-north-1", "cn-east-3", "ap-southeast-3",
                                    "cn-southwest-2", NULL },
                                  NULL },
    [HWAI_SERVICE_MODELARTS] = { "modelarts",
                                 "MODELARTS",
                                 "modelarts",
                                 { "cn-north-1",
                                   "cn-north-4",
                                   "cn-south-1",
                                   "ap-southeast-1",
                                   "ap-southeast-2",
                                   "ap-southeast-3",
                                   "cn-east-3",
                                   "cn-east-4",
                                   "la-south-2",
                                   "af-south-1",
                                   "cn-north-9",
                                   "tr-west-1",
                                   "ap-southeast-4",
                                   "me-east-1",
                                   "cn-southwest-2",
                                   "cn-north-2",
                                   "sa-brazil-1",
                                   "la-north-2",
                                   "af-north-1",
                                   "cn-north-12",
                                   "cn-southwest-3",
                                   "cn-north-11",
                                   NULL },
                                 NULL },
    /* IAM has an endpoint in every region (iam.<region>); with no region, the global one. */
    [HWAI_SERVICE_IAM] = { "iam", "IAM", "iam", { NULL }, "https://iam.myhuaweicloud.com" },
};

static const service_hosts *lookup_service(hwai_service service)
{
    size_t count = sizeof(service_table) / sizeof(service_table[0]);
    if ((size_t)service >= count || !service_table[service].name) {
        return NULL;
    }
    return &service_table[service];
}

const char *hwai__service_name(hwai_service service)
{
    const service_hosts *svc = lookup_service(service);
    return svc ? svc->name : "unknown";
}

static const hwai_service_config *service_config(const hwai_client *client, hwai_service service)
{
    for (size_t i = 0; i < client->service_count; i++) {
        if (client->services[i].service == service) {
            return &client->services[i];
        }
    }
    return NULL;
}

const char *hwai__service_region(const hwai_client *client, hwai_service service)
{
    const hwai_service_config *config = service_config(client, service);
    if (config && !hwai__str_empty(config->region)) {
        return config->region;
    }
    return client->region;
}

const char *hwai__service_project_id(const hwai_client *client, hwai_service service)
{
    const hwai_service_config *config = service_config(client, service);
    if (config && !hwai__str_empty(config->project_id)) {
        return config->project_id;
    }
    const char *region = hwai__service_region(client, service);
    for (size_t i = 0; region && i < client->region_project_count; i++) {
        if (strcmp(client->region_projects[i].region, region) == 0) {
            return client->region_projects[i].project_id;
        }
    }
    /* The client-wide project id belongs to the default region; a service in
     * another region has a project id of its own. */
    bool default_region = !region || !client->region || strcmp(region, client->region) == 0;
    if (!default_region) {
        return NULL;
    }
    if (!hwai__str_empty(client->project_id)) {
        return client->project_id;
    }
    const hwai_credentials *creds = client->credentials;
    if (creds && creds->kind == HWAI_CREDENTIALS_IAM_PASSWORD) {
        /* The project an IAM token is scoped to is the one its calls address. */
        return creds->iam_project_id;
    }
    return hwai_credentials_project_id(creds);
}

hwai_sign_algorithm hwai__service_algorithm(const hwai_client *client, hwai_service service)
{
    const hwai_service_config *config = service_config(client, service);
    if (config && config->signing_algorithm) {
        return config->signing_algorithm;
    }
    return client->signing_algorithm ? client->signing_algorithm : HWAI_SIGN_SDK_HMAC_SHA256;
}

const char *hwai__service_signing_name(const hwai_client *client, hwai_service service)
{
    const hwai_service_config *config = service_config(client, service);
    if (config && !hwai__str_empty(config->signing_service_name)) {
        return config->signing_service_name;
    }
    return hwai__service_name(service);
}

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
        err, HWAI_E_CONFIG,
        "region '%s' has no %s endpoint; known regions: %s; or set the service's endpoint "
        "(hwai_service_config.endpoint, the endpoint option, or HUAWEICLOUD_SDK_REGION_%s_%s)",
        region, svc->name, known.data ? known.data : "none", svc->env_name, "<REGION>");
    hwai__buf_cleanup(&known);
    return status;
}

/* HUAWEICLOUD_SDK_REGION_NLP_CN_NORTH_4: the region id upper-cased, '-' as '_'. */
static bool env_endpoint(const service_hosts *svc, const char *region, hwai__buf *out)
{
    if (!region) {
        return false;
    }
    hwai__buf name = HWAI__BUF_INIT;
    hwai__buf_printf(&name, "HUAWEICLOUD_SDK_REGION_%s_", svc->env_name);
    for (const char *p = region; *p; p++) {
        char c = *p == '-' ? '_' : *p;
        hwai__buf_append_char(&name, (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c);
    }
    const char *value = name.oom ? NULL : getenv(name.data);
    hwai__buf_cleanup(&name);
    if (hwai__str_empty(value)) {
        return false;
    }
    size_t len = strcspn(value, ",");
    while (len > 0 && value[len - 1] == ' ') {
        len--;
    }
    hwai__buf_append(out, value, len);
    return true;
}

static void append_trimmed(hwai__buf *out, const char *url)
{
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/') {
        len--;
    }
    hwai__buf_append(out, url, len);
}

static hwai_status
table_endpoint(const service_hosts *svc, const char *region, hwai__buf *out, hwai_error **err)
{
    if (svc->host_prefix && region && (svc->regions[0] == NULL || region_known(svc, region))) {
        /* ModelArts in ap-southeast-1 is served only under the .cn domain. */
        const char *domain =
            (strcmp(svc->name, "modelarts") == 0 && strcmp(region, "ap-southeast-1") == 0)
                ? "myhuaweicloud.cn"
                : "myhuaweicloud.com";
        hwai__buf_printf(out, "https://%s.%s.%s", svc->host_prefix, region, domain);
        return HWAI_OK;
    }
    if (svc->global_url) {
        hwai__buf_append_str(out, svc->global_url);
        return HWAI_OK;
    }
    if (!region) {
        return hwai__error_set(
            err, HWAI_E_CONFIG,
            "no region or endpoint set for the %s service; set the region option "
            "(for example %s) or the endpoint option",
            svc->name, svc->regions[0]);
    }
    return unknown_region(svc, region, err);
}

hwai_status hwai__endpoint_base(
    const hwai_client *client, hwai_service service, hwai__buf *out, hwai_error **err)
{
    const service_hosts *svc = lookup_service(service);
    if (!svc) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "unknown service %d", (int)service);
    }
    const hwai_service_config *config = service_config(client, service);
    const char *region = hwai__service_region(client, service);
    hwai_status status = HWAI_OK;
    if (config && !hwai__str_empty(config->endpoint)) {
        append_trimmed(out, config->endpoint);
    } else if (service == HWAI_SERVICE_IAM && !hwai__str_empty(client->iam_endpoint)) {
        append_trimmed(out, client->iam_endpoint);
    } else if (client->endpoint) {
        append_trimmed(out, client->endpoint);
    } else if (!env_endpoint(svc, region, out)) {
        status = table_endpoint(svc, region, out, err);
    }
    if (status == HWAI_OK && out->oom) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory building an endpoint");
    }
    return status;
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
            err, HWAI_E_INSECURE_URL,
            "plain http:// to '%s' is not allowed: use https://, or add the host to "
            "http_allowed_hosts",
            parsed.host);
    } else if (
        strcmp(parsed.scheme, "http") == 0 && client->proxy_host &&
        !host_allowed(client, client->proxy_host)) {
        status = hwai__error_set(
            err, HWAI_E_INSECURE_URL,
            "plain http:// to '%s' through the proxy '%s' would leave this machine "
            "unencrypted: use https://, or add the proxy host to http_allowed_hosts",
            parsed.host, client->proxy_host);
    }
    hwai__url_cleanup(&parsed);
    return status;
}
