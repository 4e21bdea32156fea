/* strcasestr, pipe2 and accept4 are GNU extensions. */
#define _GNU_SOURCE

#include "raw_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Requests larger than this are dropped, because no test sends more. */
#define MAX_HEADER_BYTES (1024u * 1024u)
#define MAX_BODY_BYTES (64u * 1024u * 1024u)
#define READ_STEP 65536u

struct raw_server {
    const raw_script *script;
    int listen_fd;
    /* raw_server_stop() writes one byte and never reads it, so the read end
     * stays readable and every poll() that includes it returns at once. */
    int stop_pipe[2];
    int port;
    char url[40];
    pthread_t accept_thread;
    bool accept_started;

    pthread_mutex_t lock;
    pthread_t *workers;
    size_t worker_count;
    size_t worker_cap;
    size_t connection_count;
    size_t request_count;
    raw_request last;
    bool have_last;
};

typedef struct connection {
    raw_server *srv;
    int fd;
} connection;

/* Bytes read from one connection that no request has consumed yet. */
typedef struct byte_buf {
    char *data;
    size_t len;
    size_t cap;
} byte_buf;

static bool buf_reserve(byte_buf *buf, size_t extra)
{
    if (buf->len + extra + 1 <= buf->cap) {
        return true;
    }
    size_t cap = buf->cap ? buf->cap : 4096;
    while (cap < buf->len + extra + 1) {
        cap *= 2;
    }
    char *data = realloc(buf->data, cap);
    if (!data) {
        return false;
    }
    buf->data = data;
    buf->cap = cap;
    return true;
}

/* Waits until fd is ready for events. Returns 1 when ready, 0 on timeout and
 * -1 when the server is stopping or poll() failed. timeout_ms -1 waits forever. */
static int wait_fd(const raw_server *srv, int fd, short events, int timeout_ms)
{
    struct pollfd fds[2] = { { srv->stop_pipe[0], POLLIN, 0 }, { fd, events, 0 } };
    nfds_t count = fd >= 0 ? 2 : 1;
    for (;;) {
        int rc = poll(fds, count, timeout_ms);
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc < 0 || fds[0].revents) {
            return -1;
        }
        return rc == 0 ? 0 : 1;
    }
}

/* Reads what is available into buf. Returns the number of bytes read, 0 when
 * the peer closed the connection and -1 on error or stop. */
static long read_some(const raw_server *srv, int fd, byte_buf *buf)
{
    if (!buf_reserve(buf, READ_STEP) || wait_fd(srv, fd, POLLIN, -1) < 0) {
        return -1;
    }
    ssize_t n;
    do {
        n = recv(fd, buf->data + buf->len, READ_STEP, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        buf->len += (size_t)n;
        buf->data[buf->len] = '\0';
    }
    return (long)n;
}

/* Reads until buf contains at least len bytes. */
static bool read_to(const raw_server *srv, int fd, byte_buf *buf, size_t len)
{
    while (buf->len < len) {
        if (read_some(srv, fd, buf) <= 0) {
            return false;
        }
    }
    return true;
}

/* Finds "\r\n" at or after from, reading more as needed, and returns its
 * offset, or -1 when the connection ends first. */
static long find_crlf(const raw_server *srv, int fd, byte_buf *buf, size_t from)
{
    for (;;) {
        for (size_t i = from; i + 1 < buf->len; i++) {
            if (buf->data[i] == '\r' && buf->data[i + 1] == '\n') {
                return (long)i;
            }
        }
        if (buf->len > MAX_BODY_BYTES || read_some(srv, fd, buf) <= 0) {
            return -1;
        }
    }
}

static bool send_all(const raw_server *srv, int fd, const char *data, size_t len)
{
    while (len > 0) {
        if (wait_fd(srv, fd, POLLOUT, -1) < 0) {
            return false;
        }
        /* MSG_NOSIGNAL: a client that hung up must not kill the test process. */
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data += n;
        len -= (size_t)n;
    }
    return true;
}

char *raw_request_header(const raw_request *req, const char *name)
{
    size_t name_len = strlen(name);
    const char *line = req->bytes ? strstr(req->bytes, "\r\n") : NULL;
    const char *end = req->bytes + req->header_len;
    while (line && line + 2 < end) {
        line += 2;
        const char *eol = strstr(line, "\r\n");
        if (!eol || eol >= end) {
            break;
        }
        if ((size_t)(eol - line) > name_len && line[name_len] == ':' &&
            strncasecmp(line, name, name_len) == 0) {
            const char *value = line + name_len + 1;
            while (value < eol && (*value == ' ' || *value == '\t')) {
                value++;
            }
            const char *value_end = eol;
            while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t')) {
                value_end--;
            }
            return strndup(value, (size_t)(value_end - value));
        }
        line = eol;
    }
    return NULL;
}

