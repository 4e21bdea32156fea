/* Huawei Cloud AK/SK request signing. The canonical request follows the rules of
 * the official Python SDK's signer (huaweicloudsdkcore/signer/signer.py in
 * huaweicloud-sdk-python-v3), which tests/data/sign-vectors.jsonl records:
 *
 *   METHOD \n canonical URI \n canonical query \n canonical headers \n
 *   signed header list \n payload hash
 *
 * The string to sign is the algorithm name, the X-Sdk-Date value and the hex hash of
 * the canonical request, one per line (V11 adds its scope line before the hash). */
#include "auth/signer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "crypto/crypto.h"
#include "util/buf.h"
#include "util/str.h"

#define DIGEST_HEX_LEN 64
#define SDK_DATE_LEN 16 /* YYYYMMDDTHHMMSSZ */
#define SDK_DATE_FORMAT "YYYYMMDDTHHMMSSZ"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef struct sign_algorithm {
    hwai_sign_algorithm id;
    const char *name;
    /* Header whose value replaces the body hash, such as UNSIGNED-PAYLOAD. */
    const char *content_header;
    bool uses_sm3;
    /* V11 signs with a key derived for one scope (date, region, service). */
    bool derives_key;
} sign_algorithm;

static const sign_algorithm algorithms[] = {
    { HWAI_SIGN_SDK_HMAC_SHA256, "SDK-HMAC-SHA256", "X-Sdk-Content-Sha256", false, false },
    { HWAI_SIGN_V11_HMAC_SHA256, "V11-HMAC-SHA256", "X-Sdk-Content-Sha256", false, true },
    { HWAI_SIGN_SDK_HMAC_SM3, "SDK-HMAC-SM3", "X-Sdk-Content-Sm3", true, false },
};

/* A header that takes part in the signature, with its name lower-cased. */
typedef struct signed_header {
    char *name;
    const char *value;
} signed_header;

/* Everything one hwai__sign() call builds before it fills the result. */
typedef struct signing {
    const hwai__sign_params *params;
    const sign_algorithm *algorithm;
    char date[SDK_DATE_LEN + 1];
    /* V11 scope: YYYYMMDD/region/service. */
    hwai__buf scope;
    hwai__buf canonical_query;
    hwai__buf canonical_request;
    hwai__buf signed_headers;
    hwai__buf string_to_sign;
    char signature[DIGEST_HEX_LEN + 1];
} signing;

/* ---- hashing ---- */

/* The crypto helpers fail only on an internal library error, reported as
 * HWAI_E_INTERNAL by these wrappers. */
static hwai_status hash_hex(const sign_algorithm *alg, const void *data, size_t len, char *out)
{
    hwai_status status;
    if (alg->uses_sm3) {
        status = hwai__sm3_hex(data, len, out);
    } else {
        status = hwai__sha256_hex(data, len, out);
    }
    return status == HWAI_OK ? HWAI_OK : HWAI_E_INTERNAL;
}

static hwai_status
hmac_hex(const sign_algorithm *alg, const void *key, size_t key_len, const char *msg, char *out)
{
    uint8_t mac[HWAI__SHA256_LEN];
    hwai_status status;
    if (alg->uses_sm3) {
        status = hwai__hmac_sm3(key, key_len, msg, strlen(msg), mac);
    } else {
        status = hwai__hmac_sha256(key, key_len, msg, strlen(msg), mac);
    }
    if (status == HWAI_OK) {
        hwai__hex_encode(mac, sizeof(mac), out);
    }
    hwai__zeroize(mac, sizeof(mac));
    return status == HWAI_OK ? HWAI_OK : HWAI_E_INTERNAL;
}

hwai_status hwai__sign_v11_key(const char *ak, const char *sk, const char *info, char out[65])
{
    uint8_t prk[HWAI__SHA256_LEN];
    uint8_t okm[HWAI__SHA256_LEN];
    hwai__buf message = HWAI__BUF_INIT;
    hwai_status status = hwai__hmac_sha256(ak, strlen(ak), sk, strlen(sk), prk);
    if (status != HWAI_OK) {
        goto done;
    }
    /* One HKDF-Expand block: T(1) = HMAC(PRK, info || 0x01). */
    hwai__buf_append_str(&message, info);
    hwai__buf_append_char(&message, 0x01);
    if (message.oom) {
        status = HWAI_E_NOMEM;
        goto done;
    }
    status = hwai__hmac_sha256(prk, sizeof(prk), message.data, message.len, okm);
    if (status == HWAI_OK) {
        hwai__hex_encode(okm, sizeof(okm), out);
    }
done:
    hwai__zeroize(prk, sizeof(prk));
    hwai__zeroize(okm, sizeof(okm));
    hwai__buf_cleanup(&message);
    return status;
}

