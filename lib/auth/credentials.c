#include "auth/credentials_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error_internal.h"
#include "util/str.h"

/* An AK that a metadata refresh replaced. It stays allocated until the
 * credentials are freed, because hwai_credentials_access_key_id() promises a
 * pointer valid for their lifetime. Refreshes happen once per key lifetime
 * (hours), so the list stays short. */
typedef struct retired_ak {
    char *ak;
    struct retired_ak *next;
} retired_ak;

struct hwai__metadata_state {
    /* Guards ak, sk, security_token of the credentials, expires_at and retired. */
    pthread_mutex_t lock;
    char *url;
    uint32_t timeout_ms;
    int64_t expires_at;
    retired_ak *retired;
};

/* Returns the 1-based position of the first byte of value that cannot be sent
 * in a header value (a space, control character or non-ASCII byte), or 0. */
static size_t find_bad_header_char(const char *value)
{
    for (size_t i = 0; value[i]; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c <= 0x20 || c >= 0x7f) {
            return i + 1;
        }
    }
    return 0;
}

/* Checks that value is non-empty printable ASCII without spaces. AKs, tokens and API
 * keys travel in header values, where a CR or LF would inject a header. The message
 * names the parameter and the position, never the value. */
static hwai_status validate_header_text(const char *value, const char *name, hwai_error **err)
{
    if (!value) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is NULL", name);
    }
    if (!*value) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is empty", name);
    }
    size_t bad = find_bad_header_char(value);
    if (bad) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "%s is malformed: character %zu is a space, control character or not ASCII", name, bad);
    }
    return HWAI_OK;
}

static void metadata_state_free(hwai__metadata_state *md)
{
    if (!md) {
        return;
    }
    pthread_mutex_destroy(&md->lock);
    free(md->url);
    while (md->retired) {
        retired_ak *next = md->retired->next;
        hwai__secret_free(md->retired->ak);
        free(md->retired);
        md->retired = next;
    }
    free(md);
}

static void credentials_destroy(hwai_credentials *creds)
{
    hwai__secret_free(creds->ak);
    hwai__secret_free(creds->sk);
    hwai__secret_free(creds->security_token);
    hwai__secret_free(creds->api_key);
    free(creds->user_name);
    hwai__secret_free(creds->password);
    free(creds->domain_name);
    free(creds->iam_project_id);
    free(creds->source);
    free(creds->project_id);
    free(creds->domain_id);
    free(creds->iam_endpoint);
    metadata_state_free(creds->metadata);
    free(creds);
}

static hwai_credentials *credentials_alloc(hwai_credentials_kind kind)
{
    hwai_credentials *creds = calloc(1, sizeof(*creds));
    if (creds) {
        atomic_init(&creds->refs, 1);
        creds->kind = kind;
    }
    return creds;
}

hwai_status hwai_credentials_new_aksk(
    hwai_credentials **out,
    const char *ak,
    const char *sk,
    const char *security_token,
    hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "out is NULL");
    }
    *out = NULL;
    hwai_status status = validate_header_text(ak, "ak", err);
    if (status != HWAI_OK) {
        return status;
    }
    if (hwai__str_empty(sk)) {
        /* The SK is only an HMAC key, so any bytes are allowed. */
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "sk is %s", sk ? "empty" : "NULL");
    }
    /* An empty token counts as none, so a token read from an unset environment
     * variable does not fail. */
    bool has_token = !hwai__str_empty(security_token);
    if (has_token) {
        status = validate_header_text(security_token, "security_token", err);
        if (status != HWAI_OK) {
            return status;
        }
    }

    hwai_credentials *creds = credentials_alloc(HWAI_CREDENTIALS_AKSK);
    if (!creds) {
        goto nomem;
    }
    creds->ak = hwai__secret_dup(ak);
    creds->sk = hwai__secret_dup(sk);
    creds->security_token = has_token ? hwai__secret_dup(security_token) : NULL;
    if (!creds->ak || !creds->sk || (has_token && !creds->security_token)) {
        credentials_destroy(creds);
        goto nomem;
    }
    *out = creds;
    return HWAI_OK;
nomem:
    return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while creating credentials");
}

hwai_status
hwai_credentials_new_api_key(hwai_credentials **out, const char *api_key, hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "out is NULL");
    }
    *out = NULL;
    hwai_status status = validate_header_text(api_key, "api_key", err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai_credentials *creds = credentials_alloc(HWAI_CREDENTIALS_API_KEY);
    if (creds) {
        creds->api_key = hwai__secret_dup(api_key);
    }
    if (!creds || !creds->api_key) {
        free(creds);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while creating credentials");
    }
    *out = creds;
    return HWAI_OK;
}