/* Fills the fields that come from the header block of req. */
static void parse_request_headers(raw_request *req)
{
    char *expect = raw_request_header(req, "Expect");
    char *encoding = raw_request_header(req, "Transfer-Encoding");
    char *length = raw_request_header(req, "Content-Length");
    req->has_expect = expect != NULL;
    req->chunked = encoding && strcasestr(encoding, "chunked") != NULL;
    req->content_length = length ? strtoll(length, NULL, 10) : -1;
    free(expect);
    free(encoding);
    free(length);
}

/* Reads a chunked body that starts at offset start of buf and returns its
 * framed length, or -1 when the connection ends first. Trailers are read and
 * counted as body bytes. */
static long read_chunked_body(const raw_server *srv, int fd, byte_buf *buf, size_t start)
{
    size_t pos = start;
    for (;;) {
        long eol = find_crlf(srv, fd, buf, pos);
        if (eol < 0) {
            return -1;
        }
        unsigned long long size = strtoull(buf->data + pos, NULL, 16);
        pos = (size_t)eol + 2;
        if (size == 0) {
            break;
        }
        if (size > MAX_BODY_BYTES || !read_to(srv, fd, buf, pos + (size_t)size + 2)) {
            return -1;
        }
        pos += (size_t)size + 2;
    }
    /* Trailer lines, then the empty line that ends the message. */
    for (;;) {
        long eol = find_crlf(srv, fd, buf, pos);
        if (eol < 0) {
            return -1;
        }
        bool empty = (size_t)eol == pos;
        pos = (size_t)eol + 2;
        if (empty) {
            return (long)(pos - start);
        }
    }
}

/* Stores req as the most recent request and takes ownership of its bytes. */
static void record_request(raw_server *srv, raw_request *req)
{
    pthread_mutex_lock(&srv->lock);
    raw_request_cleanup(&srv->last);
    srv->last = *req;
    srv->have_last = true;
    pthread_mutex_unlock(&srv->lock);
    memset(req, 0, sizeof(*req));
}

static raw_request copy_prefix(const byte_buf *buf, size_t header_len, size_t body_len)
{
    raw_request req;
    memset(&req, 0, sizeof(req));
    req.len = header_len + body_len;
    req.bytes = malloc(req.len + 1);
    if (req.bytes) {
        memcpy(req.bytes, buf->data, req.len);
        req.bytes[req.len] = '\0';
    }
    req.header_len = header_len;
    req.body_len = body_len;
    return req;
}

static const raw_reply *reply_for(const raw_script *script, size_t index)
{
    if (script->reply_count == 0) {
        return NULL;
    }
    return &script->replies[index < script->reply_count ? index : script->reply_count - 1];
}

static bool write_reply(const raw_server *srv, int fd, const raw_reply *reply)
{
    for (size_t i = 0; i < reply->chunk_count; i++) {
        const raw_chunk *chunk = &reply->chunks[i];
        if (chunk->pause_ms > 0 && wait_fd(srv, -1, 0, (int)chunk->pause_ms) < 0) {
            return false;
        }
        size_t len = chunk->len ? chunk->len : strlen(chunk->data);
        if (!send_all(srv, fd, chunk->data, len)) {
            return false;
        }
    }
    return true;
}

