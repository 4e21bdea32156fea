/* Tests of the transport under concurrent use: one client shared by many
 * threads, many clients created at once, and calls that end in timeouts or
 * dropped connections. Every server runs on 127.0.0.1.
 *
 * The program is linked with --wrap for curl_global_init and
 * curl_global_cleanup, so the wrappers below count the library's calls. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "emulator.h"
#include "hwai/hwai.h"
#include "raw_server.h"

#define MIB (1024u * 1024u)

/* Call deadline and HTTP timeout of the clients that call servers which never
 * respond. The deadline covers retries, which are on by default. */
#define SHORT_TIMEOUT_MS 1000u
/* Total timeout of the clients that upload 2 MiB. Encoding and signing the
 * body happen before the transfer and outside its timeout, and take over a
 * second under ThreadSanitizer with 16 threads. */
#define UPLOAD_TIMEOUT_MS 5000u
/* Slack allowed past the timeout before a call counts as late. */
#define TIMEOUT_SLACK_MS 500.0

#define SHARED_CLIENT_THREADS 8
#define SHARED_CLIENT_CALLS 50
#define OWN_CLIENT_THREADS 16
#define KEEP_ALIVE_CALLS 10

#define SENTIMENT_RESPONSE                                                            \
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 57\r\n\r\n" \
    "{\"result\":{\"content\":\"ok\",\"label\":1,\"confidence\":0.9731}}"

CURLcode __real_curl_global_init(long flags);
CURLcode __wrap_curl_global_init(long flags);
void __real_curl_global_cleanup(void);
void __wrap_curl_global_cleanup(void);

static atomic_int global_init_calls;
static atomic_int global_cleanup_calls;

CURLcode __wrap_curl_global_init(long flags)
{
    atomic_fetch_add(&global_init_calls, 1);
    return __real_curl_global_init(flags);
}

void __wrap_curl_global_cleanup(void)
{
    atomic_fetch_add(&global_cleanup_calls, 1);
    __real_curl_global_cleanup();
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1.0e6;
}

/* libcurl must be initialised once per process by the library and never
 * cleaned up behind the host program's back. */
static void check_global_init_once(void)
{
    assert_int_equal(atomic_load(&global_init_calls), 1);
    assert_int_equal(atomic_load(&global_cleanup_calls), 0);
}

static hwai_status new_emulator_client(const test_emulator *emu, hwai_client **out)
{
    hwai_credentials *creds = NULL;
    hwai_status status = hwai_credentials_new_aksk(&creds, EMU_AK, EMU_SK, NULL, NULL);
    if (status != HWAI_OK) {
        return status;
    }
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.endpoint = emu->base_url;
    opts.project_id = EMU_PROJECT_ID;
    opts.credentials = creds;
    opts.timeout_ms = 30000;
    status = hwai_client_new(out, &opts, NULL);
    hwai_credentials_free(creds);
    return status;
}

static hwai_status call_sentiment(hwai_client *client, const char *content, hwai_error **err)
{
    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = content;
    hwai_sentiment_result *result = NULL;
    hwai_status status = hwai_nlp_sentiment(&result, client, &req, err);
    hwai_sentiment_result_free(result);
    return status;
}

static hwai_status call_chat(hwai_client *client, hwai_error **err)
{
    hwai_chat_message message = { "user", "Say hello.", 0 };
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.deployment_id = "d1";
    req.messages = &message;
    req.message_count = 1;
    hwai_chat_result *result = NULL;
    hwai_status status = hwai_chat(&result, client, &req, err);
    if (status == HWAI_OK && result->choice_count == 0) {
        status = HWAI_E_BAD_RESPONSE;
    }
    hwai_chat_result_free(result);
    return status;
}

/* What one worker thread saw. Workers never call cmocka asserts, which are
 * not thread-safe, so the main thread checks these fields after joining. */
typedef struct worker {
    pthread_t thread;
    pthread_barrier_t *start;
    int index;
    /* Shared-client workers use this client. */
    hwai_client *client;
    /* Own-client workers create a client for this endpoint per call. */
    const char *endpoint;
    const char *content;
    uint32_t timeout_ms;
    /* Attempts per call, or 0 for the default retry policy. */
    uint32_t max_attempts;
    int calls;
    hwai_status expected;
    int unexpected;
    hwai_status first_unexpected;
    char first_message[256];
    double max_ms;
} worker;

static void record_result(worker *w, hwai_status status, const hwai_error *err)
{
    if (status == w->expected) {
        return;
    }
    if (w->unexpected++ == 0) {
        w->first_unexpected = status;
        snprintf(
            w->first_message, sizeof(w->first_message), "%s",
            err ? hwai_error_message(err) : hwai_status_str(status));
    }
}

static void *shared_client_worker(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(w->start);
    for (int i = 0; i < w->calls; i++) {
        hwai_error *err = NULL;
        hwai_status status = (i + w->index) % 2 == 0 ? call_chat(w->client, &err)
                                                     : call_sentiment(w->client, "great", &err);
        record_result(w, status, err);
        hwai_error_free(err);
    }
    return NULL;
}

static void *own_client_worker(void *arg)
{
    worker *w = arg;
    hwai_credentials *creds = NULL;
    hwai_status status = hwai_credentials_new_aksk(&creds, EMU_AK, EMU_SK, NULL, NULL);
    hwai_retry_policy retry = HWAI_RETRY_POLICY_INIT;
    retry.max_attempts = w->max_attempts;
    pthread_barrier_wait(w->start);
    for (int i = 0; status == HWAI_OK && i < w->calls; i++) {
        hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
        opts.endpoint = w->endpoint;
        opts.project_id = EMU_PROJECT_ID;
        opts.credentials = creds;
        opts.connect_timeout_ms = w->timeout_ms;
        opts.timeout_ms = w->timeout_ms;
        opts.call_timeout_ms = w->timeout_ms;
        opts.retry = &retry;
        hwai_client *client = NULL;
        hwai_error *err = NULL;
        hwai_status call_status = hwai_client_new(&client, &opts, &err);
        if (call_status == HWAI_OK) {
            double start = now_ms();
            call_status = call_sentiment(client, w->content, &err);
            double elapsed = now_ms() - start;
            w->max_ms = elapsed > w->max_ms ? elapsed : w->max_ms;
        }
        record_result(w, call_status, err);
        hwai_error_free(err);
        hwai_client_free(client);
    }
    if (status != HWAI_OK) {
        record_result(w, status, NULL);
    }
    hwai_credentials_free(creds);
    return NULL;
}

/* Results of all workers of one run. */
typedef struct run_summary {
    int unexpected;
    double max_ms;
} run_summary;

/* Starts count workers together and waits for all of them. Callers assert on
 * the summary after stopping their servers, so a failure leaks no thread. */
static run_summary run_workers(worker *workers, int count, void *(*body)(void *))
{
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned int)count), 0);
    for (int i = 0; i < count; i++) {
        workers[i].start = &start;
        workers[i].index = i;
        assert_int_equal(pthread_create(&workers[i].thread, NULL, body, &workers[i]), 0);
    }
    run_summary summary = { 0, 0 };
    for (int i = 0; i < count; i++) {
        pthread_join(workers[i].thread, NULL);
        if (workers[i].unexpected > 0) {
            print_error(
                "thread %d: %d unexpected results, first %s (%d): %s\n", i, workers[i].unexpected,
                hwai_status_str(workers[i].first_unexpected), (int)workers[i].first_unexpected,
                workers[i].first_message);
        }
        summary.unexpected += workers[i].unexpected;
        if (workers[i].max_ms > summary.max_ms) {
            summary.max_ms = workers[i].max_ms;
        }
    }
    pthread_barrier_destroy(&start);
    return summary;
}

