/* The credential chain: environment variables, the profile file, and
 * (when turned on) the instance metadata service, tried in that order. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/credentials_internal.h"
#include "core/error_internal.h"
#include "crypto/crypto.h"
#include "json/json.h"
#include "transport/curl_global.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/url.h"

#define ENV_AK "HUAWEICLOUD_SDK_AK"
#define ENV_SK "HUAWEICLOUD_SDK_SK"
#define ENV_SECURITY_TOKEN "HUAWEICLOUD_SDK_SECURITY_TOKEN"
#define ENV_PROJECT_ID "HUAWEICLOUD_SDK_PROJECT_ID"
#define ENV_DOMAIN_ID "HUAWEICLOUD_SDK_DOMAIN_ID"
#define ENV_CREDENTIALS_FILE "HUAWEICLOUD_SDK_CREDENTIALS_FILE"
#define DEFAULT_PROFILE_SUBPATH "/.huaweicloud/credentials"

/* A credentials file is a few hundred bytes; anything near this size is not one. */
#define PROFILE_MAX_BYTES (1024 * 1024)
/* Metadata responses are small JSON documents. */
#define METADATA_MAX_BODY_BYTES (64 * 1024)
/* Lifetime asked for the metadata session token: 6 hours, the maximum the
 * metadata service grants and what the official SDKs request. */
#define METADATA_TOKEN_TTL_HEADER "X-Metadata-Token-Ttl-Seconds: 21600"

/* An environment variable's value; an empty value counts as unset. */
static const char *env_value(const char *name)
{
    const char *value = getenv(name);
    return hwai__str_empty(value) ? NULL : value;
}

/* Appends one provider's outcome to the list that the final "not found"
 * message shows. */
static void note_tried(hwai__buf *tried, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note_tried(hwai__buf *tried, const char *fmt, ...)
{
    if (tried->len > 0) {
        hwai__buf_append_str(tried, "; ");
    }
    va_list args;
    va_start(args, fmt);
    hwai__buf_vprintf(tried, fmt, args);
    va_end(args);
}

/* ---- environment ---- */

static hwai_status try_environment(hwai_credentials **out, hwai__buf *tried, hwai_error **err)
{
    const char *ak = env_value(ENV_AK);
    const char *sk = env_value(ENV_SK);
    if (!ak && !sk) {
        note_tried(tried, "environment: %s", ENV_AK " and " ENV_SK " are not set");
        return HWAI_OK;
    }
    if (!ak || !sk) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "%s is set but %s is missing or empty: set both or neither",
            ak ? ENV_AK : ENV_SK, ak ? ENV_SK : ENV_AK);
    }
    hwai_status status = hwai_credentials_new_aksk(out, ak, sk, env_value(ENV_SECURITY_TOKEN), err);
    if (status != HWAI_OK) {
        hwai__error_prefix(
            err, "invalid credentials in " ENV_AK ", " ENV_SK " or " ENV_SECURITY_TOKEN);
        return status;
    }
    status = hwai__credentials_set_origin(
        *out, "environment", env_value(ENV_PROJECT_ID), env_value(ENV_DOMAIN_ID), NULL);
    if (status != HWAI_OK) {
        hwai_credentials_free(*out);
        *out = NULL;
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while creating credentials");
    }
    return HWAI_OK;
}

/* ---- profile file ---- */

typedef struct profile_section {
    bool present;
    char *ak;
    char *sk;
    char *security_token;
    char *project_id;
    char *domain_id;
    char *iam_endpoint;
} profile_section;

typedef struct profile {
    const char *path;
    profile_section basic;
    profile_section global;
} profile;

static void profile_section_cleanup(profile_section *section)
{
    /* Every value may be a secret or sit next to one; wipe them all. */
    hwai__secret_free(section->ak);
    hwai__secret_free(section->sk);
    hwai__secret_free(section->security_token);
    hwai__secret_free(section->project_id);
    hwai__secret_free(section->domain_id);
    hwai__secret_free(section->iam_endpoint);
    memset(section, 0, sizeof(*section));
}

