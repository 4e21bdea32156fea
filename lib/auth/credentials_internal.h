#ifndef HWAI_AUTH_CREDENTIALS_INTERNAL_H
#define HWAI_AUTH_CREDENTIALS_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hwai/credentials.h"

/* Temporary keys from instance metadata are renewed when they expire within
 * this many seconds (40 minutes, the margin of the official Huawei Cloud SDKs). */
#define HWAI__METADATA_REFRESH_MARGIN_S (40 * 60)

/* Default timeout of each instance metadata request, in milliseconds. */
#define HWAI__METADATA_DEFAULT_TIMEOUT_MS 3000u

/* Refresh state of credentials that came from instance metadata; defined in
 * credentials.c. */
typedef struct hwai__metadata_state hwai__metadata_state;

/* Reference-counted, so clients on several threads can share one object.
 * Everything is immutable after creation except the refs count and, for
 * credentials from instance metadata, the AK/SK/security token, which a
 * refresh replaces under the lock in `metadata`. Secret fields are wiped when
 * the count reaches zero. */
struct hwai_credentials {
    atomic_uint refs;
    hwai_credentials_kind kind;
    /* AK/SK credentials. When `metadata` is set these change on refresh, so
     * read them only through hwai__credentials_snapshot. */
    char *ak;
    char *sk;
    char *security_token;
    /* API key credentials. */
    char *api_key;
    /* IAM password credentials; iam_project_id is the optional token scope. */
    char *user_name;
    char *password;
    char *domain_name;
    char *iam_project_id;
    /* Provider that found the credentials, as hwai_credentials_source()
     * returns it; NULL means "explicit". */
    char *source;
    /* Settings found next to the keys in the environment or the profile file;
     * NULL when absent. */
    char *project_id;
    char *domain_id;
    char *iam_endpoint;
    /* Non-NULL for credentials from instance metadata. */
    hwai__metadata_state *metadata;
};

/* Takes another reference; returns creds. */
hwai_credentials *hwai__credentials_ref(const hwai_credentials *creds);

/* Caller-owned copies of AK/SK credentials at one moment. */
typedef struct hwai__aksk_snapshot {
    char *ak;
    char *sk;
    /* NULL when the credentials have no security token. */
    char *security_token;
} hwai__aksk_snapshot;

#define HWAI__AKSK_SNAPSHOT_INIT \
    {                            \
        NULL, NULL, NULL         \
    }

/* Copies the AK, SK and security token of AK/SK credentials into *out, which
 * the caller frees with hwai__aksk_snapshot_cleanup (also after a failure).
 * Credentials from instance metadata are refreshed first when they expire
 * within HWAI__METADATA_REFRESH_MARGIN_S; one thread refreshes while the
 * others wait on the lock. A failed refresh returns its error once the old
 * keys have expired, and the old keys until then. Other kinds are
 * HWAI_E_INVALID_ARG. */
hwai_status hwai__credentials_snapshot(
    const hwai_credentials *creds, hwai__aksk_snapshot *out, hwai_error **err);

/* Wipes and frees the copies; accepts a zeroed snapshot. */
void hwai__aksk_snapshot_cleanup(hwai__aksk_snapshot *snap);

/* Records where credentials that are not yet shared came from, with the
 * settings found beside the keys (each may be NULL or empty for none). */
hwai_status hwai__credentials_set_origin(
    hwai_credentials *creds,
    const char *source,
    const char *project_id,
    const char *domain_id,
    const char *iam_endpoint);

/* Temporary keys read from the instance metadata service. */
typedef struct hwai__metadata_keys {
    char *ak;
    char *sk;
    char *security_token;
    /* Seconds since the epoch, UTC. */
    int64_t expires_at;
} hwai__metadata_keys;

/* Fetches temporary keys: PUT <url>/meta-data/latest/api/token for a session
 * token (a 404, 405 or 503 response means none), then
 * GET <url>/openstack/latest/securitykey. url is the base URL the caller
 * configured, http or https. Failures are HWAI_E_AUTH (bad responses, rejected
 * requests), HWAI_E_CONNECT, HWAI_E_TIMEOUT, HWAI_E_TRANSPORT or HWAI_E_NOMEM.
 * Defined in chain.c. */
hwai_status hwai__metadata_fetch(
    const char *url, uint32_t timeout_ms, hwai__metadata_keys *out, hwai_error **err);

/* Wipes and frees the keys; accepts a zeroed struct. */
void hwai__metadata_keys_cleanup(hwai__metadata_keys *keys);

/* Makes AK/SK credentials from keys (which it takes over, leaving *keys
 * zeroed even on failure) that renew themselves from url. */
hwai_status hwai__credentials_new_metadata(
    hwai_credentials **out,
    const char *url,
    uint32_t timeout_ms,
    hwai__metadata_keys *keys,
    hwai_error **err);

/* Parses a UTC time as IAM and the metadata service write it,
 * "2030-01-02T03:04:05.000000Z", with or without the fractional seconds
 * (which are dropped) and with "Z" or "+00:00", into seconds since the epoch.
 * Returns false for anything else, including years outside 1970..9999. */
bool hwai__parse_utc_time(const char *text, int64_t *out);

#endif
