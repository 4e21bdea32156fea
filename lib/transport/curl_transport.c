/* libcurl backend. One share handle per transport (connections, DNS, TLS
 * sessions) and a pool of easy handles, so a client serves many threads and
 * its calls reuse connections. */
#include "transport/curl_transport.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_internal.h"
#include "transport/curl_global.h"
#include "util/str.h"

#define EASY_POOL_MAX 16

struct hwai__curl_transport {
    hwai__transport base;
    CURLSH *share;
    /* libcurl requests one lock per kind of shared data. */
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock;
    CURL *pool[EASY_POOL_MAX];
    size_t pool_count;
    char *ca_file;
    char *ca_path;
    bool insecure;
    char *client_cert_file;
    char *client_key_file;
    char *proxy_url;
    char *proxy_username;
    /* Wiped when the transport is destroyed. */
    char *proxy_password;
};

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *user)
{
    (void)handle;
    (void)access;
    hwai__curl_transport *t = user;
    pthread_mutex_lock(&t->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *user)
{
    (void)handle;
    hwai__curl_transport *t = user;
    pthread_mutex_unlock(&t->share_locks[data]);
}

static size_t on_header(char *data, size_t size, size_t count, void *user)
{
    hwai__curl_transfer *xfer = user;
    size_t len = size * count;
    xfer->header_bytes += len;
    if (xfer->header_bytes > HWAI__MAX_HEADER_BYTES) {
        xfer->headers_too_large = true;
        return 0;
    }
    /* Each response of a transfer (1xx, proxy CONNECT, redirects, the final one)
     * starts with a status line; keep only the headers after the last one. */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        hwai__headers_clear(&xfer->resp->headers);
        const char *space = memchr(data, ' ', len);
        xfer->header_status = space ? (int)strtol(space + 1, NULL, 10) : 0;
        return len;
    }
    if ((len == 2 && data[0] == '\r') || (len == 1 && data[0] == '\n')) {
        if (xfer->header_status >= 200) {
            xfer->resp->status = xfer->header_status;
            xfer->headers_complete = true;
        }
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon) {
        return len;
    }
    size_t name_len = (size_t)(colon - data);
    const char *value = colon + 1;
    const char *end = data + len;
    while (value < end && (*value == ' ' || *value == '\t')) {
        value++;
    }
    while (end > value &&
           (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    if (name_len == 0 ||
        !hwai__headers_add_n(&xfer->resp->headers, data, name_len, value, (size_t)(end - value))) {
        return name_len == 0 ? len : 0;
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    hwai__curl_transfer *xfer = user;
    size_t len = size * count;
    if (xfer->on_body) {
        return xfer->on_body(xfer->on_body_user_data, data, len) ? len : 0;
    }
    if (xfer->max_response_bytes && xfer->resp->body.len + len > xfer->max_response_bytes) {
        xfer->body_too_large = true;
        return 0;
    }
    return hwai__buf_append(&xfer->resp->body, data, len) ? len : 0;
}

static CURL *pool_take(hwai__curl_transport *t)
{
    CURL *easy = NULL;
    pthread_mutex_lock(&t->pool_lock);
    if (t->pool_count > 0) {
        easy = t->pool[--t->pool_count];
    }
    pthread_mutex_unlock(&t->pool_lock);
    if (easy) {
        curl_easy_reset(easy);
        return easy;
    }
    return curl_easy_init();
}

static void pool_give(hwai__curl_transport *t, CURL *easy)
{
    pthread_mutex_lock(&t->pool_lock);
    if (t->pool_count < EASY_POOL_MAX) {
        t->pool[t->pool_count++] = easy;
        easy = NULL;
    }
    pthread_mutex_unlock(&t->pool_lock);
    if (easy) {
        curl_easy_cleanup(easy);
    }
}

static bool build_header_list(hwai__curl_transfer *xfer, const hwai__headers *headers)
{
    hwai__buf line = HWAI__BUF_INIT;
    bool ok = true;
    for (size_t i = 0; ok && headers && i < headers->count; i++) {
        hwai__buf_clear(&line);
        const char *value = headers->items[i].value;
        /* "Name;" is libcurl's spelling of a header with an empty value. */
        if (*value) {
            hwai__buf_printf(&line, "%s: %s", headers->items[i].name, value);
        } else {
            hwai__buf_printf(&line, "%s;", headers->items[i].name);
        }
        struct curl_slist *next = line.oom ? NULL : curl_slist_append(xfer->header_list, line.data);
        ok = next != NULL;
        if (ok) {
            xfer->header_list = next;
        }
    }
    /* An empty "Expect:" stops libcurl from sending "Expect: 100-continue" and
     * waiting up to a second for a server that never responses it. */
    const char *fixed[] = { "Expect:", "Accept-Encoding:" };
    for (size_t i = 0; ok && i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        struct curl_slist *next = curl_slist_append(xfer->header_list, fixed[i]);
        ok = next != NULL;
        if (ok) {
            xfer->header_list = next;
        }
    }
    hwai__buf_cleanup_secret(&line);
    return ok;
}

static void set_method(CURL *easy, const hwai__http_request *req)
{
    bool has_body = req->body != NULL;
    if (strcmp(req->method, "GET") == 0 && !has_body) {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        return;
    }
    if (has_body || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        /* A known size gives Content-Length instead of chunked encoding. */
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, has_body ? req->body : "");
    }
    if (strcmp(req->method, "POST") != 0) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
    }
}

static void set_security(hwai__curl_transport *t, CURL *easy)
{
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, t->insecure ? 0L : 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, t->insecure ? 0L : 2L);
    if (t->ca_file) {
        curl_easy_setopt(easy, CURLOPT_CAINFO, t->ca_file);
    }
    if (t->ca_path) {
        curl_easy_setopt(easy, CURLOPT_CAPATH, t->ca_path);
    }
    if (t->client_cert_file) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT, t->client_cert_file);
    }
    if (t->client_key_file) {
        curl_easy_setopt(easy, CURLOPT_SSLKEY, t->client_key_file);
    }
    /* Proxies come only from explicit configuration, never from http_proxy
     * and friends in the environment. */
    curl_easy_setopt(easy, CURLOPT_PROXY, t->proxy_url ? t->proxy_url : "");
    if (t->proxy_username) {
        curl_easy_setopt(easy, CURLOPT_PROXYUSERNAME, t->proxy_username);
    }
    if (t->proxy_password) {
        curl_easy_setopt(easy, CURLOPT_PROXYPASSWORD, t->proxy_password);
    }
}