/* Reads one request, records it and writes its reply. Returns true when the
 * connection should wait for another request. */
static bool serve_one(raw_server *srv, int fd, byte_buf *buf)
{
    long end = -1;
    while (end < 0) {
        char *found = buf->data ? strstr(buf->data, "\r\n\r\n") : NULL;
        if (found) {
            end = (long)(found - buf->data) + 4;
        } else if (buf->len > MAX_HEADER_BYTES || read_some(srv, fd, buf) <= 0) {
            return false;
        }
    }
    size_t header_len = (size_t)end;
    pthread_mutex_lock(&srv->lock);
    const raw_reply *reply = reply_for(srv->script, srv->request_count++);
    pthread_mutex_unlock(&srv->lock);

    raw_request probe = copy_prefix(buf, header_len, 0);
    parse_request_headers(&probe);
    size_t body_len = 0;
    bool complete = true;
    if (!reply || reply->close_after_headers) {
        complete = false;
        body_len = buf->len - header_len;
    } else if (probe.chunked) {
        long framed = read_chunked_body(srv, fd, buf, header_len);
        complete = framed >= 0;
        body_len = complete ? (size_t)framed : buf->len - header_len;
    } else if (probe.content_length > 0) {
        size_t want = probe.content_length > (long long)MAX_BODY_BYTES
                          ? MAX_BODY_BYTES
                          : (size_t)probe.content_length;
        complete = read_to(srv, fd, buf, header_len + want);
        body_len = complete ? want : buf->len - header_len;
    }
    raw_request req = copy_prefix(buf, header_len, body_len);
    parse_request_headers(&req);
    req.complete = complete;
    raw_request_cleanup(&probe);
    record_request(srv, &req);
    if (!complete || !reply || reply->close_after_headers) {
        return false;
    }

    /* Keep bytes of a pipelined next request. */
    size_t used = header_len + body_len;
    memmove(buf->data, buf->data + used, buf->len - used);
    buf->len -= used;
    buf->data[buf->len] = '\0';
    return write_reply(srv, fd, reply) && reply->keep_open;
}

static void *serve_connection(void *arg)
{
    connection *conn = arg;
    byte_buf buf = { NULL, 0, 0 };
    while (serve_one(conn->srv, conn->fd, &buf)) {
    }
    /* Unread request bytes make close() send a reset, which is what the
     * close_after_headers replies rely on. */
    close(conn->fd);
    free(buf.data);
    free(conn);
    return NULL;
}

static bool add_worker(raw_server *srv, int fd)
{
    connection *conn = malloc(sizeof(*conn));
    if (!conn) {
        return false;
    }
    conn->srv = srv;
    conn->fd = fd;
    pthread_mutex_lock(&srv->lock);
    bool ok = true;
    if (srv->worker_count == srv->worker_cap) {
        size_t cap = srv->worker_cap ? srv->worker_cap * 2 : 16;
        pthread_t *workers = realloc(srv->workers, cap * sizeof(*workers));
        ok = workers != NULL;
        if (ok) {
            srv->workers = workers;
            srv->worker_cap = cap;
        }
    }
    ok = ok && pthread_create(&srv->workers[srv->worker_count], NULL, serve_connection, conn) == 0;
    if (ok) {
        srv->worker_count++;
        srv->connection_count++;
    }
    pthread_mutex_unlock(&srv->lock);
    if (!ok) {
        free(conn);
    }
    return ok;
}

static void *accept_loop(void *arg)
{
    raw_server *srv = arg;
    while (wait_fd(srv, srv->listen_fd, POLLIN, -1) > 0) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        if (!add_worker(srv, fd)) {
            fprintf(stderr, "raw_server: could not start a connection thread\n");
            close(fd);
        }
    }
    return NULL;
}

