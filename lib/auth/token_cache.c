#include "auth/token_cache.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/credentials_internal.h"
#include "core/client_internal.h"
#include "core/error_internal.h"
#include "core/pipeline.h"
#include "json/json.h"
#include "retry/cancel.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/url.h"

/* The token of one (region, project id) scope, and the state of its fetch. */
typedef struct token_entry {
    char *region;
    /* NULL when the token is scoped to the project named region. */
    char *project_id;
    /* NULL until the first fetch succeeds, and after an invalidation. */
    char *token;
    int64_t expires_at;
    /* True while one thread is requesting a token for this scope. */
    bool fetching;
    /* Completed fetches, so a waiting thread can tell that the fetch it
     * waited for has finished. */
    uint64_t fetches_done;
    /* Outcome of the last fetch, handed to the threads that waited for it. */
    hwai_status last_status;
    hwai_error *last_error;
    /* When IAM last rejected the password (401 or 403), by the cache clock. */
    int64_t rejected_at;
    struct token_entry *next;
} token_entry;

/* After IAM rejects the password, calls within this many seconds get the same
 * error without a new request: IAM locks users out after repeated failures. */
#define PASSWORD_REJECTION_HOLD_S 10

struct hwai__token_cache {
    pthread_mutex_t lock;
    /* Signalled when a fetch completes. */
    pthread_cond_t fetched;
    time_t (*now)(void);
    token_entry *entries;
};

static time_t system_now(void)
{
    return time(NULL);
}

hwai_status hwai__token_cache_new(hwai__token_cache **out, hwai_error **err)
{
    *out = NULL;
    hwai__token_cache *cache = calloc(1, sizeof(*cache));
    if (!cache) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory creating the token cache");
    }
    if (pthread_mutex_init(&cache->lock, NULL) != 0) {
        free(cache);
        return hwai__error_set(err, HWAI_E_INTERNAL, "could not create the token cache lock");
    }
    if (pthread_cond_init(&cache->fetched, NULL) != 0) {
        pthread_mutex_destroy(&cache->lock);
        free(cache);
        return hwai__error_set(err, HWAI_E_INTERNAL, "could not create the token cache condition");
    }
    cache->now = system_now;
    *out = cache;
    return HWAI_OK;
}

void hwai__token_cache_free(hwai__token_cache *cache)
{
    if (!cache) {
        return;
    }
    token_entry *entry = cache->entries;
    while (entry) {
        token_entry *next = entry->next;
        free(entry->region);
        free(entry->project_id);
        hwai__secret_free(entry->token);
        hwai_error_free(entry->last_error);
        free(entry);
        entry = next;
    }
    pthread_cond_destroy(&cache->fetched);
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

void hwai__token_cache_set_clock(hwai__token_cache *cache, time_t (*now)(void))
{
    pthread_mutex_lock(&cache->lock);
    cache->now = now ? now : system_now;
    pthread_mutex_unlock(&cache->lock);
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Finds the scope's entry. Called with the lock held. */
static token_entry *find_entry(hwai__token_cache *cache, const char *region, const char *project_id)
{
    for (token_entry *entry = cache->entries; entry; entry = entry->next) {
        if (same_text(entry->region, region) && same_text(entry->project_id, project_id)) {
            return entry;
        }
    }
    return NULL;
}

/* Finds or adds the scope's entry; NULL when out of memory. Called with the
 * lock held. */
static token_entry *
find_or_add_entry(hwai__token_cache *cache, const char *region, const char *project_id)
{
    token_entry *entry = find_entry(cache, region, project_id);
    if (entry) {
        return entry;
    }
    entry = calloc(1, sizeof(*entry));
    if (!entry) {
        return NULL;
    }
    entry->region = hwai__strdup(region);
    entry->project_id = hwai__strdup(project_id);
    if ((region && !entry->region) || (project_id && !entry->project_id)) {
        free(entry->region);
        free(entry->project_id);
        free(entry);
        return NULL;
    }
    entry->next = cache->entries;
    cache->entries = entry;
    return entry;
}

/* Stores a copy of src in *err, for threads that share one fetch's error. */
static hwai_status error_copy_into(hwai_error **err, hwai_status status, const hwai_error *src)
{
    if (!src) {
        return hwai__error_set(err, status, "IAM token request failed");
    }
    return hwai__error_set_http(
        err, status, src->http_status, src->code, src->request_id, "%s",
        src->message ? src->message : "IAM token request failed");
}

/* Appends text as a JSON string literal. Bytes from 0x80 up pass through, so
 * UTF-8 stays UTF-8. */
static void append_json_string(hwai__buf *out, const char *text)
{
    hwai__buf_append_char(out, '"');
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') {
            hwai__buf_append_char(out, '\\');
            hwai__buf_append_char(out, (char)*c);
        } else if (*c < 0x20) {
            hwai__buf_printf(out, "\\u%04x", (unsigned int)*c);
        } else {
            hwai__buf_append_char(out, (char)*c);
        }
    }
    hwai__buf_append_char(out, '"');
}

