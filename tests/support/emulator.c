#include "emulator.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *env_or(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

bool test_emulator_start(test_emulator *emu, const char *const *extra_args)
{
    memset(emu, 0, sizeof(*emu));
    const char *python = env_or("HWAI_PYTHON", "python3");
    const char *script = env_or("HWAI_EMULATOR", "tools/emulator/hwai_emulator.py");
    const char *argv[32] = { python, script, "--port", "0", "--quiet" };
    size_t argc = 5;
    for (size_t i = 0; extra_args && extra_args[i] && argc < 31; i++) {
        argv[argc++] = extra_args[i];
    }
    argv[argc] = NULL;
    int out[2];
    if (pipe(out) != 0) {
        return false;
    }
    pid_t pid = fork();
    if (pid < 0) {
        return false;
    }
    if (pid == 0) {
        /* A test that crashes must not leave its emulator running. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    FILE *stream = fdopen(out[0], "r");
    char line[256] = { 0 };
    bool ok = stream && fgets(line, sizeof(line), stream) &&
              sscanf(line, "listening on http://127.0.0.1:%d", &emu->port) == 1;
    if (stream) {
        /* The emulator prints nothing more on stdout; closing is safe. */
        fclose(stream);
    }
    emu->pid = pid;
    if (!ok) {
        fprintf(stderr, "emulator did not start (first line: '%s')\n", line);
        test_emulator_stop(emu);
        return false;
    }
    snprintf(emu->base_url, sizeof(emu->base_url), "http://127.0.0.1:%d", emu->port);
    return true;
}

void test_emulator_stop(test_emulator *emu)
{
    if (emu->pid > 0) {
        kill(emu->pid, SIGTERM);
        waitpid(emu->pid, NULL, 0);
        emu->pid = 0;
    }
}

static size_t collect(char *data, size_t size, size_t count, void *user)
{
    FILE *sink = user;
    return fwrite(data, size, count, sink) * size;
}

char *test_emulator_control(const test_emulator *emu, const char *path, const char *post_body)
{
    char *body = NULL;
    size_t body_len = 0;
    FILE *sink = open_memstream(&body, &body_len);
    CURL *easy = curl_easy_init();
    if (!sink || !easy) {
        if (sink) {
            fclose(sink);
        }
        free(body);
        curl_easy_cleanup(easy);
        return NULL;
    }
    char url[256];
    snprintf(url, sizeof(url), "%s%s", emu->base_url, path);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, sink);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (post_body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, post_body);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    }
    CURLcode rc = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
    fclose(sink);
    if (rc != CURLE_OK || status >= 300) {
        fprintf(
            stderr, "emulator control %s failed: HTTP %ld, %s\n", path, status,
            curl_easy_strerror(rc));
        free(body);
        return NULL;
    }
    return body;
}

long test_emulator_stat(const test_emulator *emu, const char *name)
{
    char *body = test_emulator_control(emu, "/_emulator/stats", NULL);
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    long value = -1;
    const char *dot = strchr(name, '.');
    json_t *node = root;
    if (dot) {
        char parent[64];
        snprintf(parent, sizeof(parent), "%.*s", (int)(dot - name), name);
        node = json_object_get(root, parent);
        name = dot + 1;
    }
    json_t *item = json_object_get(node, name);
    if (json_is_integer(item)) {
        value = (long)json_integer_value(item);
    } else if (node && dot) {
        value = 0;
    }
    json_decref(root);
    return value;
}

bool test_emulator_reset(const test_emulator *emu)
{
    char *body = test_emulator_control(emu, "/_emulator/reset", "{}");
    free(body);
    return body != NULL;
}

bool test_emulator_script(const test_emulator *emu, const char *json)
{
    char *body = test_emulator_control(emu, "/_emulator/script", json);
    free(body);
    return body != NULL;
}
