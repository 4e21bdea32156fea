#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "service_fixture.h"

test_emulator fixture_emulator;
char *fixture_log;
static size_t fixture_log_len;
static pthread_mutex_t fixture_log_lock = PTHREAD_MUTEX_INITIALIZER;

static void collect_log(hwai_log_level level, const char *message, void *user_data)
{
    (void)level;
    (void)user_data;
    size_t len = strlen(message);
    pthread_mutex_lock(&fixture_log_lock);
    char *grown = realloc(fixture_log, fixture_log_len + len + 2);
    if (grown) {
        fixture_log = grown;
        memcpy(fixture_log + fixture_log_len, message, len);
        fixture_log_len += len;
        fixture_log[fixture_log_len++] = '\n';
        fixture_log[fixture_log_len] = '\0';
    }
    pthread_mutex_unlock(&fixture_log_lock);
}

int fixture_group_setup(void **state)
{
    (void)state;
    return test_emulator_start(&fixture_emulator, NULL) ? 0 : -1;
}

int fixture_group_teardown(void **state)
{
    (void)state;
    test_emulator_stop(&fixture_emulator);
    free(fixture_log);
    fixture_log = NULL;
    fixture_log_len = 0;
    return 0;
}

hwai_client *fixture_client(const fixture_options *opts)
{
    fixture_options defaults = { 0 };
    if (!opts) {
        opts = &defaults;
    }
    hwai_error *err = NULL;
    hwai_credentials *creds = NULL;
    if (opts->api_key) {
        assert_int_equal(hwai_credentials_new_api_key(&creds, opts->api_key, &err), HWAI_OK);
    } else {
        assert_int_equal(
            hwai_credentials_new_aksk(
                &creds, opts->ak ? opts->ak : EMU_AK, opts->sk ? opts->sk : EMU_SK,
                opts->security_token, &err),
            HWAI_OK);
    }
    char endpoint[128];
    snprintf(
        endpoint, sizeof(endpoint), "%s%s", fixture_emulator.base_url,
        opts->endpoint_suffix ? opts->endpoint_suffix : "");
    hwai_client_options options = HWAI_CLIENT_OPTIONS_INIT;
    options.endpoint = endpoint;
    options.project_id = opts->project_id ? opts->project_id : EMU_PROJECT_ID;
    if (opts->project_id && !*opts->project_id) {
        options.project_id = NULL;
    }
    options.credentials = creds;
    options.timeout_ms = 20000;
    options.log_cb = collect_log;
    options.log_level = HWAI_LOG_DEBUG;
    hwai_client *client = NULL;
    hwai_status status = hwai_client_new(&client, &options, &err);
    if (status != HWAI_OK) {
        fprintf(stderr, "hwai_client_new: %s\n", hwai_error_message(err));
    }
    assert_int_equal(status, HWAI_OK);
    hwai_credentials_free(creds);
    return client;
}

void fixture_assert_log_lacks(const char *text)
{
    pthread_mutex_lock(&fixture_log_lock);
    bool found = fixture_log && strstr(fixture_log, text);
    pthread_mutex_unlock(&fixture_log_lock);
    assert_false(found);
}