/* Writes the password-method token request. It is built by hand rather than
 * with jansson so that the password only ever sits in a buffer that is wiped. */
static void build_token_body(
    hwai__buf *body, const hwai_credentials *creds, const char *region, const char *project_id)
{
    hwai__buf_append_str(
        body,
        "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":");
    append_json_string(body, creds->user_name);
    hwai__buf_append_str(body, ",\"password\":");
    append_json_string(body, creds->password);
    hwai__buf_append_str(body, ",\"domain\":{\"name\":");
    append_json_string(body, creds->domain_name);
    hwai__buf_append_str(body, "}}}},\"scope\":{\"project\":{");
    hwai__buf_append_str(body, project_id ? "\"id\":" : "\"name\":");
    append_json_string(body, project_id ? project_id : region);
    hwai__buf_append_str(body, "}}}}");
}

/* Takes the token from the X-Subject-Token header. The lookup matches the
 * whole header name in any case, so "x-subject-token" from HTTP/2 or a newer
 * Keystone is found, and a "Vary: X-Subject-Token" header is not. */
static hwai_status subject_token(
    const hwai__http_response *resp, const char *request_id, char **token_out, hwai_error **err)
{
    const char *value = hwai__headers_get(&resp->headers, "X-Subject-Token");
    if (!value) {
        value = "";
    }
    while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n') {
        value++;
    }
    size_t len = strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t' || value[len - 1] == '\r' ||
                       value[len - 1] == '\n')) {
        len--;
    }
    if (len == 0) {
        return hwai__error_set_http(
            err, HWAI_E_AUTH, resp->status, NULL, request_id,
            "IAM answered without X-Subject-Token, so there is no token to send");
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c <= 0x20 || c >= 0x7f) {
            return hwai__error_set_http(
                err, HWAI_E_BAD_RESPONSE, resp->status, NULL, request_id,
                "IAM returned a malformed X-Subject-Token: character %zu is a space, "
                "control character or not ASCII",
                i + 1);
        }
    }
    hwai__buf copy = HWAI__BUF_INIT;
    hwai__buf_append(&copy, value, len);
    if (copy.oom) {
        hwai__buf_cleanup_secret(&copy);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying the IAM token");
    }
    *token_out = hwai__buf_detach(&copy);
    return HWAI_OK;
}

/* Sends POST /v3/auth/tokens without any authorization header and returns a
 * new token and its expiry. */
/* Sets the deadline and cancel token of an IAM request from the budget;
 * HWAI_E_TIMEOUT when the budget's deadline has already passed. */
static hwai_status apply_budget(hwai__call *call, const hwai__call_budget *budget, hwai_error **err)
{
    if (!budget) {
        return HWAI_OK;
    }
    call->cancel = budget->cancel;
    if (budget->deadline_at_ms) {
        uint64_t now = hwai__monotonic_ms();
        if (now >= budget->deadline_at_ms) {
            return hwai__error_set(
                err, HWAI_E_TIMEOUT, "%s timed out: the call's deadline passed", call->operation);
        }
        uint64_t left = budget->deadline_at_ms - now;
        call->deadline_ms = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
    }
    return HWAI_OK;
}