/* The field that a key sets, or NULL for keys the SDK does not use (such as
 * idp_id and id_token_file of federated login). Keys ignore ASCII case, as
 * Python's configparser does. */
static char **section_field(profile_section *section, const char *key)
{
    static const struct {
        const char *key;
        size_t offset;
    } fields[] = {
        { "ak", offsetof(profile_section, ak) },
        { "sk", offsetof(profile_section, sk) },
        { "security_token", offsetof(profile_section, security_token) },
        { "project_id", offsetof(profile_section, project_id) },
        { "domain_id", offsetof(profile_section, domain_id) },
        { "iam_endpoint", offsetof(profile_section, iam_endpoint) },
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (hwai__strcasecmp(key, fields[i].key) == 0) {
            return (char **)((char *)section + fields[i].offset);
        }
    }
    return NULL;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trims blanks (CR included, for files with CRLF line ends) in place. */
static char *trim(char *text)
{
    while (is_blank(*text)) {
        text++;
    }
    size_t len = strlen(text);
    while (len > 0 && is_blank(text[len - 1])) {
        text[--len] = '\0';
    }
    return text;
}

static hwai_status
malformed_line(const profile *prof, size_t line_no, const char *why, hwai_error **err)
{
    /* The line itself is never quoted: it may hold a secret. */
    return hwai__error_set(
        err, HWAI_E_INVALID_ARG, "profile file %s, line %zu: %s", prof->path, line_no, why);
}

/* Applies one trimmed, non-empty, non-comment line. *section is the section
 * that key lines go to: NULL before the first header, or a scratch section
 * for sections the SDK ignores. */
static hwai_status parse_line(
    profile *prof,
    char *line,
    size_t line_no,
    profile_section **section,
    profile_section *ignored,
    hwai_error **err)
{
    if (line[0] == '[') {
        size_t len = strlen(line);
        if (line[len - 1] != ']') {
            return malformed_line(prof, line_no, "section header without a closing ']'", err);
        }
        line[len - 1] = '\0';
        const char *name = trim(line + 1);
        if (strcmp(name, "basic") == 0) {
            *section = &prof->basic;
        } else if (strcmp(name, "global") == 0) {
            *section = &prof->global;
        } else {
            *section = ignored;
        }
        (*section)->present = true;
        return HWAI_OK;
    }
    /* configparser accepts both "key = value" and "key: value"; the first
     * delimiter splits, so values may contain '=' and ':'. */
    size_t key_len = strcspn(line, "=:");
    if (line[key_len] == '\0') {
        return malformed_line(prof, line_no, "expected '[section]' or 'key = value'", err);
    }
    if (!*section) {
        return malformed_line(prof, line_no, "key outside of a section", err);
    }
    char *value = trim(line + key_len + 1);
    line[key_len] = '\0';
    const char *key = trim(line);
    if (!*key) {
        return malformed_line(prof, line_no, "empty key", err);
    }
    char **field = section_field(*section, key);
    if (!field) {
        return HWAI_OK;
    }
    /* A repeated key replaces the earlier value. */
    hwai__secret_free(*field);
    *field = hwai__secret_dup(value);
    if (!*field) {
        return hwai__error_set(
            err, HWAI_E_NOMEM, "out of memory reading profile file %s", prof->path);
    }
    return HWAI_OK;
}

/* Parses the file contents in place. Comments start with '#' or ';' at the
 * start of a line; there are no inline comments, since values may contain
 * those characters. */
static hwai_status parse_profile(profile *prof, char *data, hwai_error **err)
{
    profile_section ignored = { 0 };
    profile_section *section = NULL;
    hwai_status status = HWAI_OK;
    char *cursor = data;
    /* A UTF-8 byte order mark, as some Windows editors write. */
    if (strncmp(cursor, "\xef\xbb\xbf", 3) == 0) {
        cursor += 3;
    }
    for (size_t line_no = 1; status == HWAI_OK && *cursor; line_no++) {
        char *newline = strchr(cursor, '\n');
        char *next = newline ? newline + 1 : cursor + strlen(cursor);
        if (newline) {
            *newline = '\0';
        }
        char *line = trim(cursor);
        if (*line && *line != '#' && *line != ';') {
            status = parse_line(prof, line, line_no, &section, &ignored, err);
        }
        cursor = next;
    }
    profile_section_cleanup(&ignored);
    return status;
}

/* Reads the whole file into buf. A file that does not exist sets *missing. */
static hwai_status read_profile(const char *path, hwai__buf *buf, bool *missing, hwai_error **err)
{
    *missing = false;
    FILE *file = fopen(path, "rb");
    if (!file) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *missing = true;
            return HWAI_OK;
        }
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "cannot open profile file %s: %s", path, strerror(errno));
    }
    hwai_status status = HWAI_OK;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), file)) > 0) {
        if (buf->len + got > PROFILE_MAX_BYTES) {
            status = hwai__error_set(
                err, HWAI_E_INVALID_ARG,
                "profile file %s is larger than %d bytes; it is not a credentials file", path,
                PROFILE_MAX_BYTES);
            break;
        }
        if (!hwai__buf_append(buf, chunk, got)) {
            status =
                hwai__error_set(err, HWAI_E_NOMEM, "out of memory reading profile file %s", path);
            break;
        }
    }
    if (status == HWAI_OK && ferror(file)) {
        status = hwai__error_set(err, HWAI_E_INVALID_ARG, "cannot read profile file %s", path);
    }
    hwai__zeroize(chunk, sizeof(chunk));
    fclose(file);
    if (status == HWAI_OK && buf->len > 0 && strlen(buf->data) != buf->len) {
        status = hwai__error_set(
            err, HWAI_E_INVALID_ARG, "profile file %s contains a NUL byte; it is not a text file",
            path);
    }
    return status;
}

