/*
 * The IAM password of --iam-user: from HWAI_IAM_PASSWORD, else typed at a
 * prompt on the controlling terminal with echo turned off. It is never taken
 * from an argument, because other users can read arguments in the process
 * list.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define ENV_IAM_PASSWORD "HWAI_IAM_PASSWORD"
/* termios(3) on Linux: a line in canonical mode contains at most 4096 bytes,
 * the line break included. */
#define MAX_PASSWORD_BYTES 4096
#define READ_TOO_LONG (-2)

/* Signals that end the prompt. The terminal's echo is restored before the
 * signal takes its usual action. NOTE: SIGTSTP (Ctrl-Z) keeps its action,
 * so echo stays off while the stopped job waits, unless the shell resets the
 * terminal. */
static const int prompt_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define PROMPT_SIGNAL_COUNT (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

static volatile sig_atomic_t caught_signal;

static void on_prompt_signal(int signal_number)
{
    caught_signal = signal_number;
}

void cli_secret_free(char *secret)
{
    if (secret == NULL) {
        return;
    }
    /* Writes through a volatile pointer are not removed as dead stores. */
    volatile char *p = secret;
    while (*p != '\0') {
        *p++ = '\0';
    }
    free(secret);
}

/* Installs on_prompt_signal without SA_RESTART, so that a signal makes the
 * blocked read() fail with EINTR. Signals that are ignored stay ignored. */
static void catch_prompt_signals(struct sigaction *previous)
{
    struct sigaction action;

    memset(&action, 0, sizeof(action));
    sigemptyset(&action.sa_mask);
    action.sa_handler = on_prompt_signal;
    caught_signal = 0;
    for (size_t i = 0; i < PROMPT_SIGNAL_COUNT; i++) {
        sigaction(prompt_signals[i], NULL, &previous[i]);
        if (previous[i].sa_handler != SIG_IGN) {
            sigaction(prompt_signals[i], &action, NULL);
        }
    }
}

static void restore_prompt_signals(const struct sigaction *previous)
{
    for (size_t i = 0; i < PROMPT_SIGNAL_COUNT; i++) {
        sigaction(prompt_signals[i], &previous[i], NULL);
    }
}

/* Reads one line from the terminal into `buffer` without its line break.
 * Returns 0, READ_TOO_LONG for a line that does not fit, or -1 on a signal,
 * end of file before a line break or a read error. */
static int read_line(int fd, char *buffer, size_t size)
{
    size_t len = 0;
    int too_long = 0;

    for (;;) {
        char c;
        if (caught_signal != 0) {
            return -1;
        }
        ssize_t count = read(fd, &c, 1);
        if (count < 0 && errno == EINTR && caught_signal == 0) {
            continue;
        }
        if (count <= 0) {
            return -1;
        }
        if (c == '\n' || c == '\r') {
            break;
        }
        if (len + 1 < size) {
            buffer[len++] = c;
        } else {
            too_long = 1;
        }
    }
    buffer[len] = '\0';
    return too_long ? READ_TOO_LONG : 0;
}

static void write_text(int fd, const char *text)
{
    ssize_t written = write(fd, text, strlen(text));
    (void)written;
}

/* Prompts on the open terminal `fd` with echo off. Returns what read_line()
 * returns, with caught_signal set when a signal ended the prompt. */
static int prompt_with_echo_off(int fd, const char *user, char *buffer, size_t size)
{
    struct termios saved;
    struct termios quiet;
    struct sigaction previous[PROMPT_SIGNAL_COUNT];

    if (tcgetattr(fd, &saved) != 0) {
        return -1;
    }
    quiet = saved;
    /* ECHONL still echoes the line break, so the next output starts on a
     * line of its own. */
    quiet.c_lflag &= (tcflag_t)~ECHO;
    quiet.c_lflag |= ECHONL;
    catch_prompt_signals(previous);
    int rc = -1;
    /* Echo goes off before the prompt appears, so a password typed as soon as
     * the prompt shows is never echoed. */
    if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0) {
        write_text(fd, "IAM password for ");
        write_text(fd, user);
        write_text(fd, ": ");
        rc = read_line(fd, buffer, size);
        tcsetattr(fd, TCSAFLUSH, &saved);
    }
    /* Without a line break read, ECHONL has not ended the prompt's line. */
    if (rc == -1) {
        write_text(fd, "\n");
    }
    restore_prompt_signals(previous);
    return rc;
}

/* Gives a signal that ended the prompt its usual action, now that the
 * terminal echoes again; for SIGINT that normally ends the process. */
static int end_prompt_by_signal(void)
{
    int signal_number = caught_signal;

    caught_signal = 0;
    raise(signal_number);
    /* Still running: the signal's action does not end the process. */
    return signal_number == SIGINT ? CLI_EXIT_INTERRUPTED : CLI_EXIT_FAILURE;
}

static int prompt_on_terminal(const char *command, const char *user, char **out)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

    if (fd < 0 || !isatty(fd)) {
        if (fd >= 0) {
            close(fd);
        }
        return cli_usage_error(
            command, "missing IAM password for --iam-user: set " ENV_IAM_PASSWORD
                     ", or run hwai on a terminal to type it at a prompt");
    }
    char *buffer = calloc(1, MAX_PASSWORD_BYTES);
    if (buffer == NULL) {
        close(fd);
        return cli_fail("out of memory");
    }
    int rc = prompt_with_echo_off(fd, user, buffer, MAX_PASSWORD_BYTES);
    close(fd);
    if (rc != 0) {
        memset(buffer, 0, MAX_PASSWORD_BYTES);
        free(buffer);
        if (caught_signal != 0) {
            return end_prompt_by_signal();
        }
        if (rc == READ_TOO_LONG) {
            return cli_usage_error(
                command, "the IAM password is longer than %d bytes", MAX_PASSWORD_BYTES - 1);
        }
        return cli_usage_error(
            command, "no IAM password read from the terminal: type it and press Enter");
    }
    if (buffer[0] == '\0') {
        free(buffer);
        return cli_usage_error(command, "the IAM password is empty");
    }
    *out = buffer;
    return CLI_EXIT_OK;
}

int cli_read_iam_password(const char *command, const char *user, char **out)
{
    const char *from_env = getenv(ENV_IAM_PASSWORD);

    *out = NULL;
    if (from_env == NULL || from_env[0] == '\0') {
        return prompt_on_terminal(command, user, out);
    }
    *out = strdup(from_env);
    return *out != NULL ? CLI_EXIT_OK : cli_fail("out of memory");
}
