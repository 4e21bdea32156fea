#ifndef HWAI_AUTH_CREDENTIALS_INTERNAL_H
#define HWAI_AUTH_CREDENTIALS_INTERNAL_H

#include <stdatomic.h>

#include "hwai/credentials.h"

/* Immutable after creation and reference-counted, so clients on several threads
 * can share one object. Secret fields are wiped when the count reaches zero. */
struct hwai_credentials {
    atomic_uint refs;
    hwai_credentials_kind kind;
    char *ak;
    char *sk;
    char *security_token;
    char *api_key;
};

/* Takes another reference; returns creds. */
hwai_credentials *hwai__credentials_ref(const hwai_credentials *creds);

#endif