hwai_status hwai__curl_transfer_begin(
    hwai__transport *transport,
    const hwai__http_request *req,
    hwai__curl_transfer *xfer,
    CURL **easy_out,
    hwai_error **err)
{
    hwai__curl_transport *t = (hwai__curl_transport *)transport;
    *easy_out = NULL;
    xfer->max_response_bytes = req->max_response_bytes;
    if (!build_header_list(xfer, req->headers)) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory building request headers");
    }
    CURL *easy = pool_take(t);
    if (!easy) {
        return hwai__error_set(err, HWAI_E_NOMEM, "could not create a libcurl handle");
    }
    xfer->error_text[0] = '\0';
    curl_easy_setopt(easy, CURLOPT_URL, req->url);
    curl_easy_setopt(easy, CURLOPT_SHARE, t->share);
    /* Signals from libcurl's alarm-based resolver would hit arbitrary threads of
     * the host process. */
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    /* The cache in the share handle is bounded by each handle's CURLOPT_MAXCONNECTS,
     * 5 by default, so more than 5 threads would close and reopen connections. */
    curl_easy_setopt(easy, CURLOPT_MAXCONNECTS, (long)EASY_POOL_MAX);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, xfer->header_list);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, xfer);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, xfer);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, xfer->error_text);
    set_security(t, easy);
    set_method(easy, req);
    *easy_out = easy;
    return HWAI_OK;
}

static hwai_status map_curl_code(hwai__curl_transfer *xfer, CURLcode rc, hwai_error **err)
{
    const char *detail = xfer->error_text[0] ? xfer->error_text : curl_easy_strerror(rc);
    if (xfer->body_too_large) {
        return hwai__error_set(
            err, HWAI_E_RESPONSE_TOO_LARGE,
            "response body exceeds the maximum of %zu bytes; raise max_response_bytes",
            xfer->max_response_bytes);
    }
    if (xfer->headers_too_large) {
        return hwai__error_set(
            err, HWAI_E_HEADERS_TOO_LARGE, "response headers exceed the maximum of %u bytes",
            HWAI__MAX_HEADER_BYTES);
    }
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return hwai__error_set(err, HWAI_E_CONNECT, "could not connect: %s", detail);
    case CURLE_OPERATION_TIMEDOUT:
        return hwai__error_set(
            err, HWAI_E_TIMEOUT,
            "request timed out (see the timeout_ms and connect_timeout_ms client options): %s",
            detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR: return hwai__error_set(err, HWAI_E_TLS, "TLS failed: %s", detail);
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        /* A server that rejects the client certificate sends a TLS alert, which
         * libcurl reports as a failed read rather than a TLS error. */
        if (strstr(detail, "alert")) {
            return hwai__error_set(err, HWAI_E_TLS, "TLS failed: %s", detail);
        }
        return hwai__error_set(err, HWAI_E_TRANSPORT, "transfer failed: %s", detail);
    case CURLE_OUT_OF_MEMORY: return hwai__error_set(err, HWAI_E_NOMEM, "out of memory in libcurl");
    default: return hwai__error_set(err, HWAI_E_TRANSPORT, "transfer failed: %s", detail);
    }
}

