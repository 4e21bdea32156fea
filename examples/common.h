/* Shared by the examples: endpoint and credentials from the environment, and a
 * CHECK macro that prints the error and exits. */
#ifndef HWAI_EXAMPLES_COMMON_H
#define HWAI_EXAMPLES_COMMON_H

#include <hwai/hwai.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call, err)                                                              \
    do {                                                                              \
        hwai_status check_status_ = (call);                                           \
        if (check_status_ != HWAI_OK) {                                               \
            fprintf(                                                                  \
                stderr, "%s failed: %s: %s\n", #call, hwai_status_str(check_status_), \
                hwai_error_message(err));                                             \
            hwai_error_free(err);                                                     \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

static inline const char *env_or(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

/* Makes a client from HWAI_ENDPOINT (an on-premises gateway or the local
 * emulator; unset means the public regional endpoints), HUAWEICLOUD_SDK_AK,
 * HUAWEICLOUD_SDK_SK, HUAWEICLOUD_SDK_PROJECT_ID and HUAWEICLOUD_SDK_REGION. */
static inline hwai_client *example_client(void)
{
    hwai_error *err = NULL;
    hwai_credentials *creds = NULL;
    CHECK(
        hwai_credentials_new_aksk(
            &creds, env_or("HUAWEICLOUD_SDK_AK", ""), env_or("HUAWEICLOUD_SDK_SK", ""),
            getenv("HUAWEICLOUD_SDK_SECURITY_TOKEN"), &err),
        err);
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = getenv("HWAI_ENDPOINT");
    opts.region = getenv("HUAWEICLOUD_SDK_REGION");
    opts.project_id = getenv("HUAWEICLOUD_SDK_PROJECT_ID");
    opts.credentials = creds;
    hwai_client *client = NULL;
    CHECK(hwai_client_new(&client, &opts, &err), err);
    /* The client holds its own reference. */
    hwai_credentials_free(creds);
    return client;
}

#endif