static int open_listener(int receive_buffer_bytes)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    /* Set before listen() so the advertised window is small from the start. */
    if (receive_buffer_bytes > 0 &&
        setsockopt(
            fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof(receive_buffer_bytes)) != 0) {
        close(fd);
        return -1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 64) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool raw_server_start(raw_server **out, const raw_script *script)
{
    *out = NULL;
    raw_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        return false;
    }
    srv->script = script;
    srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
    pthread_mutex_init(&srv->lock, NULL);
    srv->listen_fd = open_listener(script->receive_buffer_bytes);
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof(addr);
    if (srv->listen_fd < 0 ||
        getsockname(srv->listen_fd, (struct sockaddr *)&addr, &addr_len) != 0 ||
        pipe2(srv->stop_pipe, O_CLOEXEC) != 0) {
        fprintf(stderr, "raw_server: could not listen on 127.0.0.1: %s\n", strerror(errno));
        raw_server_stop(srv);
        return false;
    }
    srv->port = ntohs(addr.sin_port);
    snprintf(srv->url, sizeof(srv->url), "http://127.0.0.1:%d", srv->port);
    if (pthread_create(&srv->accept_thread, NULL, accept_loop, srv) != 0) {
        fprintf(stderr, "raw_server: could not start the accept thread\n");
        raw_server_stop(srv);
        return false;
    }
    srv->accept_started = true;
    *out = srv;
    return true;
}

int raw_server_port(const raw_server *srv)
{
    return srv->port;
}

const char *raw_server_url(const raw_server *srv)
{
    return srv->url;
}

size_t raw_server_connection_count(const raw_server *srv)
{
    raw_server *mutable_srv = (raw_server *)srv;
    pthread_mutex_lock(&mutable_srv->lock);
    size_t count = srv->connection_count;
    pthread_mutex_unlock(&mutable_srv->lock);
    return count;
}

size_t raw_server_request_count(const raw_server *srv)
{
    raw_server *mutable_srv = (raw_server *)srv;
    pthread_mutex_lock(&mutable_srv->lock);
    size_t count = srv->request_count;
    pthread_mutex_unlock(&mutable_srv->lock);
    return count;
}

bool raw_server_last_request(const raw_server *srv, raw_request *out)
{
    raw_server *mutable_srv = (raw_server *)srv;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&mutable_srv->lock);
    bool ok = srv->have_last && srv->last.bytes != NULL;
    if (ok) {
        *out = srv->last;
        out->bytes = malloc(srv->last.len + 1);
        ok = out->bytes != NULL;
        if (ok) {
            memcpy(out->bytes, srv->last.bytes, srv->last.len + 1);
        }
    }
    pthread_mutex_unlock(&mutable_srv->lock);
    if (!ok) {
        memset(out, 0, sizeof(*out));
    }
    return ok;
}

void raw_request_cleanup(raw_request *req)
{
    free(req->bytes);
    memset(req, 0, sizeof(*req));
}

void raw_server_stop(raw_server *srv)
{
    if (!srv) {
        return;
    }
    if (srv->stop_pipe[1] >= 0) {
        ssize_t n;
        do {
            n = write(srv->stop_pipe[1], "x", 1);
        } while (n < 0 && errno == EINTR);
        if (srv->accept_started) {
            pthread_join(srv->accept_thread, NULL);
        }
    }
    /* The accept thread has ended, so no worker is added any more. */
    for (size_t i = 0; i < srv->worker_count; i++) {
        pthread_join(srv->workers[i], NULL);
    }
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd);
    }
    for (int i = 0; i < 2; i++) {
        if (srv->stop_pipe[i] >= 0) {
            close(srv->stop_pipe[i]);
        }
    }
    raw_request_cleanup(&srv->last);
    free(srv->workers);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
