/*
 * Ctrl-C (SIGINT) handling for long operations: calls and streams get a
 * cancellation token that the first Ctrl-C triggers.
 *
 * Library calls are not async-signal-safe, so the signal handler only writes
 * one byte to a pipe (the self-pipe trick). A watcher thread reads the pipe
 * and runs the cancel function in normal thread context.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct interrupt_watch {
    int pipe_read;
    int pipe_write;
    pthread_t thread;
    struct sigaction previous_action;
    void (*cancel)(void *arg);
    void *cancel_arg;
    atomic_int interrupted;
} interrupt_watch;

/* One watch at a time, because a signal handler can reach only global state. */
static interrupt_watch watch = { .pipe_read = -1, .pipe_write = -1 };
static int watch_active;
/* Copy of the pipe's write end for the handler, which may read only
 * volatile sig_atomic_t globals. */
static volatile sig_atomic_t handler_fd = -1;

static void on_sigint(int signal_number)
{
    int saved_errno = errno;
    char byte = 'i';

    /* The write end is non-blocking, and a full pipe already holds a request. */
    ssize_t written = write(handler_fd, &byte, 1);
    (void)written;
    errno = saved_errno;
}

static void *run_watcher(void *arg)
{
    interrupt_watch *w = arg;
    char byte;

    for (;;) {
        ssize_t count = read(w->pipe_read, &byte, 1);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        /* End of file: cli_interrupt_stop() closed the write end. */
        if (count <= 0) {
            return NULL;
        }
        atomic_store(&w->interrupted, 1);
        w->cancel(w->cancel_arg);
    }
}

static int set_fd_flag(int fd, int get_command, int set_command, int flag)
{
    int flags = fcntl(fd, get_command);
    return flags < 0 ? -1 : fcntl(fd, set_command, flags | flag);
}

static int open_watch_pipe(interrupt_watch *w)
{
    int fds[2];

    if (pipe(fds) != 0) {
        return -1;
    }
    if (set_fd_flag(fds[0], F_GETFD, F_SETFD, FD_CLOEXEC) != 0 ||
        set_fd_flag(fds[1], F_GETFD, F_SETFD, FD_CLOEXEC) != 0 ||
        set_fd_flag(fds[1], F_GETFL, F_SETFL, O_NONBLOCK) != 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    w->pipe_read = fds[0];
    w->pipe_write = fds[1];
    return 0;
}

/* Closes the write end, which ends the watcher thread, waits for the thread
 * and closes the read end. */
static void end_watcher(interrupt_watch *w)
{
    handler_fd = -1;
    close(w->pipe_write);
    w->pipe_write = -1;
    pthread_join(w->thread, NULL);
    close(w->pipe_read);
    w->pipe_read = -1;
}

static int install_handler(interrupt_watch *w)
{
    struct sigaction action;

    sigemptyset(&action.sa_mask);
    action.sa_handler = on_sigint;
    /* SA_RESTART keeps a write to stdout from failing with EINTR. SA_RESETHAND
     * restores the default action, so a second Ctrl-C ends the process even if
     * the cancel were stuck. */
    action.sa_flags = SA_RESTART | SA_RESETHAND;
    return sigaction(SIGINT, &action, &w->previous_action);
}

/* A process started with SIGINT ignored is meant to ignore it. */
static int sigint_is_ignored(void)
{
    struct sigaction current;

    return sigaction(SIGINT, NULL, &current) != 0 || current.sa_handler == SIG_IGN;
}

int cli_interrupt_start(void (*cancel)(void *arg), void *arg)
{
    if (watch_active || sigint_is_ignored()) {
        return -1;
    }
    watch.cancel = cancel;
    watch.cancel_arg = arg;
    atomic_init(&watch.interrupted, 0);
    if (open_watch_pipe(&watch) != 0) {
        return -1;
    }
    if (pthread_create(&watch.thread, NULL, run_watcher, &watch) != 0) {
        close(watch.pipe_read);
        close(watch.pipe_write);
        return -1;
    }
    handler_fd = watch.pipe_write;
    if (install_handler(&watch) != 0) {
        end_watcher(&watch);
        return -1;
    }
    watch_active = 1;
    return 0;
}

int cli_interrupt_stop(void)
{
    if (!watch_active) {
        return 0;
    }
    /* Restore the action first, so that no new handler call writes to the pipe
     * after it is closed. */
    sigaction(SIGINT, &watch.previous_action, NULL);
    end_watcher(&watch);
    watch_active = 0;
    return atomic_load(&watch.interrupted);
}

static void cancel_token(void *token)
{
    hwai_cancel_token_cancel(token);
}

hwai_cancel_token *cli_cancel_on_interrupt(void)
{
    hwai_cancel_token *token = NULL;

    if (hwai_cancel_token_new(&token) != HWAI_OK) {
        return NULL;
    }
    /* When the watch cannot start, the token is still valid but nothing
     * triggers it, and Ctrl-C keeps its previous action. */
    cli_interrupt_start(cancel_token, token);
    return token;
}

int cli_cancel_finish(hwai_cancel_token *token)
{
    int interrupted = cli_interrupt_stop();

    hwai_cancel_token_free(token);
    return interrupted;
}
