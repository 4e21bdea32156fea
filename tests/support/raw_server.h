/* A scripted HTTP/1.1 server on 127.0.0.1 for transport tests. It reads each
 * request byte for byte and writes back exactly the bytes it is given, so a
 * test controls interim 1xx responses, duplicate headers, pauses and dropped
 * connections. It never sends "100 Continue" on its own. */
#ifndef HWAI_TEST_RAW_SERVER_H
#define HWAI_TEST_RAW_SERVER_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes to write, after an optional pause. */
typedef struct raw_chunk {
    const char *data;
    /* Length of data in bytes, or 0 for strlen(data). */
    size_t len;
    /* Milliseconds to wait before writing. raw_server_stop() cuts the wait short. */
    unsigned int pause_ms;
} raw_chunk;

/* What the server does with one request. */
typedef struct raw_reply {
    const raw_chunk *chunks;
    size_t chunk_count;
    /* After writing, wait for another request on the same connection instead
     * of closing it. */
    bool keep_open;
    /* Close the connection as soon as the request headers have arrived,
     * without reading the body or writing anything. */
    bool close_after_headers;
} raw_reply;

/* The whole script. The caller keeps it and every buffer it points to alive
 * until raw_server_stop() returns. */
typedef struct raw_script {
    /* replies[i] is written for the i-th request the server reads, counted
     * across all connections. The last reply is reused for every later request. */
    const raw_reply *replies;
    size_t reply_count;
    /* SO_RCVBUF of accepted connections in bytes, or 0 for the system default.
     * A small buffer keeps a large upload in progress until the server reads. */
    int receive_buffer_bytes;
} raw_script;

/* One request as the server received it. */
typedef struct raw_request {
    /* Header block and body bytes as read from the socket, NUL-terminated. */
    char *bytes;
    size_t len;
    /* Length of the header block, final CRLFCRLF included. */
    size_t header_len;
    /* Body bytes read, chunk framing included when the body was chunked. */
    size_t body_len;
    /* Value of Content-Length, or -1 when the header is absent. */
    long long content_length;
    /* An "Expect:" header with any value was present. */
    bool has_expect;
    /* "Transfer-Encoding: chunked" was present. */
    bool chunked;
    /* The whole body arrived (always false with close_after_headers). */
    bool complete;
} raw_request;

typedef struct raw_server raw_server;

/* Binds 127.0.0.1 on a free port and starts serving on a new thread. Returns
 * false, with the reason on stderr, when the socket or thread cannot be made. */
bool raw_server_start(raw_server **out, const raw_script *script);

int raw_server_port(const raw_server *srv);

/* "http://127.0.0.1:PORT", valid until raw_server_stop(). */
const char *raw_server_url(const raw_server *srv);

/* Number of connections accepted so far. */
size_t raw_server_connection_count(const raw_server *srv);

/* Number of requests whose headers were read so far. */
size_t raw_server_request_count(const raw_server *srv);

/* Copies the most recent request into out; free it with raw_request_cleanup().
 * Returns false when no request has arrived yet. */
bool raw_server_last_request(const raw_server *srv, raw_request *out);

void raw_request_cleanup(raw_request *req);

/* Returns the value of the first header of that name in the request (ASCII
 * case ignored) as a new string, or NULL when the header is absent. */
char *raw_request_header(const raw_request *req, const char *name);

/* Cuts pauses short, closes every connection, joins every thread and frees the
 * server. Accepts NULL. */
void raw_server_stop(raw_server *srv);

#endif