/* ---- argument checks ---- */

static const sign_algorithm *find_algorithm(hwai_sign_algorithm id)
{
    if (id == 0) {
        id = HWAI_SIGN_SDK_HMAC_SHA256;
    }
    for (size_t i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++) {
        if (algorithms[i].id == id) {
            return &algorithms[i];
        }
    }
    return NULL;
}

/* True for an RFC 9110 token: the characters allowed in methods and header names. */
static bool is_token(const char *text)
{
    if (!text || !*text) {
        return false;
    }
    for (const char *p = text; *p; p++) {
        char c = *p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !strchr("!#$%&'*+-.^_`|~", c)) {
            return false;
        }
    }
    return true;
}

static hwai_status check_path(const char *path, hwai_error **err)
{
    if (path[0] != '/') {
        return hwai__error_set(
            err, HWAI_E_SIGN, "request path '%s' is invalid: the path must start with /", path);
    }
    if (strpbrk(path, "?#")) {
        return hwai__error_set(
            err, HWAI_E_SIGN, "request path '%s' contains '?' or '#'; pass the query as parameters",
            path);
    }
    if (hwai__has_space_or_control(path)) {
        return hwai__error_set(
            err, HWAI_E_SIGN,
            "request path '%s' contains a space or control character; percent-encode it", path);
    }
    return HWAI_OK;
}

static hwai_status check_credentials(const hwai__sign_params *params, hwai_error **err)
{
    if (hwai__str_empty(params->ak)) {
        return hwai__error_set(
            err, HWAI_E_AUTH, "cannot sign the request: the access key (AK) is empty");
    }
    if (hwai__str_empty(params->sk)) {
        return hwai__error_set(
            err, HWAI_E_AUTH, "cannot sign the request: the secret key (SK) is empty");
    }
    return HWAI_OK;
}

static hwai_status
check_algorithm(const hwai__sign_params *params, const sign_algorithm **out, hwai_error **err)
{
    const sign_algorithm *alg = find_algorithm(params->algorithm);
    if (!alg) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "unknown signing algorithm %d", (int)params->algorithm);
    }
    if (alg->uses_sm3 && !hwai__sm3_available()) {
        return hwai__error_set(
            err, HWAI_E_UNSUPPORTED,
            "%s signing is not available: this build lacks SM3; rebuild with the meson "
            "option -Dsm3=enabled and OpenSSL libcrypto installed",
            alg->name);
    }
    if (alg->derives_key && (hwai__str_empty(params->service) || hwai__str_empty(params->region))) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "%s signing needs a service name and a region id; the %s is missing", alg->name,
            hwai__str_empty(params->service) ? "service name" : "region id");
    }
    *out = alg;
    return HWAI_OK;
}

static hwai_status
check_params(const hwai__sign_params *params, const sign_algorithm **alg, hwai_error **err)
{
    if (!params || !params->headers || !params->path) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "signing parameters, headers or path is NULL");
    }
    if (!is_token(params->method)) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "HTTP method '%s' is invalid: it must be a non-empty token such as GET",
            params->method ? params->method : "(null)");
    }
    if (!params->body && params->body_len > 0) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "body is NULL but body_len is %zu", params->body_len);
    }
    hwai_status status = check_credentials(params, err);
    if (status == HWAI_OK) {
        status = check_algorithm(params, alg, err);
    }
    if (status == HWAI_OK) {
        status = check_path(params->path, err);
    }
    return status;
}

/* Rejects header names that are not tokens and values with control characters,
 * because a CR or LF would inject a header. Also rejects two names that differ only
 * in case, because no single signature covers both spellings. The messages name
 * headers but never show values, which may be secrets. */