hwai_status
hwai__curl_transfer_finish(hwai__curl_transfer *xfer, CURL *easy, CURLcode rc, hwai_error **err)
{
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    xfer->resp->status = (int)status;
    if (rc != CURLE_OK) {
        return map_curl_code(xfer, rc, err);
    }
    return HWAI_OK;
}

void hwai__curl_transfer_end(hwai__transport *transport, hwai__curl_transfer *xfer, CURL *easy)
{
    hwai__curl_transport *t = (hwai__curl_transport *)transport;
    if (easy) {
        /* Drop pointers into this transfer before the handle waits in the pool. */
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, NULL);
        pool_give(t, easy);
    }
    curl_slist_free_all(xfer->header_list);
    xfer->header_list = NULL;
}

static hwai_status curl_perform(
    hwai__transport *transport,
    const hwai__http_request *req,
    hwai__http_response *resp,
    hwai_error **err)
{
    /* A cancellable transfer runs through a multi handle, so a cancel can wake
     * its wait at once. */
    if (req->cancel) {
        return hwai__curl_perform_cancellable(transport, req, resp, err);
    }
    hwai__curl_transfer xfer;
    memset(&xfer, 0, sizeof(xfer));
    xfer.resp = resp;
    CURL *easy = NULL;
    hwai_status status = hwai__curl_transfer_begin(transport, req, &xfer, &easy, err);
    if (status == HWAI_OK) {
        CURLcode rc = curl_easy_perform(easy);
        status = hwai__curl_transfer_finish(&xfer, easy, rc, err);
    }
    hwai__curl_transfer_end(transport, &xfer, easy);
    return status;
}

static void curl_destroy(hwai__transport *transport)
{
    hwai__curl_transport *t = (hwai__curl_transport *)transport;
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->pool_count; i++) {
        curl_easy_cleanup(t->pool[i]);
    }
    if (t->share) {
        curl_share_cleanup(t->share);
    }
    for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++) {
        pthread_mutex_destroy(&t->share_locks[i]);
    }
    pthread_mutex_destroy(&t->pool_lock);
    free(t->ca_file);
    free(t->ca_path);
    free(t->client_cert_file);
    free(t->client_key_file);
    free(t->proxy_url);
    free(t->proxy_username);
    hwai__secret_free(t->proxy_password);
    free(t);
}

static const hwai__transport_ops curl_ops = { curl_perform, hwai__curl_stream_open, curl_destroy };

hwai_status hwai__transport_curl_new(
    hwai__transport **out, const hwai__transport_config *config, hwai_error **err)
{
    *out = NULL;
    hwai_status status = hwai__curl_global_init(err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai__curl_transport *t = calloc(1, sizeof(*t));
    if (!t) {
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory creating the transport");
    }
    t->base.ops = &curl_ops;
    for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++) {
        pthread_mutex_init(&t->share_locks[i], NULL);
    }
    pthread_mutex_init(&t->pool_lock, NULL);
    t->insecure = config->insecure_skip_tls_verify;
    t->ca_file = hwai__strdup(config->ca_file);
    t->ca_path = hwai__strdup(config->ca_path);
    t->client_cert_file = hwai__strdup(config->client_cert_file);
    t->client_key_file = hwai__strdup(config->client_key_file);
    t->proxy_url = hwai__strdup(config->proxy_url);
    t->proxy_username = hwai__strdup(config->proxy_username);
    t->proxy_password = hwai__secret_dup(config->proxy_password);
    t->share = curl_share_init();
    bool copied = (!config->ca_file || t->ca_file) && (!config->ca_path || t->ca_path) &&
                  (!config->client_cert_file || t->client_cert_file) &&
                  (!config->client_key_file || t->client_key_file) &&
                  (!config->proxy_url || t->proxy_url) &&
                  (!config->proxy_username || t->proxy_username) &&
                  (!config->proxy_password || t->proxy_password);
    if (!t->share || !copied) {
        curl_destroy(&t->base);
        return hwai__error_set(err, HWAI_E_NOMEM, "out of memory creating the transport");
    }
    curl_share_setopt(t->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(t->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(t->share, CURLSHOPT_USERDATA, t);
    curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    *out = &t->base;
    return HWAI_OK;
}

void hwai__http_response_cleanup(hwai__http_response *resp)
{
    hwai__headers_cleanup(&resp->headers);
    hwai__buf_cleanup(&resp->body);
    resp->status = 0;
}