static hwai_status require_option(const char *value, const char *name, hwai_error **err)
{
    if (hwai__str_empty(value)) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "hwai_iam_password_options.%s is %s but required", name,
            value ? "empty" : "NULL");
    }
    return HWAI_OK;
}

hwai_status hwai_credentials_new_iam_password(
    hwai_credentials **out, const hwai_iam_password_options *opts, hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "out is NULL");
    }
    *out = NULL;
    if (!opts) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "opts is NULL");
    }
    if (opts->version != HWAI_IAM_PASSWORD_OPTIONS_VERSION) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "hwai_iam_password_options version %u is unknown; this library supports %u",
            opts->version, (unsigned int)HWAI_IAM_PASSWORD_OPTIONS_VERSION);
    }
    hwai_status status = require_option(opts->user_name, "user_name", err);
    if (status == HWAI_OK) {
        status = require_option(opts->password, "password", err);
    }
    if (status == HWAI_OK) {
        status = require_option(opts->domain_name, "domain_name", err);
    }
    if (status != HWAI_OK) {
        return status;
    }
    /* The user and domain names travel inside a JSON body, so any text is
     * allowed. The project id becomes part of the scope, also in JSON. */
    bool has_project = !hwai__str_empty(opts->project_id);
    hwai_credentials *creds = credentials_alloc(HWAI_CREDENTIALS_IAM_PASSWORD);
    if (!creds) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while creating credentials");
    }
    creds->user_name = hwai__strdup(opts->user_name);
    creds->password = hwai__secret_dup(opts->password);
    creds->domain_name = hwai__strdup(opts->domain_name);
    creds->iam_project_id = has_project ? hwai__strdup(opts->project_id) : NULL;
    if (!creds->user_name || !creds->password || !creds->domain_name ||
        (has_project && !creds->iam_project_id)) {
        credentials_destroy(creds);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while creating credentials");
    }
    *out = creds;
    return HWAI_OK;
}

hwai_status hwai_credentials_new_none(hwai_credentials **out, hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "out is NULL");
    }
    *out = credentials_alloc(HWAI_CREDENTIALS_NONE);
    if (!*out) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while creating credentials");
    }
    return HWAI_OK;
}

/* Replaces *field with a copy of value; NULL or empty value leaves NULL. */
static bool set_optional(char **field, const char *value)
{
    free(*field);
    *field = NULL;
    if (hwai__str_empty(value)) {
        return true;
    }
    *field = hwai__strdup(value);
    return *field != NULL;
}

hwai_status hwai__credentials_set_origin(
    hwai_credentials *creds,
    const char *source,
    const char *project_id,
    const char *domain_id,
    const char *iam_endpoint)
{
    bool ok = set_optional(&creds->source, source);
    ok = set_optional(&creds->project_id, project_id) && ok;
    ok = set_optional(&creds->domain_id, domain_id) && ok;
    ok = set_optional(&creds->iam_endpoint, iam_endpoint) && ok;
    return ok ? HWAI_OK : HWAI_E_NOMEM;
}

void hwai__metadata_keys_cleanup(hwai__metadata_keys *keys)
{
    hwai__secret_free(keys->ak);
    hwai__secret_free(keys->sk);
    hwai__secret_free(keys->security_token);
    memset(keys, 0, sizeof(*keys));
}

/* Checks what the metadata service returned with the rules of explicit
 * AK/SK credentials. The message names the field, never its value. */
static hwai_status validate_metadata_keys(const hwai__metadata_keys *keys, hwai_error **err)
{
    const char *problem = NULL;
    if (hwai__str_empty(keys->ak)) {
        problem = "credential.access is missing or empty";
    } else if (find_bad_header_char(keys->ak)) {
        problem = "credential.access has a space, control character or non-ASCII byte";
    } else if (hwai__str_empty(keys->sk)) {
        problem = "credential.secret is missing or empty";
    } else if (keys->security_token && find_bad_header_char(keys->security_token)) {
        problem = "credential.securitytoken has a space, control character or non-ASCII byte";
    }
    if (problem) {
        return hwai__error_set(
            err, HWAI_E_AUTH, "instance metadata returned unusable credentials: %s", problem);
    }
    return HWAI_OK;
}