static hwai_status check_headers(const hwai__headers *headers, hwai_error **err)
{
    for (size_t i = 0; i < headers->count; i++) {
        const hwai__header *header = &headers->items[i];
        if (!is_token(header->name)) {
            return hwai__error_set(
                err, HWAI_E_INVALID_ARG,
                "header name '%s' is invalid: it must be a non-empty token without spaces",
                header->name);
        }
        for (const unsigned char *p = (const unsigned char *)header->value; *p; p++) {
            if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
                return hwai__error_set(
                    err, HWAI_E_INVALID_ARG,
                    "header '%s' has a value with a control character such as CR or LF",
                    header->name);
            }
        }
        for (size_t j = 0; j < i; j++) {
            if (hwai__strcasecmp(headers->items[j].name, header->name) == 0) {
                return hwai__error_set(
                    err, HWAI_E_SIGN,
                    "headers '%s' and '%s' differ only in case; send only one of them",
                    headers->items[j].name, header->name);
            }
        }
    }
    return HWAI_OK;
}

/* ---- headers the signer adds ---- */

static bool starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

static int parse_digits(const char *text, size_t len)
{
    int value = 0;
    for (size_t i = 0; i < len; i++) {
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Checks YYYYMMDDTHHMMSSZ with every field in range, as Python's
 * datetime.strptime(value, "%Y%m%dT%H%M%SZ") would, but with fixed field widths. */
static bool sdk_date_is_valid(const char *date)
{
    if (strlen(date) != SDK_DATE_LEN || date[8] != 'T' || date[15] != 'Z') {
        return false;
    }
    for (size_t i = 0; i < 15; i++) {
        if (i != 8 && (date[i] < '0' || date[i] > '9')) {
            return false;
        }
    }
    int year = parse_digits(date, 4);
    int month = parse_digits(date + 4, 2);
    int day = parse_digits(date + 6, 2);
    int hour = parse_digits(date + 9, 2);
    int minute = parse_digits(date + 11, 2);
    int second = parse_digits(date + 13, 2);
    if (year < 1 || month < 1 || month > 12) {
        return false;
    }
    return day >= 1 && day <= days_in_month(year, month) && hour < 24 && minute < 60 && second < 60;
}

/* Reads X-Sdk-Date (any case) into date, or adds it from params->now. */
static hwai_status resolve_date(const hwai__sign_params *params, char *date, hwai_error **err)
{
    const char *header_date = hwai__headers_get(params->headers, "X-Sdk-Date");
    if (header_date) {
        if (!sdk_date_is_valid(header_date)) {
            return hwai__error_set(
                err, HWAI_E_SIGN,
                "X-Sdk-Date '%.64s' is invalid: expected UTC time as " SDK_DATE_FORMAT
                ", such as 20240315T081530Z",
                header_date);
        }
        memcpy(date, header_date, SDK_DATE_LEN + 1);
        return HWAI_OK;
    }
    time_t now = params->now ? params->now : time(NULL);
    struct tm utc;
    if (!gmtime_r(&now, &utc) ||
        strftime(date, SDK_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &utc) != SDK_DATE_LEN) {
        return hwai__error_set(err, HWAI_E_SIGN, "cannot format the current time as X-Sdk-Date");
    }
    if (!hwai__headers_add(params->headers, "X-Sdk-Date", date)) {
        return HWAI_E_NOMEM;
    }
    return HWAI_OK;
}

/* Adds the headers the signature rules require, in the order the reference signer
 * adds them: the content header, X-Sdk-Date, Host. Any Authorization is dropped
 * first, because every attempt is signed afresh. */
static hwai_status add_signer_headers(signing *run, hwai_error **err)
{
    const hwai__sign_params *params = run->params;
    hwai__headers_remove(params->headers, "Authorization");

    /* A body that is neither JSON nor BSON is sent unhashed. The prefix test is
     * case-sensitive, as in the reference signer. */
    const char *content_type = hwai__headers_get(params->headers, "Content-Type");
    if (content_type && !starts_with(content_type, "application/json") &&
        !starts_with(content_type, "application/bson") &&
        !hwai__headers_set(params->headers, run->algorithm->content_header, UNSIGNED_PAYLOAD)) {
        return HWAI_E_NOMEM;
    }

    hwai_status status = resolve_date(params, run->date, err);
    if (status != HWAI_OK) {
        return status;
    }
    if (params->host && !hwai__headers_get(params->headers, "Host") &&
        !hwai__headers_add(params->headers, "Host", params->host)) {
        return HWAI_E_NOMEM;
    }
    return HWAI_OK;
}

/* ---- canonical request ---- */

/* Returns the length of the UTF-8 sequence that starts at s[0] (len > 0 bytes
 * available), or 0 when it is malformed, overlong, a surrogate or above U+10FFFF. */
static size_t utf8_sequence_length(const unsigned char *s, size_t len)
{
    if (s[0] < 0x80) {
        return 1;
    }
    size_t length;
    uint32_t min;
    uint32_t code_point;
    if ((s[0] & 0xe0) == 0xc0) {
        length = 2;
        min = 0x80;
        code_point = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        length = 3;
        min = 0x800;
        code_point = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        length = 4;
        min = 0x10000;
        code_point = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len < length) {
        return 0;
    }
    for (size_t i = 1; i < length; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        code_point = code_point << 6 | (s[i] & 0x3f);
    }
    bool surrogate = code_point >= 0xd800 && code_point <= 0xdfff;
    return code_point < min || code_point > 0x10ffff || surrogate ? 0 : length;
}

static bool utf8_is_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        size_t length = utf8_sequence_length(s + i, len - i);
        if (length == 0) {
            return false;
        }
        i += length;
    }
    return true;
}

