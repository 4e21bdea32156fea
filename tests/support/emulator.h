/* Starts the Python emulator of the Huawei Cloud endpoints on a free loopback
 * port for one test program, and talks to its control endpoints. */
#ifndef HWAI_TEST_EMULATOR_H
#define HWAI_TEST_EMULATOR_H

#include <stdbool.h>
#include <sys/types.h>

/* The emulator's documented default credentials. */
#define EMU_AK "HWAIEMULATORAK000001"
#define EMU_SK "hwai-emulator-sk-0123456789abcdef"
#define EMU_PROJECT_ID "0123456789abcdef0123456789abcdef"
#define EMU_API_KEY "hwai-emulator-api-key"
#define EMU_SECURITY_TOKEN "hwai-emulator-security-token"

typedef struct test_emulator {
    pid_t pid;
    int port;
    char base_url[64];
} test_emulator;

/* Starts `$HWAI_PYTHON $HWAI_EMULATOR --port 0 --quiet [extra_args...]` and waits
 * for its "listening on" line. extra_args is NULL-terminated or NULL. */
bool test_emulator_start(test_emulator *emu, const char *const *extra_args);
void test_emulator_stop(test_emulator *emu);

/* GET or POST a control path such as "/_emulator/stats"; returns the body
 * (caller frees) or NULL. post_body NULL means GET. */
char *test_emulator_control(const test_emulator *emu, const char *path, const char *post_body);

/* Reads one counter from /_emulator/stats: "connections", "requests", or
 * "by_route.chat". Returns -1 when missing. */
long test_emulator_stat(const test_emulator *emu, const char *name);

bool test_emulator_reset(const test_emulator *emu);

/* Queues scripted responses: json is the whole body of /_emulator/script. */
bool test_emulator_script(const test_emulator *emu, const char *json);

#endif
