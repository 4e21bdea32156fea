/* Where each service lives: regions, endpoints, project ids and signing
 * settings, resolved from the client's options, the environment and the
 * built-in region table. */
#ifndef HWAI_CORE_ENDPOINT_H
#define HWAI_CORE_ENDPOINT_H

#include "hwai/client.h"
#include "util/buf.h"

/* Lower-case service name used in logs, V11 scopes and messages ("nlp"). */
const char *hwai__service_name(hwai_service service);

/* Region of a service: its own configured region, else the client's default
 * region; NULL when neither is set. */
const char *hwai__service_region(const hwai_client *client, hwai_service service);

/* Project id configured for a service's requests, without any lookup: the
 * service's own, then the one listed for its region, then the client's (or
 * the credentials') project id when the service is in the client's default
 * region. NULL when none applies. */
const char *hwai__service_project_id(const hwai_client *client, hwai_service service);

/* Signing algorithm and V11 scope name for a service. */
hwai_sign_algorithm hwai__service_algorithm(const hwai_client *client, hwai_service service);
const char *hwai__service_signing_name(const hwai_client *client, hwai_service service);

/* Appends the base URL of a service, without a trailing '/'. In order: the
 * service's configured endpoint, the client's endpoint override, the
 * HUAWEICLOUD_SDK_REGION_<SERVICE>_<REGION> environment variable (first of its
 * comma-separated URLs), the built-in table. An unknown region is HWAI_E_CONFIG
 * naming the regions in the table and the endpoint override. */
hwai_status hwai__endpoint_base(
    const hwai_client *client, hwai_service service, hwai__buf *out, hwai_error **err);

/* Checks that url is absolute http(s) and that plain http:// goes only to
 * loopback or to a host the caller allowed. Opens no socket. */
hwai_status hwai__endpoint_check(const hwai_client *client, const char *url, hwai_error **err);

#endif