/* The section to take credentials from: [basic] when it has an AK or SK,
 * else [global]; NULL when neither has. */
static const profile_section *pick_section(const profile *prof, const char **name_out)
{
    if (prof->basic.ak || prof->basic.sk) {
        *name_out = "basic";
        return &prof->basic;
    }
    if (prof->global.ak || prof->global.sk) {
        *name_out = "global";
        return &prof->global;
    }
    return NULL;
}

static hwai_status credentials_from_section(
    const profile *prof,
    const profile_section *section,
    const char *name,
    hwai_credentials **out,
    hwai_error **err)
{
    if (hwai__str_empty(section->ak) || hwai__str_empty(section->sk)) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "profile file %s: section [%s] has %s but no %s", prof->path,
            name, hwai__str_empty(section->ak) ? "sk" : "ak",
            hwai__str_empty(section->ak) ? "ak" : "sk");
    }
    hwai_status status =
        hwai_credentials_new_aksk(out, section->ak, section->sk, section->security_token, err);
    if (status != HWAI_OK) {
        hwai__buf context = HWAI__BUF_INIT;
        hwai__buf_printf(&context, "profile file %s, section [%s]", prof->path, name);
        hwai__error_prefix(err, context.data ? context.data : "profile file");
        hwai__buf_cleanup(&context);
        return status;
    }
    hwai__buf source = HWAI__BUF_INIT;
    hwai__buf_printf(&source, "profile file %s", prof->path);
    status = source.oom ? HWAI_E_NOMEM
                        : hwai__credentials_set_origin(
                              *out, source.data, section->project_id, section->domain_id,
                              section->iam_endpoint);
    hwai__buf_cleanup(&source);
    if (status != HWAI_OK) {
        hwai_credentials_free(*out);
        *out = NULL;
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while creating credentials");
    }
    return HWAI_OK;
}

/* Appends the profile path to read, or leaves path empty when there is none
 * (no option, no variable and no HOME). */