static hwai_status request_token(
    hwai_client *client,
    const hwai_credentials *creds,
    const char *region,
    const char *project_id,
    const hwai__call_budget *budget,
    char **token_out,
    int64_t *expires_at_out,
    hwai_error **err)
{
    hwai__buf body = HWAI__BUF_INIT;
    hwai__query query = HWAI__QUERY_INIT;
    hwai__http_response resp = HWAI__HTTP_RESPONSE_INIT;
    json_t *root = NULL;
    hwai_status status = HWAI_OK;
    build_token_body(&body, creds, region, project_id);
    /* nocatalog=true leaves out the service catalog, which is most of a
     * token response and unused here. */
    if (body.oom || !hwai__query_add(&query, "nocatalog", "true")) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory building the IAM token request");
        goto done;
    }
    hwai__call call = {
        .service = HWAI_SERVICE_IAM,
        .operation = "IAM token request",
        .method = "POST",
        .path = "/v3/auth/tokens",
        .query = &query,
        .body = body.data,
        .body_len = body.len,
        .anonymous = true,
    };
    status = apply_budget(&call, budget, err);
    if (status == HWAI_OK) {
        status = hwai__pipeline_json(client, &call, &resp, &root, err);
    }
    if (status != HWAI_OK) {
        /* The request carried the password, which IAM may echo back. */
        hwai__auth_redact_error(err, creds, NULL);
        hwai__error_prefix(err, "IAM token request failed");
        goto done;
    }
    const char *request_id = hwai__headers_get(&resp.headers, "X-Request-Id");
    const char *expires_at = hwai__json_str(hwai__json_obj(root, "token"), "expires_at");
    if (!hwai__parse_utc_time(expires_at, expires_at_out)) {
        status = hwai__error_set_http(
            err, HWAI_E_BAD_RESPONSE, resp.status, NULL, request_id,
            "IAM token response has no token.expires_at in the form "
            "YYYY-MM-DDTHH:MM:SS[.ffffff]Z");
        goto done;
    }
    status = subject_token(&resp, request_id, token_out, err);
done:
    json_decref(root);
    hwai__http_response_cleanup(&resp);
    hwai__query_cleanup(&query);
    hwai__buf_cleanup_secret(&body);
    return status;
}

static hwai_status
copy_token(const token_entry *entry, char **token_out, int64_t *expires_at_out, hwai_error **err)
{
    *token_out = hwai__secret_dup(entry->token);
    if (!*token_out) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying the IAM token");
    }
    if (expires_at_out) {
        *expires_at_out = entry->expires_at;
    }
    return HWAI_OK;
}

static hwai_status check_token_args(
    hwai__token_cache *cache,
    hwai_client *client,
    const hwai_credentials *creds,
    const char *region,
    const char *project_id,
    char **token_out,
    hwai_error **err)
{
    if (!cache || !client || !token_out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "token cache, client or output is NULL");
    }
    if (!creds || creds->kind != HWAI_CREDENTIALS_IAM_PASSWORD) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "an IAM token needs IAM password credentials");
    }
    if (!project_id && hwai__str_empty(region)) {
        return hwai__error_set(
            err, HWAI_E_CONFIG,
            "an IAM token needs a project to be scoped to: set a region (the project named "
            "after it is used) or a project id");
    }
    return HWAI_OK;
}

/* Fetches a token for the entry outside the lock, then publishes the outcome
 * to the entry and wakes the waiting threads. Called with the lock held and
 * entry->fetching just set; returns with the lock held. */