/* A loopback port whose accept queue is full, so the kernel drops every new
 * connection attempt and connect() hangs until the client gives up. */
typedef struct blackhole {
    int listen_fd;
    int queued_fds[4];
    int queued_count;
    int port;
} blackhole;

/* Starts a non-blocking connect to port and returns the socket, and in
 * *connected whether the handshake finished within wait_ms. */
static int connect_loopback(int port, int wait_ms, bool *connected)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    int rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    assert_true(rc == 0 || errno == EINPROGRESS);
    struct pollfd pfd = { fd, POLLOUT, 0 };
    int error = 0;
    socklen_t error_len = sizeof(error);
    *connected =
        rc == 0 || (poll(&pfd, 1, wait_ms) == 1 &&
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_len) == 0 && error == 0);
    return fd;
}

static void blackhole_open(blackhole *bh)
{
    memset(bh, 0, sizeof(*bh));
    bh->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(bh->listen_fd >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t addr_len = sizeof(addr);
    assert_int_equal(bind(bh->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    /* Linux queues backlog + 1 connections and drops the SYN of any further
     * one while the queue is full. Nothing here ever calls accept(). */
    assert_int_equal(listen(bh->listen_fd, 0), 0);
    assert_int_equal(getsockname(bh->listen_fd, (struct sockaddr *)&addr, &addr_len), 0);
    bh->port = ntohs(addr.sin_port);

    bool connected = true;
    while (connected && bh->queued_count < 4) {
        int fd = connect_loopback(bh->port, 200, &connected);
        if (connected) {
            bh->queued_fds[bh->queued_count++] = fd;
        } else {
            close(fd);
        }
    }
    /* The last attempt must have hung, or else the port is not a black hole. */
    assert_false(connected);
    assert_true(bh->queued_count >= 1);
}

static void blackhole_close(blackhole *bh)
{
    for (int i = 0; i < bh->queued_count; i++) {
        close(bh->queued_fds[i]);
    }
    close(bh->listen_fd);
}

/* Variants: 16 threads each creating a client at the same moment, which also
 * races the library's first curl_global_init, then calling a port that never
 * completes the TCP handshake.
 *
 * A DNS server that never responds would model a stalled lookup more closely,
 * but the client has no option to choose the resolver. Debian's libcurl 7.88.1
 * is also built without c-ares and rejects CURLOPT_DNS_SERVERS with
 * CURLE_UNKNOWN_OPTION. A hanging connect exercises the same timeout path with
 * CURLOPT_NOSIGNAL set. */
static void test_threads_blackhole_connect_times_out(void **state)
{
    (void)state;
    assert_int_equal(atomic_load(&global_init_calls), 0);
    blackhole bh;
    blackhole_open(&bh);
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", bh.port);

    worker workers[OWN_CLIENT_THREADS];
    memset(workers, 0, sizeof(workers));
    for (int i = 0; i < OWN_CLIENT_THREADS; i++) {
        workers[i].endpoint = endpoint;
        workers[i].content = "text to analyse";
        workers[i].timeout_ms = SHORT_TIMEOUT_MS;
        workers[i].calls = 1;
        workers[i].expected = HWAI_E_TIMEOUT;
    }
    run_summary summary = run_workers(workers, OWN_CLIENT_THREADS, own_client_worker);
    blackhole_close(&bh);
    print_message(
        "%d calls to a black-hole port: slowest returned after %.0f ms\n", OWN_CLIENT_THREADS,
        summary.max_ms);
    assert_int_equal(summary.unexpected, 0);
    assert_true(summary.max_ms < SHORT_TIMEOUT_MS + TIMEOUT_SLACK_MS);
    check_global_init_once();
}

/* Variants: chat and sentiment calls alternating on one client shared by 8
 * threads, 50 calls per thread, against the emulator's signature checks. */
static void test_threads_shared_client(void **state)
{
    test_emulator *emu = *state;
    assert_true(test_emulator_reset(emu));
    hwai_client *client = NULL;
    assert_int_equal(new_emulator_client(emu, &client), HWAI_OK);

    worker workers[SHARED_CLIENT_THREADS];
    memset(workers, 0, sizeof(workers));
    for (int i = 0; i < SHARED_CLIENT_THREADS; i++) {
        workers[i].client = client;
        workers[i].calls = SHARED_CLIENT_CALLS;
        workers[i].expected = HWAI_OK;
    }
    double start = now_ms();
    run_summary summary = run_workers(workers, SHARED_CLIENT_THREADS, shared_client_worker);
    double elapsed = now_ms() - start;
    hwai_client_free(client);
    assert_int_equal(summary.unexpected, 0);

    long connections = test_emulator_stat(emu, "connections");
    print_message(
        "%d calls on one client from %d threads: %.0f ms, %ld connections\n",
        SHARED_CLIENT_THREADS * SHARED_CLIENT_CALLS, SHARED_CLIENT_THREADS, elapsed, connections);
    assert_int_equal(
        test_emulator_stat(emu, "requests"), SHARED_CLIENT_THREADS * SHARED_CLIENT_CALLS);
    assert_int_equal(
        test_emulator_stat(emu, "by_route.chat"), SHARED_CLIENT_THREADS * SHARED_CLIENT_CALLS / 2);
    assert_int_equal(
        test_emulator_stat(emu, "by_route.sentiment"),
        SHARED_CLIENT_THREADS * SHARED_CLIENT_CALLS / 2);
    assert_int_equal(test_emulator_stat(emu, "auth_failures"), 0);
    /* At most one connection per thread, because the share handle's cache
     * reuses them. */
    assert_true(connections >= 1);
    assert_true(connections <= SHARED_CLIENT_THREADS);
    check_global_init_once();
}

/* Variants: 16 threads, each with its own client, calling a server that reads
 * the request and then waits 10 s before responding. */
static void test_threads_slow_server_times_out(void **state)
{
    (void)state;
    raw_chunk chunk = { SENTIMENT_RESPONSE, 0, 10000 };
    raw_reply reply = { &chunk, 1, false, false };
    raw_script script = { &reply, 1, 0 };
    raw_server *srv = NULL;
    assert_true(raw_server_start(&srv, &script));

    worker workers[OWN_CLIENT_THREADS];
    memset(workers, 0, sizeof(workers));
    for (int i = 0; i < OWN_CLIENT_THREADS; i++) {
        workers[i].endpoint = raw_server_url(srv);
        workers[i].content = "text to analyse";
        workers[i].timeout_ms = SHORT_TIMEOUT_MS;
        workers[i].calls = 1;
        workers[i].expected = HWAI_E_TIMEOUT;
    }
    run_summary summary = run_workers(workers, OWN_CLIENT_THREADS, own_client_worker);
    size_t requests = raw_server_request_count(srv);
    raw_server_stop(srv);
    print_message(
        "%d calls to a server that never responds: slowest returned after %.0f ms\n",
        OWN_CLIENT_THREADS, summary.max_ms);
    assert_int_equal(summary.unexpected, 0);
    assert_true(summary.max_ms < SHORT_TIMEOUT_MS + TIMEOUT_SLACK_MS);
    assert_int_equal(requests, OWN_CLIENT_THREADS);
    check_global_init_once();
}

/* Variants: 16 threads, each with its own client, 4 calls each, uploading a
 * 2 MiB body to a server that closes the connection once the request headers
 * have arrived. The server's receive buffer is kept small so the close comes
 * while the client is still sending. Retries are off, so each call uploads
 * once and the request count is exact. */
static void test_threads_upload_reset_no_sigpipe(void **state)
{
    (void)state;
    /* SIGPIPE gets its default action, which ends the process, so a send that
     * raised it would kill this test instead of passing it. */
    struct sigaction default_action;
    memset(&default_action, 0, sizeof(default_action));
    default_action.sa_handler = SIG_DFL;
    assert_int_equal(sigaction(SIGPIPE, &default_action, NULL), 0);
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &pipe_set, NULL), 0);

    raw_reply reply = { NULL, 0, false, true };
    raw_script script = { &reply, 1, 4096 };
    raw_server *srv = NULL;
    assert_true(raw_server_start(&srv, &script));
    char *content = malloc(2 * MIB + 1);
    assert_non_null(content);
    memset(content, 'a', 2 * MIB);
    content[2 * MIB] = '\0';

    const int calls = 4;
    worker workers[OWN_CLIENT_THREADS];
    memset(workers, 0, sizeof(workers));
    for (int i = 0; i < OWN_CLIENT_THREADS; i++) {
        workers[i].endpoint = raw_server_url(srv);
        workers[i].content = content;
        workers[i].timeout_ms = UPLOAD_TIMEOUT_MS;
        workers[i].max_attempts = 1;
        workers[i].calls = calls;
        workers[i].expected = HWAI_E_TRANSPORT;
    }
    run_summary summary = run_workers(workers, OWN_CLIENT_THREADS, own_client_worker);
    size_t requests = raw_server_request_count(srv);
    raw_request last;
    bool have_last = raw_server_last_request(srv, &last);
    raw_server_stop(srv);
    free(content);

    print_message(
        "%d uploads cut off by the server: slowest returned after %.0f ms\n",
        OWN_CLIENT_THREADS * calls, summary.max_ms);
    assert_int_equal(summary.unexpected, 0);
    assert_true(summary.max_ms < UPLOAD_TIMEOUT_MS + TIMEOUT_SLACK_MS);
    assert_int_equal(requests, (size_t)(OWN_CLIENT_THREADS * calls));
    assert_true(have_last);
    assert_false(last.complete);
    assert_true(last.content_length > (long long)(2 * MIB));
    assert_true(last.body_len < (size_t)last.content_length);
    raw_request_cleanup(&last);
    check_global_init_once();
}

/* Variants: 10 sequential sentiment calls on one client reuse one
 * connection to the emulator. */
static void test_threads_keep_alive_one_connection(void **state)
{
    test_emulator *emu = *state;
    hwai_client *client = NULL;
    assert_int_equal(new_emulator_client(emu, &client), HWAI_OK);
    assert_true(test_emulator_reset(emu));
    for (int i = 0; i < KEEP_ALIVE_CALLS; i++) {
        hwai_error *err = NULL;
        hwai_status status = call_sentiment(client, "great", &err);
        if (status != HWAI_OK) {
            print_error("call %d: %s\n", i, hwai_error_message(err));
        }
        assert_int_equal(status, HWAI_OK);
        hwai_error_free(err);
    }
    assert_int_equal(test_emulator_stat(emu, "requests"), KEEP_ALIVE_CALLS);
    assert_int_equal(test_emulator_stat(emu, "connections"), 1);
    hwai_client_free(client);
    check_global_init_once();
}

static int start_emulator(void **state)
{
    static test_emulator emu;
    if (!test_emulator_start(&emu, NULL)) {
        return -1;
    }
    *state = &emu;
    return 0;
}

static int stop_emulator(void **state)
{
    test_emulator_stop(*state);
    return 0;
}

int main(void)
{
    /* The black-hole test runs first so that its threads make the process's
     * first call into the library. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_blackhole_connect_times_out),
        cmocka_unit_test(test_threads_shared_client),
        cmocka_unit_test(test_threads_slow_server_times_out),
        cmocka_unit_test(test_threads_upload_reset_no_sigpipe),
        cmocka_unit_test(test_threads_keep_alive_one_connection),
    };
    return cmocka_run_group_tests(tests, start_emulator, stop_emulator);
}