static void profile_path(const hwai_credentials_chain_options *opts, hwai__buf *path)
{
    if (!hwai__str_empty(opts->profile_path)) {
        hwai__buf_append_str(path, opts->profile_path);
    } else if (env_value(ENV_CREDENTIALS_FILE)) {
        hwai__buf_append_str(path, env_value(ENV_CREDENTIALS_FILE));
    } else if (env_value("HOME")) {
        hwai__buf_printf(path, "%s%s", env_value("HOME"), DEFAULT_PROFILE_SUBPATH);
    }
}

static hwai_status try_profile(
    const hwai_credentials_chain_options *opts,
    hwai_credentials **out,
    hwai__buf *tried,
    hwai_error **err)
{
    hwai__buf path = HWAI__BUF_INIT;
    hwai__buf data = HWAI__BUF_INIT;
    profile prof = { 0 };
    bool missing = false;
    const char *name = NULL;
    const profile_section *section = NULL;
    hwai_status status = HWAI_OK;
    profile_path(opts, &path);
    if (path.oom) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory building the profile path");
        goto done;
    }
    if (path.len == 0) {
        note_tried(
            tried, "profile file: %s",
            "none, because HOME and " ENV_CREDENTIALS_FILE " are not set");
        goto done;
    }
    prof.path = path.data;
    status = read_profile(path.data, &data, &missing, err);
    if (status != HWAI_OK) {
        goto done;
    }
    if (missing) {
        note_tried(tried, "profile file: %s not found", path.data);
        goto done;
    }
    if (data.len > 0) {
        status = parse_profile(&prof, data.data, err);
    }
    if (status != HWAI_OK) {
        goto done;
    }
    section = pick_section(&prof, &name);
    if (!section) {
        note_tried(
            tried, "profile file: %s has no [basic] or [global] section with ak and sk", path.data);
        goto done;
    }
    status = credentials_from_section(&prof, section, name, out, err);
done:
    profile_section_cleanup(&prof.basic);
    profile_section_cleanup(&prof.global);
    hwai__buf_cleanup_secret(&data);
    hwai__buf_cleanup(&path);
    return status;
}

/* ---- instance metadata ---- */

typedef struct metadata_body {
    hwai__buf data;
    bool too_large;
} metadata_body;

static size_t collect_metadata_body(char *data, size_t size, size_t count, void *user)
{
    metadata_body *body = user;
    size_t len = size * count;
    if (body->data.len + len > METADATA_MAX_BODY_BYTES) {
        body->too_large = true;
        return 0;
    }
    return hwai__buf_append(&body->data, data, len) ? len : 0;
}

/* Wipes header lines before freeing them: one may carry the session token. */
static void free_header_list(struct curl_slist *list)
{
    for (struct curl_slist *item = list; item; item = item->next) {
        hwai__zeroize(item->data, strlen(item->data));
    }
    curl_slist_free_all(list);
}

static hwai_status map_curl_error(
    CURLcode rc,
    const metadata_body *body,
    const char *method,
    const char *url,
    const char *detail,
    hwai_error **err)
{
    if (body->too_large) {
        return hwai__error_set(
            err, HWAI_E_AUTH, "%s %s: response larger than %d bytes", method, url,
            METADATA_MAX_BODY_BYTES);
    }
    const char *text = *detail ? detail : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        return hwai__error_set(
            err, HWAI_E_CONNECT, "%s %s: could not connect: %s", method, url, text);
    case CURLE_OPERATION_TIMEDOUT:
        return hwai__error_set(err, HWAI_E_TIMEOUT, "%s %s: timed out: %s", method, url, text);
    case CURLE_OUT_OF_MEMORY: return hwai__error_set(err, HWAI_E_NOMEM, "out of memory in libcurl");
    default: return hwai__error_set(err, HWAI_E_TRANSPORT, "%s %s failed: %s", method, url, text);
    }
}