/* Appends the canonical URI: the path fully percent-decoded, each '/'-separated
 * segment encoded again with only unreserved characters literal, and a trailing '/'.
 * A "%2F" therefore becomes a real separator, as in the reference signer. */
static hwai_status append_canonical_uri(hwai__buf *out, const char *path, hwai_error **err)
{
    hwai__buf decoded = HWAI__BUF_INIT;
    hwai_status status = HWAI_OK;
    if (!hwai__percent_decode(&decoded, path, strlen(path))) {
        status = HWAI_E_NOMEM;
        goto done;
    }
    /* The reference signer decodes with errors='replace', turning bad bytes into
     * U+FFFD, so no byte-exact canonical URI could match it. */
    if (!utf8_is_valid(decoded.data, decoded.len)) {
        status = hwai__error_set(
            err, HWAI_E_SIGN, "request path '%s' decodes to bytes that are not valid UTF-8", path);
        goto done;
    }
    for (size_t i = 0; i < decoded.len; i++) {
        if (decoded.data[i] == '/') {
            hwai__buf_append_char(out, '/');
        } else {
            hwai__percent_encode(out, decoded.data + i, 1);
        }
    }
    if (decoded.len == 0 || decoded.data[decoded.len - 1] != '/') {
        hwai__buf_append_char(out, '/');
    }
    status = out->oom ? HWAI_E_NOMEM : HWAI_OK;
done:
    hwai__buf_cleanup(&decoded);
    return status;
}

static hwai_status check_query(const hwai__query *query, hwai_error **err)
{
    for (size_t i = 0; query && i < query->count; i++) {
        const hwai__query_param *param = &query->items[i];
        if (!utf8_is_valid(param->key, strlen(param->key)) ||
            !utf8_is_valid(param->value, strlen(param->value))) {
            return hwai__error_set(
                err, HWAI_E_SIGN, "query parameter %zu is not valid UTF-8 after percent-decoding",
                i + 1);
        }
    }
    return HWAI_OK;
}

static int compare_signed_headers(const void *a, const void *b)
{
    return strcmp(((const signed_header *)a)->name, ((const signed_header *)b)->name);
}

/* Collects the headers to sign: every name without '_', lower-cased, sorted. */
static signed_header *collect_signed_headers(const hwai__headers *headers, size_t *count)
{
    signed_header *list = calloc(headers->count ? headers->count : 1, sizeof(*list));
    if (!list) {
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < headers->count; i++) {
        const hwai__header *header = &headers->items[i];
        if (strchr(header->name, '_')) {
            continue;
        }
        list[n].name = hwai__strdup(header->name);
        if (!list[n].name) {
            for (size_t k = 0; k < n; k++) {
                free(list[k].name);
            }
            free(list);
            return NULL;
        }
        for (char *p = list[n].name; *p; p++) {
            *p = hwai__ascii_lower(*p);
        }
        list[n].value = header->value;
        n++;
    }
    qsort(list, n, sizeof(*list), compare_signed_headers);
    *count = n;
    return list;
}

/* Appends value without leading and trailing spaces and tabs.
 * NOTE: Python's str.strip() in the reference signer also removes Unicode
 * whitespace such as U+3000, so a value ending in one would sign differently. */