static hwai_status fetch_for_entry(
    hwai__token_cache *cache,
    token_entry *entry,
    hwai_client *client,
    const hwai_credentials *creds,
    const hwai__call_budget *budget,
    char **token_out,
    int64_t *expires_at_out,
    hwai_error **err)
{
    char *region = entry->region;
    char *project_id = entry->project_id;
    pthread_mutex_unlock(&cache->lock);
    char *token = NULL;
    int64_t expires_at = 0;
    hwai_error *fetch_err = NULL;
    hwai_status status =
        request_token(client, creds, region, project_id, budget, &token, &expires_at, &fetch_err);
    pthread_mutex_lock(&cache->lock);

    entry->fetching = false;
    entry->fetches_done++;
    entry->last_status = status;
    hwai_error_free(entry->last_error);
    entry->last_error = fetch_err;
    int http_status = hwai_error_http_status(fetch_err);
    entry->rejected_at = (status == HWAI_E_SERVICE && (http_status == 401 || http_status == 403))
                             ? (int64_t)cache->now()
                             : 0;
    if (status == HWAI_OK) {
        hwai__secret_free(entry->token);
        entry->token = token;
        entry->expires_at = expires_at;
        status = copy_token(entry, token_out, expires_at_out, err);
        hwai__log(
            client, HWAI_LOG_INFO, "IAM token for project %s%s obtained, expires at %" PRId64,
            project_id ? project_id : "named ", project_id ? "" : region, expires_at);
        if (expires_at <= (int64_t)cache->now() + HWAI__TOKEN_REFRESH_MARGIN_S) {
            /* Every call would fetch a new token; a wrong clock is the usual cause. */
            hwai__log(
                client, HWAI_LOG_WARN,
                "the new IAM token expires within %d s of this machine's clock; check that the "
                "system clock is correct",
                HWAI__TOKEN_REFRESH_MARGIN_S);
        }
    } else {
        error_copy_into(err, status, fetch_err);
    }
    pthread_cond_broadcast(&cache->fetched);
    return status;
}

hwai_status hwai__token_get(
    hwai__token_cache *cache,
    hwai_client *client,
    const hwai_credentials *creds,
    const char *region,
    const char *project_id,
    char **token_out,
    int64_t *expires_at_out,
    hwai_error **err)
{
    return hwai__token_get_within(
        cache, client, creds, region, project_id, NULL, token_out, expires_at_out, err);
}

/* Waits for another thread's fetch of the entry, up to 50 ms at a time so a
 * cancel or the deadline ends the wait. Returns HWAI_OK when the fetch ended. */
static hwai_status wait_for_fetch(
    hwai__token_cache *cache, token_entry *entry, const hwai__call_budget *budget, hwai_error **err)
{
    while (entry->fetching) {
        if (budget && hwai__cancel_is_set(budget->cancel)) {
            return hwai__error_set(
                err, HWAI_E_CANCELLED, "cancelled while waiting for an IAM token");
        }
        if (budget && budget->deadline_at_ms && hwai__monotonic_ms() >= budget->deadline_at_ms) {
            return hwai__error_set(
                err, HWAI_E_TIMEOUT,
                "timed out waiting for an IAM token: the call's deadline passed");
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cache->fetched, &cache->lock, &until);
    }
    return HWAI_OK;
}

hwai_status hwai__token_get_within(
    hwai__token_cache *cache,
    hwai_client *client,
    const hwai_credentials *creds,
    const char *region,
    const char *project_id,
    const hwai__call_budget *budget,
    char **token_out,
    int64_t *expires_at_out,
    hwai_error **err)
{
    if (token_out) {
        *token_out = NULL;
    }
    if (expires_at_out) {
        *expires_at_out = 0;
    }
    if (hwai__str_empty(project_id)) {
        project_id = NULL;
    }
    if (hwai__str_empty(region)) {
        region = NULL;
    }
    hwai_status status = check_token_args(cache, client, creds, region, project_id, token_out, err);
    if (status != HWAI_OK) {
        return status;
    }

    pthread_mutex_lock(&cache->lock);
    token_entry *entry = find_or_add_entry(cache, region, project_id);
    if (!entry) {
        pthread_mutex_unlock(&cache->lock);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory in the token cache");
    }
    for (;;) {
        int64_t now = (int64_t)cache->now();
        if (entry->token && now < entry->expires_at - HWAI__TOKEN_REFRESH_MARGIN_S) {
            status = copy_token(entry, token_out, expires_at_out, err);
            break;
        }
        if (!entry->fetching && entry->rejected_at &&
            now < entry->rejected_at + PASSWORD_REJECTION_HOLD_S) {
            status = error_copy_into(err, entry->last_status, entry->last_error);
            break;
        }
        if (!entry->fetching) {
            entry->fetching = true;
            status = fetch_for_entry(
                cache, entry, client, creds, budget, token_out, expires_at_out, err);
            break;
        }
        /* Another thread is fetching: wait and take its outcome, even a token
         * that is already inside the refresh margin, so waiters never start a
         * second request for the same scope. */
        uint64_t seen = entry->fetches_done;
        status = wait_for_fetch(cache, entry, budget, err);
        if (status != HWAI_OK) {
            break;
        }
        if (entry->fetches_done != seen) {
            if (entry->last_status != HWAI_OK) {
                status = error_copy_into(err, entry->last_status, entry->last_error);
            } else if (entry->token) {
                status = copy_token(entry, token_out, expires_at_out, err);
            } else {
                /* Invalidated right after the fetch: go round and fetch. */
                continue;
            }
            break;
        }
    }
    pthread_mutex_unlock(&cache->lock);
    return status;
}