hwai_status hwai__credentials_new_metadata(
    hwai_credentials **out,
    const char *url,
    uint32_t timeout_ms,
    hwai__metadata_keys *keys,
    hwai_error **err)
{
    *out = NULL;
    hwai_status status = validate_metadata_keys(keys, err);
    if (status != HWAI_OK) {
        hwai__metadata_keys_cleanup(keys);
        return status;
    }
    hwai_credentials *creds = credentials_alloc(HWAI_CREDENTIALS_AKSK);
    hwai__metadata_state *md = calloc(1, sizeof(*md));
    char *url_copy = hwai__strdup(url);
    if (!creds || !md || !url_copy || pthread_mutex_init(&md->lock, NULL) != 0) {
        free(creds);
        free(md);
        free(url_copy);
        hwai__metadata_keys_cleanup(keys);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while creating credentials");
    }
    md->url = url_copy;
    md->timeout_ms = timeout_ms;
    md->expires_at = keys->expires_at;
    creds->metadata = md;
    creds->ak = keys->ak;
    creds->sk = keys->sk;
    creds->security_token = hwai__str_empty(keys->security_token) ? NULL : keys->security_token;
    if (!creds->security_token) {
        hwai__secret_free(keys->security_token);
    }
    memset(keys, 0, sizeof(*keys));
    *out = creds;
    return HWAI_OK;
}

/* Moves the error of a failed step into the caller's err. */
static void error_move(hwai_error **err, hwai_error *from)
{
    if (err) {
        hwai_error_free(*err);
        *err = from;
    } else {
        hwai_error_free(from);
    }
}

/* Renews the keys of metadata credentials when they expire within the
 * margin. Called with md->lock held; the lock is what makes a single thread
 * refresh while the others wait for its result. */
static hwai_status metadata_refresh_locked(hwai_credentials *creds, hwai_error **err)
{
    hwai__metadata_state *md = creds->metadata;
    int64_t now = (int64_t)time(NULL);
    if (now < md->expires_at - HWAI__METADATA_REFRESH_MARGIN_S) {
        return HWAI_OK;
    }
    hwai__metadata_keys keys = { 0 };
    hwai_error *fetch_err = NULL;
    hwai_status status = hwai__metadata_fetch(md->url, md->timeout_ms, &keys, &fetch_err);
    if (status == HWAI_OK) {
        status = validate_metadata_keys(&keys, &fetch_err);
    }
    if (status != HWAI_OK) {
        hwai__metadata_keys_cleanup(&keys);
        if (now < md->expires_at) {
            /* The old keys still work; a later call tries again. */
            hwai_error_free(fetch_err);
            return HWAI_OK;
        }
        error_move(err, fetch_err);
        return status;
    }
    retired_ak *old = malloc(sizeof(*old));
    if (!old) {
        hwai__metadata_keys_cleanup(&keys);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while renewing credentials");
    }
    old->ak = creds->ak;
    old->next = md->retired;
    md->retired = old;
    hwai__secret_free(creds->sk);
    hwai__secret_free(creds->security_token);
    creds->ak = keys.ak;
    creds->sk = keys.sk;
    creds->security_token = hwai__str_empty(keys.security_token) ? NULL : keys.security_token;
    if (!creds->security_token) {
        hwai__secret_free(keys.security_token);
    }
    md->expires_at = keys.expires_at;
    return HWAI_OK;
}

static hwai_status snapshot_copy(const hwai_credentials *creds, hwai__aksk_snapshot *out)
{
    out->ak = hwai__secret_dup(creds->ak);
    out->sk = hwai__secret_dup(creds->sk);
    out->security_token = hwai__secret_dup(creds->security_token);
    bool ok = out->ak && out->sk && (!creds->security_token || out->security_token);
    return ok ? HWAI_OK : HWAI_E_NOMEM;
}

hwai_status hwai__credentials_snapshot(
    const hwai_credentials *creds, hwai__aksk_snapshot *out, hwai_error **err)
{
    memset(out, 0, sizeof(*out));
    if (!creds || creds->kind != HWAI_CREDENTIALS_AKSK) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "credentials are not AK/SK credentials");
    }
    hwai_status status = HWAI_OK;
    /* Only the metadata keys change after creation; the lock makes that
     * change safe, so casting away const is sound here. */
    hwai_credentials *mutable_creds = (hwai_credentials *)creds;
    hwai__metadata_state *md = mutable_creds->metadata;
    if (md) {
        pthread_mutex_lock(&md->lock);
        status = metadata_refresh_locked(mutable_creds, err);
    }
    if (status == HWAI_OK && snapshot_copy(creds, out) != HWAI_OK) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying credentials");
    }
    if (md) {
        pthread_mutex_unlock(&md->lock);
    }
    if (status != HWAI_OK) {
        hwai__aksk_snapshot_cleanup(out);
    }
    return status;
}

void hwai__aksk_snapshot_cleanup(hwai__aksk_snapshot *snap)
{
    hwai__secret_free(snap->ak);
    hwai__secret_free(snap->sk);
    hwai__secret_free(snap->security_token);
    memset(snap, 0, sizeof(*snap));
}

hwai_credentials_kind hwai_credentials_get_kind(const hwai_credentials *creds)
{
    return creds ? creds->kind : (hwai_credentials_kind)0;
}

const char *hwai_credentials_source(const hwai_credentials *creds)
{
    if (!creds) {
        return NULL;
    }
    return creds->source ? creds->source : "explicit";
}

