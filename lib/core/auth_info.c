/* hwai_client_auth_info: what a service's calls would authenticate with. */
#include <stdlib.h>
#include <string.h>

#include "auth/credentials_internal.h"
#include "auth/token_cache.h"
#include "core/client_internal.h"
#include "core/endpoint.h"
#include "core/error_internal.h"
#include "util/str.h"

typedef struct auth_info_impl {
    hwai_auth_info pub;
    char *source;
    char *access_key_id;
    char *region;
    char *project_id;
} auth_info_impl;

/* The project id calls would use, looked up through IAM when needed. */
static hwai_status
resolve_project(hwai_client *client, hwai_service service, auth_info_impl *info, hwai_error **err)
{
    const char *configured = hwai__service_project_id(client, service);
    if (!hwai__str_empty(configured)) {
        info->project_id = hwai__strdup(configured);
        return info->project_id ? HWAI_OK : HWAI_E_NOMEM;
    }
    const hwai_credentials *creds = client->credentials;
    if (creds && creds->kind == HWAI_CREDENTIALS_AKSK && info->region &&
        service != HWAI_SERVICE_MAAS && service != HWAI_SERVICE_IAM) {
        return hwai__project_lookup(client, creds, info->region, &info->project_id, err);
    }
    return HWAI_OK;
}

static hwai_status
describe(hwai_client *client, hwai_service service, auth_info_impl *info, hwai_error **err)
{
    const hwai_credentials *creds = client->credentials;
    info->pub.kind = creds ? creds->kind : HWAI_CREDENTIALS_NONE;
    info->source = hwai__strdup(creds ? hwai_credentials_source(creds) : "none");
    info->access_key_id = hwai__strdup(hwai_credentials_access_key_id(creds));
    info->region = hwai__strdup(hwai__service_region(client, service));
    if (!info->source) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory describing credentials");
    }
    hwai_status status = resolve_project(client, service, info, err);
    if (status != HWAI_OK) {
        return status;
    }
    if (creds && creds->kind == HWAI_CREDENTIALS_AKSK) {
        info->pub.signing_algorithm = hwai__service_algorithm(client, service);
    }
    if (creds && creds->kind == HWAI_CREDENTIALS_IAM_PASSWORD) {
        char *token = NULL;
        status = hwai__token_get(
            client->tokens, client, creds, info->region, info->project_id, &token,
            &info->pub.token_expires_at, err);
        hwai__secret_free(token);
    }
    return status;
}

hwai_status hwai_client_auth_info(
    hwai_auth_info **out, hwai_client *client, hwai_service service, hwai_error **err)
{
    if (!out || !client) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is NULL", out ? "client" : "out");
    }
    *out = NULL;
    if (service < HWAI_SERVICE_NLP || service > HWAI_SERVICE_IAM) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "unknown service %d", (int)service);
    }
    auth_info_impl *info = calloc(1, sizeof(*info));
    if (!info) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory describing credentials");
    }
    hwai_status status = describe(client, service, info, err);
    info->pub.source = info->source;
    info->pub.access_key_id = info->access_key_id;
    info->pub.region = info->region;
    info->pub.project_id = info->project_id;
    if (status != HWAI_OK) {
        hwai_auth_info_free(&info->pub);
        return status;
    }
    *out = &info->pub;
    return HWAI_OK;
}

void hwai_auth_info_free(hwai_auth_info *pub)
{
    if (!pub) {
        return;
    }
    auth_info_impl *info = (auth_info_impl *)pub;
    free(info->source);
    free(info->access_key_id);
    free(info->region);
    free(info->project_id);
    free(info);
}