void hwai__token_invalidate(
    hwai__token_cache *cache, const char *region, const char *project_id, const char *token)
{
    if (!cache || !token) {
        return;
    }
    if (hwai__str_empty(project_id)) {
        project_id = NULL;
    }
    if (hwai__str_empty(region)) {
        region = NULL;
    }
    pthread_mutex_lock(&cache->lock);
    token_entry *entry = find_entry(cache, region, project_id);
    if (entry && entry->token && strcmp(entry->token, token) == 0) {
        hwai__secret_free(entry->token);
        entry->token = NULL;
        entry->expires_at = 0;
    }
    pthread_mutex_unlock(&cache->lock);
}

/* ---- project id lookup ---- */

/* Project ids found through IAM, keyed by access key and region, for the life
 * of the process. Project ids do not change, so entries never expire. */
typedef struct project_entry {
    char *ak;
    char *region;
    char *project_id;
    struct project_entry *next;
} project_entry;

static pthread_mutex_t project_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static project_entry *project_cache;

/* Frees the cache when the library is unloaded or the process exits, so leak
 * checkers see no remaining blocks. */
__attribute__((destructor)) static void project_cache_free(void)
{
    pthread_mutex_lock(&project_cache_lock);
    while (project_cache) {
        project_entry *next = project_cache->next;
        free(project_cache->ak);
        free(project_cache->region);
        free(project_cache->project_id);
        free(project_cache);
        project_cache = next;
    }
    pthread_mutex_unlock(&project_cache_lock);
}

/* Returns a copy of the cached project id, or NULL. */
static char *project_cache_find(const char *ak, const char *region)
{
    char *found = NULL;
    pthread_mutex_lock(&project_cache_lock);
    for (project_entry *entry = project_cache; entry; entry = entry->next) {
        if (strcmp(entry->ak, ak) == 0 && strcmp(entry->region, region) == 0) {
            found = hwai__strdup(entry->project_id);
            break;
        }
    }
    pthread_mutex_unlock(&project_cache_lock);
    return found;
}

/* Adds an entry unless another thread added one meanwhile. Failing to cache
 * only costs a later lookup, so out of memory is ignored. */
static void project_cache_add(const char *ak, const char *region, const char *project_id)
{
    pthread_mutex_lock(&project_cache_lock);
    bool present = false;
    for (project_entry *entry = project_cache; entry && !present; entry = entry->next) {
        present = strcmp(entry->ak, ak) == 0 && strcmp(entry->region, region) == 0;
    }
    project_entry *entry = present ? NULL : calloc(1, sizeof(*entry));
    if (entry) {
        entry->ak = hwai__strdup(ak);
        entry->region = hwai__strdup(region);
        entry->project_id = hwai__strdup(project_id);
        if (entry->ak && entry->region && entry->project_id) {
            entry->next = project_cache;
            project_cache = entry;
        } else {
            free(entry->ak);
            free(entry->region);
            free(entry->project_id);
            free(entry);
        }
    }
    pthread_mutex_unlock(&project_cache_lock);
}

/* Picks the project whose name is exactly region from a GET /v3/projects
 * response. */
/* Project ids are short strings of letters, digits, '-' and '_' (32 hex digits
 * on Huawei Cloud); anything else would change the request path it fills. */