/* Sends one metadata request with its own easy handle: metadata is read at
 * creation and about once per key lifetime after that, so sharing the
 * client's connection pool would gain nothing. Proxies from the environment
 * are never used, because the metadata service is only reachable directly. */
static hwai_status metadata_request(
    const char *method,
    const char *url,
    const char *header,
    uint32_t timeout_ms,
    long *http_status,
    metadata_body *body,
    hwai_error **err)
{
    *http_status = 0;
    CURL *easy = curl_easy_init();
    if (!easy) {
        return hwai__error_set(err, HWAI_E_NOMEM, "could not create a libcurl handle");
    }
    /* "Content-Type:" with no value stops libcurl from adding a form type to
     * the empty PUT. */
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type:");
    struct curl_slist *more = headers && header ? curl_slist_append(headers, header) : headers;
    if (!more) {
        free_header_list(headers);
        curl_easy_cleanup(easy);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory building request headers");
    }
    headers = more;
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(easy, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect_metadata_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, detail);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, 0L);
    } else {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(easy);
    hwai_status status = HWAI_OK;
    if (rc != CURLE_OK) {
        status = map_curl_error(rc, body, method, url, detail, err);
    } else if (body->data.oom) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory reading the metadata response");
    } else {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, http_status);
    }
    curl_easy_cleanup(easy);
    free_header_list(headers);
    return status;
}

/* Gets a metadata session token into header_out as a complete
 * "X-Metadata-Token: ..." line, or leaves it empty when the service has no
 * session tokens (404, 405 or 503, as older metadata services respond). */
static hwai_status
fetch_session_token(const char *base, uint32_t timeout_ms, hwai__buf *header_out, hwai_error **err)
{
    hwai__buf url = HWAI__BUF_INIT;
    metadata_body body = { HWAI__BUF_INIT, false };
    long http_status = 0;
    hwai__buf_printf(&url, "%s/meta-data/latest/api/token", base);
    hwai_status status = url.oom ? hwai__error_set(err, HWAI_E_NOMEM, "out of memory")
                                 : metadata_request(
                                       "PUT", url.data, METADATA_TOKEN_TTL_HEADER, timeout_ms,
                                       &http_status, &body, err);
    if (status != HWAI_OK) {
        goto done;
    }
    if (http_status == 404 || http_status == 405 || http_status == 503) {
        goto done;
    }
    if (http_status != 200) {
        status = hwai__error_set(
            err, HWAI_E_AUTH, "PUT %s failed with HTTP %ld (expected 200)", url.data, http_status);
        goto done;
    }
    const char *token = body.data.len > 0 ? trim(body.data.data) : "";
    bool usable = *token != '\0';
    for (const char *c = token; usable && *c; c++) {
        usable = (unsigned char)*c > 0x20 && (unsigned char)*c < 0x7f;
    }
    if (!usable) {
        status = hwai__error_set(
            err, HWAI_E_AUTH, "PUT %s returned an empty or malformed session token", url.data);
        goto done;
    }
    hwai__buf_printf(header_out, "X-Metadata-Token: %s", token);
    if (header_out->oom) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory");
    }
done:
    hwai__buf_cleanup_secret(&body.data);
    hwai__buf_cleanup(&url);
    return status;
}

/* Overwrites the text of a jansson string in place, so the secret does not
 * stay in freed memory. The buffer belongs to the string object, which is
 * never const itself. */
static void wipe_json_string(json_t *value)
{
    if (json_is_string(value)) {
        hwai__zeroize((char *)json_string_value(value), json_string_length(value));
    }
}