static void append_trimmed(hwai__buf *out, const char *value)
{
    const char *end = value + strlen(value);
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    while (end > value && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    hwai__buf_append(out, value, (size_t)(end - value));
}

/* Appends "name:value\n" for every signed header, then an empty line, and builds the
 * ';'-joined list of signed names. */
static hwai_status append_canonical_headers(signing *run)
{
    size_t count = 0;
    signed_header *list = collect_signed_headers(run->params->headers, &count);
    if (!list) {
        return HWAI_E_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        hwai__buf_printf(&run->canonical_request, "%s:", list[i].name);
        append_trimmed(&run->canonical_request, list[i].value);
        hwai__buf_append_char(&run->canonical_request, '\n');
        if (i > 0) {
            hwai__buf_append_char(&run->signed_headers, ';');
        }
        hwai__buf_append_str(&run->signed_headers, list[i].name);
        free(list[i].name);
    }
    free(list);
    hwai__buf_append_char(&run->canonical_request, '\n');
    if (count == 0) {
        /* Keeps signed_headers a string even when nothing is signed. */
        hwai__buf_append_str(&run->signed_headers, "");
    }
    return run->canonical_request.oom || run->signed_headers.oom ? HWAI_E_NOMEM : HWAI_OK;
}

/* Appends the payload hash: the hash of an empty body even when a content header is
 * set, else the content header's value when non-empty, else the hash of the body. */
static hwai_status append_payload_hash(signing *run)
{
    const hwai__sign_params *params = run->params;
    const char *content = hwai__headers_get(params->headers, run->algorithm->content_header);
    if (params->body_len > 0 && content && *content) {
        hwai__buf_append_str(&run->canonical_request, content);
        return run->canonical_request.oom ? HWAI_E_NOMEM : HWAI_OK;
    }
    char hash[DIGEST_HEX_LEN + 1];
    const void *body = params->body_len > 0 ? params->body : "";
    hwai_status status = hash_hex(run->algorithm, body, params->body_len, hash);
    if (status == HWAI_OK && !hwai__buf_append_str(&run->canonical_request, hash)) {
        status = HWAI_E_NOMEM;
    }
    return status;
}

static hwai_status build_canonical_request(signing *run, hwai_error **err)
{
    const hwai__sign_params *params = run->params;
    hwai__buf *out = &run->canonical_request;
    for (const char *p = params->method; *p; p++) {
        hwai__buf_append_char(out, (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p));
    }
    hwai__buf_append_char(out, '\n');
    hwai_status status = append_canonical_uri(out, params->path, err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai__buf_append_char(out, '\n');
    if (!hwai__query_canonical(params->query, &run->canonical_query)) {
        return HWAI_E_NOMEM;
    }
    hwai__buf_append(out, run->canonical_query.data, run->canonical_query.len);
    hwai__buf_append_char(out, '\n');
    status = append_canonical_headers(run);
    if (status != HWAI_OK) {
        return status;
    }
    hwai__buf_append(out, run->signed_headers.data, run->signed_headers.len);
    hwai__buf_append_char(out, '\n');
    return append_payload_hash(run);
}

/* ---- signature ---- */

static hwai_status build_string_to_sign(signing *run)
{
    char hash[DIGEST_HEX_LEN + 1];
    const hwai__buf *canonical = &run->canonical_request;
    hwai_status status = hash_hex(run->algorithm, canonical->data, canonical->len, hash);
    if (status != HWAI_OK) {
        return status;
    }
    hwai__buf *out = &run->string_to_sign;
    hwai__buf_printf(out, "%s\n%s\n", run->algorithm->name, run->date);
    if (run->algorithm->derives_key) {
        hwai__buf_printf(out, "%s\n", run->scope.data);
    }
    hwai__buf_append_str(out, hash);
    return out->oom ? HWAI_E_NOMEM : HWAI_OK;
}

static hwai_status compute_signature(signing *run)
{
    const hwai__sign_params *params = run->params;
    const char *message = run->string_to_sign.data;
    if (!run->algorithm->derives_key) {
        return hmac_hex(run->algorithm, params->sk, strlen(params->sk), message, run->signature);
    }
    char key[DIGEST_HEX_LEN + 1];
    hwai_status status = hwai__sign_v11_key(params->ak, params->sk, run->scope.data, key);
    if (status == HWAI_OK) {
        status = hmac_hex(run->algorithm, key, DIGEST_HEX_LEN, message, run->signature);
    }
    hwai__zeroize(key, sizeof(key));
    return status;
}

static hwai_status fill_result(signing *run, hwai__sign_result *out)
{
    const hwai__sign_params *params = run->params;
    hwai__buf authorization = HWAI__BUF_INIT;
    if (run->algorithm->derives_key) {
        hwai__buf_printf(
            &authorization, "%s Credential=%s/%s, ", run->algorithm->name, params->ak,
            run->scope.data);
    } else {
        hwai__buf_printf(&authorization, "%s Access=%s, ", run->algorithm->name, params->ak);
    }
    hwai__buf_printf(
        &authorization, "SignedHeaders=%s, Signature=%s", run->signed_headers.data, run->signature);

    hwai__buf uri = HWAI__BUF_INIT;
    hwai__buf_append_str(&uri, params->path);
    if (run->canonical_query.len > 0) {
        hwai__buf_append_char(&uri, '?');
        hwai__buf_append(&uri, run->canonical_query.data, run->canonical_query.len);
    }

    out->authorization = hwai__buf_detach(&authorization);
    out->uri = hwai__buf_detach(&uri);
    out->signature = hwai__strdup(run->signature);
    out->canonical_request = hwai__buf_detach(&run->canonical_request);
    out->string_to_sign = hwai__buf_detach(&run->string_to_sign);
    out->signed_headers = hwai__buf_detach(&run->signed_headers);
    if (!out->authorization || !out->uri || !out->signature || !out->canonical_request ||
        !out->string_to_sign || !out->signed_headers) {
        return HWAI_E_NOMEM;
    }
    return hwai__headers_add(params->headers, "Authorization", out->authorization) ? HWAI_OK
                                                                                   : HWAI_E_NOMEM;
}

/* ---- entry points ---- */

static void signing_cleanup(signing *run)
{
    hwai__buf_cleanup(&run->scope);
    hwai__buf_cleanup(&run->canonical_query);
    /* The canonical request contains header values such as X-Security-Token. */
    hwai__buf_cleanup_secret(&run->canonical_request);
    hwai__buf_cleanup(&run->signed_headers);
    hwai__buf_cleanup(&run->string_to_sign);
    hwai__zeroize(run->signature, sizeof(run->signature));
}

hwai_status hwai__sign(const hwai__sign_params *params, hwai__sign_result *out, hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "signing result is NULL");
    }
    memset(out, 0, sizeof(*out));
    signing run = { .params = params };
    hwai_status status = check_params(params, &run.algorithm, err);
    if (status == HWAI_OK) {
        status = check_headers(params->headers, err);
    }
    if (status == HWAI_OK) {
        status = check_query(params->query, err);
    }
    if (status == HWAI_OK) {
        status = add_signer_headers(&run, err);
    }
    if (status == HWAI_OK && run.algorithm->derives_key) {
        hwai__buf_printf(&run.scope, "%.8s/%s/%s", run.date, params->region, params->service);
        status = run.scope.oom ? HWAI_E_NOMEM : HWAI_OK;
    }
    if (status == HWAI_OK) {
        status = build_canonical_request(&run, err);
    }
    if (status == HWAI_OK) {
        status = build_string_to_sign(&run);
    }
    if (status == HWAI_OK) {
        status = compute_signature(&run);
    }
    if (status == HWAI_OK) {
        status = fill_result(&run, out);
    }

    if (status == HWAI_E_NOMEM) {
        hwai__error_set(err, status, "out of memory while signing the request");
    } else if (status == HWAI_E_INTERNAL) {
        hwai__error_set(err, status, "a hash or HMAC computation failed while signing");
    }
    if (status != HWAI_OK) {
        hwai__sign_result_cleanup(out);
    }
    signing_cleanup(&run);
    return status;
}

void hwai__sign_result_cleanup(hwai__sign_result *result)
{
    if (!result) {
        return;
    }
    hwai__secret_free(result->canonical_request);
    free(result->string_to_sign);
    free(result->signed_headers);
    hwai__secret_free(result->signature);
    hwai__secret_free(result->authorization);
    free(result->uri);
    memset(result, 0, sizeof(*result));
}
