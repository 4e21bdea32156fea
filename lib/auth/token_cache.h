/* IAM user tokens of IAM password credentials, per client and project scope,
 * and project ids found through IAM. */
#ifndef HWAI_AUTH_TOKEN_CACHE_H
#define HWAI_AUTH_TOKEN_CACHE_H

#include <stdint.h>
#include <time.h>

#include "hwai/client.h"

/* A token is renewed this long before its expires_at. */
#define HWAI__TOKEN_REFRESH_MARGIN_S 300

typedef struct hwai__token_cache hwai__token_cache;

/* What a call leaves to the IAM requests made on its behalf (a token fetch, a
 * project lookup): its deadline, in monotonic milliseconds (0 for none), and
 * its cancellation token (or NULL). */
typedef struct hwai__call_budget {
    uint64_t deadline_at_ms;
    hwai_cancel_token *cancel;
} hwai__call_budget;

hwai_status hwai__token_cache_new(hwai__token_cache **out, hwai_error **err);
void hwai__token_cache_free(hwai__token_cache *cache);

/* Replaces the clock (seconds since the epoch, UTC) for tests; NULL restores
 * time(NULL). */
void hwai__token_cache_set_clock(hwai__token_cache *cache, time_t (*now)(void));

/* Returns a token for the scope: the cached one while it is valid for longer
 * than the refresh margin, else a new one from POST /v3/auth/tokens on the IAM
 * endpoint of region. When several threads need a new token at once, one sends
 * the request and the others wait for its result. project_id scopes the token
 * to a project; NULL scopes it to the project named region. *token_out is a
 * copy for the caller, freed with hwai__secret_free; *expires_at_out (may be
 * NULL) receives its expiry in seconds since the epoch. */
hwai_status hwai__token_get(
    hwai__token_cache *cache,
    hwai_client *client,
    const hwai_credentials *creds,
    const char *region,
    const char *project_id,
    char **token_out,
    int64_t *expires_at_out,
    hwai_error **err);

/* hwai__token_get within a call's budget: the IAM request, and the wait for
 * another thread's request, end at the deadline or on cancel. */
hwai_status hwai__token_get_within(
    hwai__token_cache *cache,
    hwai_client *client,
    const hwai_credentials *creds,
    const char *region,
    const char *project_id,
    const hwai__call_budget *budget,
    char **token_out,
    int64_t *expires_at_out,
    hwai_error **err);

/* Forgets the scope's token if it is still `token`, after the gateway rejected
 * it, so the next hwai__token_get fetches a new one. A token that another
 * thread has already replaced stays. */
void hwai__token_invalidate(
    hwai__token_cache *cache, const char *region, const char *project_id, const char *token);

/* Returns the project id of region for AK/SK credentials: a signed
 * GET /v3/projects?name=<region> on the IAM endpoint, cached per access key and
 * region for the life of the process. A result whose name is exactly region is
 * taken; none is HWAI_E_CONFIG naming the region; several (or only other names)
 * is HWAI_E_CONFIG listing the candidates. *project_id_out is the caller's,
 * freed with free(). */
hwai_status hwai__project_lookup(
    hwai_client *client,
    const hwai_credentials *creds,
    const char *region,
    char **project_id_out,
    hwai_error **err);

/* hwai__project_lookup within a call's budget. */
hwai_status hwai__project_lookup_within(
    hwai_client *client,
    const hwai_credentials *creds,
    const char *region,
    const hwai__call_budget *budget,
    char **project_id_out,
    hwai_error **err);

#endif