static hwai_status
parse_security_key(const char *url, hwai__buf *body, hwai__metadata_keys *out, hwai_error **err)
{
    json_t *root = NULL;
    hwai_status status =
        hwai__json_parse(body->data ? body->data : "", body->len, HWAI__JSON_MAX_DEPTH, &root, err);
    if (status != HWAI_OK) {
        /* The parser's message has a position and reason, never the text. */
        hwai__error_prefix(err, "instance metadata security key response");
        return HWAI_E_AUTH;
    }
    json_t *credential = hwai__json_obj(root, "credential");
    json_t *access = json_object_get(credential, "access");
    json_t *secret = json_object_get(credential, "secret");
    json_t *token = json_object_get(credential, "securitytoken");
    const char *expires_at = hwai__json_str(credential, "expires_at");
    if (!json_is_string(access) || !json_is_string(secret)) {
        status = hwai__error_set(
            err, HWAI_E_AUTH, "GET %s returned no credential.access and credential.secret", url);
    } else if (!hwai__parse_utc_time(expires_at, &out->expires_at)) {
        status = hwai__error_set(
            err, HWAI_E_AUTH,
            "GET %s returned no credential.expires_at in the form "
            "YYYY-MM-DDTHH:MM:SS[.ffffff]Z",
            url);
    } else {
        out->ak = hwai__secret_dup(json_string_value(access));
        out->sk = hwai__secret_dup(json_string_value(secret));
        out->security_token =
            json_is_string(token) ? hwai__secret_dup(json_string_value(token)) : NULL;
        if (!out->ak || !out->sk || (json_is_string(token) && !out->security_token)) {
            status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory copying credentials");
        }
    }
    /* NOTE: jansson's lexer and libcurl's receive buffer may keep copies of
     * these values in freed memory. Only the parsed strings and the copies
     * made here are wiped. */
    wipe_json_string(access);
    wipe_json_string(secret);
    wipe_json_string(token);
    json_decref(root);
    return status;
}

hwai_status hwai__metadata_fetch(
    const char *url, uint32_t timeout_ms, hwai__metadata_keys *out, hwai_error **err)
{
    memset(out, 0, sizeof(*out));
    hwai_status status = hwai__curl_global_init(err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai__buf base = HWAI__BUF_INIT;
    hwai__buf token_header = HWAI__BUF_INIT;
    hwai__buf key_url = HWAI__BUF_INIT;
    metadata_body body = { HWAI__BUF_INIT, false };
    size_t base_len = strlen(url);
    while (base_len > 0 && url[base_len - 1] == '/') {
        base_len--;
    }
    hwai__buf_append(&base, url, base_len);
    hwai__buf_printf(&key_url, "%s/openstack/latest/securitykey", base.data ? base.data : "");
    if (base.oom || key_url.oom) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory building metadata URLs");
        goto done;
    }
    status = fetch_session_token(base.data, timeout_ms, &token_header, err);
    if (status != HWAI_OK) {
        goto done;
    }
    long http_status = 0;
    status = metadata_request(
        "GET", key_url.data, token_header.len > 0 ? token_header.data : NULL, timeout_ms,
        &http_status, &body, err);
    if (status != HWAI_OK) {
        goto done;
    }
    if (http_status != 200) {
        status = hwai__error_set(
            err, HWAI_E_AUTH, "GET %s failed with HTTP %ld (expected 200)", key_url.data,
            http_status);
        goto done;
    }
    status = parse_security_key(key_url.data, &body.data, out, err);
done:
    if (status != HWAI_OK) {
        hwai__metadata_keys_cleanup(out);
    }
    hwai__buf_cleanup_secret(&body.data);
    hwai__buf_cleanup_secret(&token_header);
    hwai__buf_cleanup(&key_url);
    hwai__buf_cleanup(&base);
    return status;
}

/* A metadata failure is not fatal to the chain: it is listed in the final
 * "no credentials found" message instead, as the other providers are. */