const char *hwai_credentials_project_id(const hwai_credentials *creds)
{
    return creds ? creds->project_id : NULL;
}

const char *hwai_credentials_access_key_id(const hwai_credentials *creds)
{
    if (!creds || creds->kind != HWAI_CREDENTIALS_AKSK) {
        return NULL;
    }
    if (!creds->metadata) {
        return creds->ak;
    }
    /* A refresh moves the old AK to the retired list instead of freeing it, so
     * the pointer stays valid after the lock is released. */
    pthread_mutex_lock(&creds->metadata->lock);
    const char *ak = creds->ak;
    pthread_mutex_unlock(&creds->metadata->lock);
    return ak;
}

hwai_credentials *hwai__credentials_ref(const hwai_credentials *creds)
{
    /* The count is the one mutable field of an otherwise immutable object. */
    hwai_credentials *mutable_creds = (hwai_credentials *)creds;
    if (mutable_creds) {
        atomic_fetch_add_explicit(&mutable_creds->refs, 1, memory_order_relaxed);
    }
    return mutable_creds;
}

void hwai_credentials_free(hwai_credentials *creds)
{
    if (!creds) {
        return;
    }
    /* Release ordering makes every thread's use happen before the wipe, and the
     * acquire fence makes the last thread see those uses. */
    if (atomic_fetch_sub_explicit(&creds->refs, 1, memory_order_release) == 1) {
        atomic_thread_fence(memory_order_acquire);
        credentials_destroy(creds);
    }
}

/* Days from 1970-01-01 to the first day of the given month (1-12) of year,
 * for years from 1970 on. */
static int64_t days_before_month(int64_t year, int month)
{
    static const int cumulative[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
    /* Leap days in the years [1, y]: every 4th year, except centuries that are
     * not divisible by 400. */
    int64_t prior = year - 1;
    int64_t leaps_before = prior / 4 - prior / 100 + prior / 400;
    int64_t leaps_before_1970 = 1969 / 4 - 1969 / 100 + 1969 / 400;
    int64_t days = (year - 1970) * 365 + (leaps_before - leaps_before_1970);
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    days += cumulative[month - 1];
    if (leap && month > 2) {
        days++;
    }
    return days;
}

static int days_in_month(int64_t year, int month)
{
    static const int lengths[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : lengths[month - 1];
}

/* Reads exactly count decimal digits at *pos and advances past them. */
static bool read_digits(const char **pos, int count, int *value)
{
    int result = 0;
    for (int i = 0; i < count; i++) {
        char c = (*pos)[i];
        if (c < '0' || c > '9') {
            return false;
        }
        result = result * 10 + (c - '0');
    }
    *pos += count;
    *value = result;
    return true;
}

static bool expect_char(const char **pos, char c)
{
    if (**pos != c) {
        return false;
    }
    (*pos)++;
    return true;
}

bool hwai__parse_utc_time(const char *text, int64_t *out)
{
    if (!text) {
        return false;
    }
    const char *pos = text;
    int year, month, day, hour, minute, second;
    bool ok = read_digits(&pos, 4, &year) && expect_char(&pos, '-') &&
              read_digits(&pos, 2, &month) && expect_char(&pos, '-') &&
              read_digits(&pos, 2, &day) && (expect_char(&pos, 'T') || expect_char(&pos, 't')) &&
              read_digits(&pos, 2, &hour) && expect_char(&pos, ':') &&
              read_digits(&pos, 2, &minute) && expect_char(&pos, ':') &&
              read_digits(&pos, 2, &second);
    if (!ok) {
        return false;
    }
    if (*pos == '.') {
        pos++;
        const char *digits = pos;
        while (*pos >= '0' && *pos <= '9') {
            pos++;
        }
        if (pos == digits) {
            return false;
        }
    }
    if (strcmp(pos, "Z") != 0 && strcmp(pos, "z") != 0 && strcmp(pos, "+00:00") != 0) {
        return false;
    }
    /* Second 60 is a leap second, which the epoch count folds into the next
     * minute like POSIX time does. */
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
        hour > 23 || minute > 59 || second > 60) {
        return false;
    }
    int64_t days = days_before_month(year, month) + (day - 1);
    *out = days * 86400 + (int64_t)hour * 3600 + (int64_t)minute * 60 + second;
    return true;
}

hwai_status hwai_iam_password_options_init(hwai_iam_password_options *opts, unsigned int version)
{
    if (!opts || version != HWAI_IAM_PASSWORD_OPTIONS_VERSION) {
        return HWAI_E_INVALID_ARG;
    }
    hwai_iam_password_options init = HWAI_IAM_PASSWORD_OPTIONS_INIT;
    *opts = init;
    return HWAI_OK;
}
