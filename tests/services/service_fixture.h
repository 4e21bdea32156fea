/* A client wired to a per-program emulator, shared by the service tests. */
#ifndef HWAI_TEST_SERVICE_FIXTURE_H
#define HWAI_TEST_SERVICE_FIXTURE_H

#include <hwai/hwai.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "emulator.h"

extern test_emulator fixture_emulator;

/* Every log line of every client made through fixture_client, joined, so a
 * test can check that no secret reached the log. */
extern char *fixture_log;

typedef struct fixture_options {
    const char *ak;
    const char *sk;
    const char *security_token;
    const char *api_key;
    const char *project_id;
    const char *endpoint_suffix;
} fixture_options;

int fixture_group_setup(void **state);
int fixture_group_teardown(void **state);

/* Makes a client for the emulator. Fields left NULL take the emulator's
 * defaults (AK/SK credentials and its project id); api_key switches to
 * API key credentials. */
hwai_client *fixture_client(const fixture_options *opts);

/* Fails the test when the collected log contains text. */
void fixture_assert_log_lacks(const char *text);

#endif