static hwai_status try_metadata(
    const hwai_credentials_chain_options *opts,
    hwai_credentials **out,
    hwai__buf *tried,
    hwai_error **err)
{
    if (!opts->use_metadata) {
        note_tried(tried, "instance metadata: %s", "off (only queried when turned on)");
        return HWAI_OK;
    }
    uint32_t timeout_ms =
        opts->metadata_timeout_ms ? opts->metadata_timeout_ms : HWAI__METADATA_DEFAULT_TIMEOUT_MS;
    hwai__metadata_keys keys;
    hwai_error *fetch_err = NULL;
    hwai_status status = hwai__metadata_fetch(opts->metadata_url, timeout_ms, &keys, &fetch_err);
    if (status == HWAI_OK) {
        status =
            hwai__credentials_new_metadata(out, opts->metadata_url, timeout_ms, &keys, &fetch_err);
    }
    if (status == HWAI_E_NOMEM) {
        hwai_error_free(fetch_err);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory reading instance metadata");
    }
    if (status != HWAI_OK) {
        note_tried(tried, "instance metadata: %s", hwai_error_message(fetch_err));
        hwai_error_free(fetch_err);
        return HWAI_OK;
    }
    hwai__buf source = HWAI__BUF_INIT;
    hwai__buf_printf(&source, "instance metadata %s", opts->metadata_url);
    status = source.oom ? HWAI_E_NOMEM
                        : hwai__credentials_set_origin(*out, source.data, NULL, NULL, NULL);
    hwai__buf_cleanup(&source);
    if (status != HWAI_OK) {
        hwai_credentials_free(*out);
        *out = NULL;
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while creating credentials");
    }
    return HWAI_OK;
}

/* ---- the chain ---- */

static hwai_status check_chain_options(const hwai_credentials_chain_options *opts, hwai_error **err)
{
    if (opts->version != HWAI_CREDENTIALS_CHAIN_OPTIONS_VERSION) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "hwai_credentials_chain_options version %u is unknown; this library supports %u",
            opts->version, (unsigned int)HWAI_CREDENTIALS_CHAIN_OPTIONS_VERSION);
    }
    if (!opts->use_metadata) {
        return HWAI_OK;
    }
    if (hwai__str_empty(opts->metadata_url)) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "use_metadata is set but metadata_url is empty: give the metadata service's base "
            "URL, such as http://169.254.169.254");
    }
    /* Plain http is accepted for any host: the caller named this URL, and
     * metadata services listen on a link-local address without TLS. */
    hwai__url parsed = { 0 };
    hwai_status status = hwai__url_parse(&parsed, opts->metadata_url, err);
    hwai__url_cleanup(&parsed);
    if (status != HWAI_OK) {
        hwai__error_prefix(err, "metadata_url");
    }
    return status;
}

hwai_status hwai_credentials_new_from_chain(
    hwai_credentials **out, const hwai_credentials_chain_options *opts, hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "out is NULL");
    }
    *out = NULL;
    const hwai_credentials_chain_options defaults = HWAI_CREDENTIALS_CHAIN_OPTIONS_INIT;
    if (!opts) {
        opts = &defaults;
    }
    hwai_status status = check_chain_options(opts, err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai__buf tried = HWAI__BUF_INIT;
    status = try_environment(out, &tried, err);
    if (status == HWAI_OK && !*out) {
        status = try_profile(opts, out, &tried, err);
    }
    if (status == HWAI_OK && !*out) {
        status = try_metadata(opts, out, &tried, err);
    }
    if (status == HWAI_OK && !*out) {
        status = hwai__error_set(
            err, HWAI_E_AUTH, "no credentials found: %s",
            tried.oom || !tried.data ? "out of memory listing the providers" : tried.data);
    }
    hwai__buf_cleanup(&tried);
    return status;
}

hwai_status
hwai_credentials_chain_options_init(hwai_credentials_chain_options *opts, unsigned int version)
{
    if (!opts || version != HWAI_CREDENTIALS_CHAIN_OPTIONS_VERSION) {
        return HWAI_E_INVALID_ARG;
    }
    hwai_credentials_chain_options init = HWAI_CREDENTIALS_CHAIN_OPTIONS_INIT;
    *opts = init;
    return HWAI_OK;
}
