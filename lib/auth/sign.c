/* hwai_sign(): the public face of the signer, for signing a request without
 * sending it. It turns a URL into the path, query pairs and Host authority that
 * hwai__sign() takes, exactly as the client's own request path does. */
#include "hwai/sign.h"

#include <stdlib.h>
#include <string.h>

#include "auth/credentials_internal.h"
#include "auth/signer.h"
#include "core/error_internal.h"
#include "util/str.h"

/* The public result followed by the storage its borrowed strings point into. */
typedef struct signed_request {
    hwai_signed_request pub;
    hwai__sign_result result;
    hwai__headers headers;
    hwai_http_header *header_array;
    char *method;
} signed_request;

hwai_status hwai_sign_input_init(hwai_sign_input *input, unsigned int version)
{
    if (!input) {
        return HWAI_E_INVALID_ARG;
    }
    if (version != HWAI_SIGN_INPUT_VERSION) {
        return HWAI_E_INVALID_ARG;
    }
    memset(input, 0, sizeof(*input));
    input->version = version;
    return HWAI_OK;
}

static hwai_status
check_input(const hwai_credentials *creds, const hwai_sign_input *input, hwai_error **err)
{
    if (!creds || !input) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is NULL", !creds ? "creds" : "input");
    }
    if (input->version != HWAI_SIGN_INPUT_VERSION) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "hwai_sign_input version %u is unknown; expected %u",
            input->version, (unsigned int)HWAI_SIGN_INPUT_VERSION);
    }
    if (creds->kind != HWAI_CREDENTIALS_AKSK) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG,
            "hwai_sign needs AK/SK credentials; API key credentials are sent as a Bearer "
            "token and are not signed");
    }
    if (!input->method || !input->url) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "hwai_sign_input %s is NULL",
            !input->method ? "method" : "url");
    }
    if (!input->headers && input->header_count > 0) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "hwai_sign_input headers is NULL but header_count is %zu",
            input->header_count);
    }
    if (!input->body && input->body_len > 0) {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "hwai_sign_input body is NULL but body_len is %zu",
            input->body_len);
    }
    return HWAI_OK;
}

static hwai_status copy_headers(hwai__headers *dst, const hwai_sign_input *input, hwai_error **err)
{
    for (size_t i = 0; i < input->header_count; i++) {
        const hwai_http_header *header = &input->headers[i];
        if (!header->name || !header->value) {
            return hwai__error_set(
                err, HWAI_E_INVALID_ARG, "header %zu has a NULL %s", i + 1,
                !header->name ? "name" : "value");
        }
        if (!hwai__headers_add(dst, header->name, header->value)) {
            return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while copying headers");
        }
    }
    return HWAI_OK;
}

/* Splits the URL into path and query pairs, rejecting what cannot be signed. */
static hwai_status
parse_target(hwai__url *url, hwai__query *query, const char *text, hwai_error **err)
{
    hwai_status status = hwai__url_parse(url, text, err);
    if (status != HWAI_OK) {
        return status;
    }
    if (url->path[0] == '\0') {
        return hwai__error_set(
            err, HWAI_E_INVALID_ARG, "URL has no path; add '/' after the host '%s'",
            url->authority);
    }
    /* Query pairs are C strings, so a decoded NUL byte would silently cut a key or
     * value short. */
    if (url->query && strstr(url->query, "%00")) {
        return hwai__error_set(
            err, HWAI_E_SIGN, "URL query contains %%00 (a NUL byte), which cannot be signed");
    }
    if (!hwai__query_parse(query, url->query)) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory while parsing the query");
    }
    return HWAI_OK;
}

static char *upper_case_copy(const char *text)
{
    char *copy = hwai__strdup(text);
    for (char *p = copy; p && *p; p++) {
        if (*p >= 'a' && *p <= 'z') {
            *p = (char)(*p - 'a' + 'A');
        }
    }
    return copy;
}

/* Points the public fields of request at its own storage. */
static hwai_status publish(signed_request *request, const char *method)
{
    size_t count = request->headers.count;
    request->method = upper_case_copy(method);
    request->header_array = calloc(count ? count : 1, sizeof(*request->header_array));
    if (!request->method || !request->header_array) {
        return HWAI_E_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        request->header_array[i].name = request->headers.items[i].name;
        request->header_array[i].value = request->headers.items[i].value;
    }
    hwai_signed_request *pub = &request->pub;
    pub->method = request->method;
    pub->uri = request->result.uri;
    pub->headers = request->header_array;
    pub->header_count = count;
    pub->canonical_request = request->result.canonical_request;
    pub->string_to_sign = request->result.string_to_sign;
    pub->signed_headers = request->result.signed_headers;
    pub->signature = request->result.signature;
    pub->authorization = request->result.authorization;
    return HWAI_OK;
}

hwai_status hwai_sign(
    hwai_signed_request **out,
    const hwai_credentials *creds,
    const hwai_sign_input *input,
    hwai_error **err)
{
    if (!out) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "out is NULL");
    }
    *out = NULL;
    hwai_status status = check_input(creds, input, err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai__url url = { 0 };
    hwai__query query = HWAI__QUERY_INIT;
    signed_request *request = calloc(1, sizeof(*request));
    if (!request) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory while signing");
        goto done;
    }
    status = copy_headers(&request->headers, input, err);
    if (status == HWAI_OK) {
        status = parse_target(&url, &query, input->url, err);
    }
    if (status == HWAI_OK && creds->security_token &&
        !hwai__headers_set(&request->headers, "X-Security-Token", creds->security_token)) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory while signing");
    }
    if (status == HWAI_OK) {
        hwai__sign_params params = {
            .algorithm = input->algorithm,
            .method = input->method,
            .path = url.path,
            .query = &query,
            .headers = &request->headers,
            .host = url.authority,
            .body = input->body,
            .body_len = input->body_len,
            .ak = creds->ak,
            .sk = creds->sk,
            .service = input->service,
            .region = input->region,
        };
        status = hwai__sign(&params, &request->result, err);
    }
    if (status == HWAI_OK && publish(request, input->method) != HWAI_OK) {
        status = hwai__error_set(err, HWAI_E_NOMEM, "out of memory while signing");
    }
    if (status == HWAI_OK) {
        *out = &request->pub;
        request = NULL;
    }
done:
    hwai_signed_request_free(request ? &request->pub : NULL);
    hwai__url_cleanup(&url);
    hwai__query_cleanup(&query);
    return status;
}

void hwai_signed_request_free(hwai_signed_request *req)
{
    if (!req) {
        return;
    }
    /* pub is the first member, so req is also the address of its container. */
    signed_request *request = (signed_request *)req;
    hwai__sign_result_cleanup(&request->result);
    hwai__headers_cleanup(&request->headers);
    free(request->header_array);
    free(request->method);
    free(request);
}
