/* Names of services, signing algorithms and credential kinds, as typed on the
 * command line and printed in output. */
#include "cli.h"

#include <string.h>

/* Indexed by hwai_service; entry 0 is unused. */
static const char *const service_names[CLI_SERVICE_COUNT + 1] = {
    [HWAI_SERVICE_NLP] = "nlp",
    [HWAI_SERVICE_PANGU] = "pangu",
    [HWAI_SERVICE_MAAS] = "maas",
    [HWAI_SERVICE_IMAGE] = "image",
    [HWAI_SERVICE_OCR] = "ocr",
    [HWAI_SERVICE_MODERATION] = "moderation",
    [HWAI_SERVICE_MODELARTS] = "modelarts",
    [HWAI_SERVICE_IAM] = "iam",
};

const char *const cli_service_name_list =
    "nlp, pangu, maas, image, ocr, moderation, modelarts, iam";

hwai_service cli_service_from_name(const char *name, size_t len)
{
    for (int i = 1; i <= CLI_SERVICE_COUNT; i++) {
        if (strlen(service_names[i]) == len && strncmp(service_names[i], name, len) == 0) {
            return (hwai_service)i;
        }
    }
    return (hwai_service)0;
}

const char *cli_service_name(hwai_service service)
{
    if ((int)service < 1 || (int)service > CLI_SERVICE_COUNT) {
        return "unknown";
    }
    return service_names[service];
}

static const struct {
    hwai_sign_algorithm algorithm;
    const char *name;
} algorithm_names[] = {
    { HWAI_SIGN_SDK_HMAC_SHA256, "SDK-HMAC-SHA256" },
    { HWAI_SIGN_V11_HMAC_SHA256, "V11-HMAC-SHA256" },
    { HWAI_SIGN_SDK_HMAC_SM3, "SDK-HMAC-SM3" },
};

const char *const cli_sign_algorithm_list = "SDK-HMAC-SHA256, V11-HMAC-SHA256 or SDK-HMAC-SM3";

hwai_sign_algorithm cli_sign_algorithm_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(algorithm_names) / sizeof(algorithm_names[0]); i++) {
        if (strcmp(algorithm_names[i].name, name) == 0) {
            return algorithm_names[i].algorithm;
        }
    }
    return (hwai_sign_algorithm)0;
}

const char *cli_sign_algorithm_name(hwai_sign_algorithm algorithm)
{
    for (size_t i = 0; i < sizeof(algorithm_names) / sizeof(algorithm_names[0]); i++) {
        if (algorithm_names[i].algorithm == algorithm) {
            return algorithm_names[i].name;
        }
    }
    return NULL;
}

const char *cli_credentials_kind_name(hwai_credentials_kind kind)
{
    switch (kind) {
    case HWAI_CREDENTIALS_AKSK: return "aksk";
    case HWAI_CREDENTIALS_API_KEY: return "api-key";
    case HWAI_CREDENTIALS_IAM_PASSWORD: return "iam-password";
    case HWAI_CREDENTIALS_NONE: return "none";
    }
    return "unknown";
}