static bool project_id_valid(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > 64) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static hwai_status choose_project(
    const json_t *root,
    const char *region,
    int http_status,
    const char *request_id,
    char **project_id_out,
    hwai_error **err)
{
    json_t *projects = json_object_get(root, "projects");
    if (!json_is_array(projects)) {
        return hwai__error_set_http(
            err, HWAI_E_BAD_RESPONSE, http_status, NULL, request_id,
            "IAM project list response has no 'projects' array");
    }
    hwai__buf candidates = HWAI__BUF_INIT;
    const char *match = NULL;
    size_t exact = 0;
    size_t index;
    json_t *project;
    json_array_foreach(projects, index, project)
    {
        const char *id = hwai__json_str(project, "id");
        const char *name = hwai__json_str(project, "name");
        if (!id || !name) {
            continue;
        }
        hwai__buf_printf(&candidates, "%s%s '%s'", candidates.len ? ", " : "", id, name);
        if (strcmp(name, region) == 0) {
            exact++;
            match = id;
        }
    }
    hwai_status status = HWAI_OK;
    if (candidates.oom) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory reading the project list");
    } else if (exact == 1 && !project_id_valid(match)) {
        status = hwai__error_set_http(
            err, HWAI_E_BAD_RESPONSE, http_status, NULL, request_id,
            "IAM returned a malformed project id for '%s'; set the project id for the region "
            "in the client options",
            region);
    } else if (exact == 1) {
        *project_id_out = hwai__strdup(match);
        if (!*project_id_out) {
            status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying the project id");
        }
    } else if (candidates.len == 0) {
        status = hwai__error_set_http(
            err, HWAI_E_CONFIG, http_status, NULL, request_id,
            "IAM has no project named '%s' for these credentials: check the region, or set the "
            "project id for it in the client options",
            region);
    } else {
        status = hwai__error_set_http(
            err, HWAI_E_CONFIG, http_status, NULL, request_id,
            "IAM has %s project named '%s' (found: %s), so set the project id for the region "
            "in the client options",
            exact == 0 ? "no" : "more than one", region, candidates.data);
    }
    hwai__buf_cleanup(&candidates);
    return status;
}

hwai_status hwai__project_lookup(
    hwai_client *client,
    const hwai_credentials *creds,
    const char *region,
    char **project_id_out,
    hwai_error **err)
{
    return hwai__project_lookup_within(client, creds, region, NULL, project_id_out, err);
}

hwai_status hwai__project_lookup_within(
    hwai_client *client,
    const hwai_credentials *creds,
    const char *region,
    const hwai__call_budget *budget,
    char **project_id_out,
    hwai_error **err)
{
    if (!project_id_out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "project_id_out is NULL");
    }
    *project_id_out = NULL;
    if (!client) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "client is NULL");
    }
    if (!creds || creds->kind != HWAI_CREDENTIALS_AKSK) {
        return hwai__error_set(
            err, HWAI_E_CONFIG,
            "the project id can only be looked up with AK/SK credentials: set it in the client "
            "options");
    }
    if (hwai__str_empty(region)) {
        return hwai__error_set(
            err, HWAI_E_CONFIG, "looking up a project id needs a region: set the region option");
    }
    const char *ak = hwai_credentials_access_key_id(creds);
    *project_id_out = project_cache_find(ak, region);
    if (*project_id_out) {
        return HWAI_OK;
    }

    hwai__query query = HWAI__QUERY_INIT;
    hwai__http_response resp = HWAI__HTTP_RESPONSE_INIT;
    json_t *root = NULL;
    hwai_status status = HWAI_OK;
    if (!hwai__query_add(&query, "name", region)) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory building the project query");
        goto done;
    }
    hwai__call call = {
        .service = HWAI_SERVICE_IAM,
        .operation = "project lookup",
        .method = "GET",
        .path = "/v3/projects",
        .query = &query,
        .credentials = creds,
    };
    status = apply_budget(&call, budget, err);
    if (status == HWAI_OK) {
        status = hwai__pipeline_json(client, &call, &resp, &root, err);
    }
    if (status != HWAI_OK) {
        goto done;
    }
    const char *request_id = hwai__headers_get(&resp.headers, "X-IAM-Trace-Id");
    if (!request_id) {
        request_id = hwai__headers_get(&resp.headers, "X-Request-Id");
    }
    status = choose_project(root, region, resp.status, request_id, project_id_out, err);
    if (status == HWAI_OK) {
        project_cache_add(ak, region, *project_id_out);
        hwai__log(
            client, HWAI_LOG_INFO, "project id of region %s found through IAM: %s", region,
            *project_id_out);
    }
done:
    json_decref(root);
    hwai__http_response_cleanup(&resp);
    hwai__query_cleanup(&query);
    return status;
}
