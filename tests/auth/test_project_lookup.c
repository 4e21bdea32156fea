/* Project id lookup through IAM (GET /v3/projects?name=<region>) against the
 * emulator, whose --project flags set what each region returns:
 * - cn-north-4: not listed, so one project named after the region;
 * - cn-east-3: no project at all;
 * - cn-south-1: two projects both named cn-south-1;
 * - cn-north-9: cn-north-9 and cn-north-9_dev;
 * - ap-southeast-1: only ap-southeast-1_dev.
 * The lookup cache lives for the whole process, so each test uses its own
 * region wherever a cached entry would change the outcome. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "auth/token_cache.h"
#include "emulator.h"
#include "hwai/client.h"

#define SOUTH_FIRST_ID "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SOUTH_SECOND_ID "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define NORTH9_ID "cccccccccccccccccccccccccccccccc"
#define NORTH9_DEV_ID "dddddddddddddddddddddddddddddddd"
#define AP_DEV_ID "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static test_emulator emu;

typedef struct lookup_fixture {
    hwai_credentials *creds;
    hwai_client *client;
} lookup_fixture;

static int start_emulator(void **state)
{
    (void)state;
    const char *const args[] = {
        "--project", "cn-east-3=",
        "--project", "cn-south-1=" SOUTH_FIRST_ID "," SOUTH_SECOND_ID,
        "--project", "cn-north-9=" NORTH9_ID "," NORTH9_DEV_ID ":cn-north-9_dev",
        "--project", "ap-southeast-1=" AP_DEV_ID ":ap-southeast-1_dev",
        NULL,
    };
    return test_emulator_start(&emu, args) ? 0 : -1;
}

static int stop_emulator(void **state)
{
    (void)state;
    test_emulator_stop(&emu);
    return 0;
}

/* A client signing with creds; no project id is configured. */
static hwai_client *client_for(hwai_credentials *creds)
{
    hwai_client_options opts = HWAI_CLIENT_OPTIONS_INIT;
    opts.region = "cn-north-4";
    opts.endpoint = emu.base_url;
    opts.iam_endpoint = emu.base_url;
    opts.credentials = creds;
    hwai_client *client = NULL;
    assert_int_equal(hwai_client_new(&client, &opts, NULL), HWAI_OK);
    return client;
}

static int setup(void **state)
{
    if (!test_emulator_reset(&emu)) {
        return -1;
    }
    lookup_fixture *fx = calloc(1, sizeof(*fx));
    if (!fx || hwai_credentials_new_aksk(&fx->creds, EMU_AK, EMU_SK, NULL, NULL) != HWAI_OK) {
        free(fx);
        return -1;
    }
    fx->client = client_for(fx->creds);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    lookup_fixture *fx = *state;
    hwai_client_free(fx->client);
    hwai_credentials_free(fx->creds);
    free(fx);
    return 0;
}

static long lookup_requests(void)
{
    return test_emulator_stat(&emu, "by_route.iam_projects");
}

/* The single project of the region is taken from a signed request, and the
 * second lookup is served from the cache without a request. */
static void test_lookup_one_match_cached(void **state)
{
    lookup_fixture *fx = *state;
    char *project_id = NULL;
    hwai_error *err = NULL;
    hwai_status status =
        hwai__project_lookup(fx->client, fx->creds, "cn-north-4", &project_id, &err);
    if (status != HWAI_OK) {
        fail_msg("lookup failed: %s", hwai_error_message(err));
    }
    assert_string_equal(project_id, EMU_PROJECT_ID);
    free(project_id);
    assert_int_equal(lookup_requests(), 1);
    assert_int_equal(test_emulator_stat(&emu, "auth_failures"), 0);

    project_id = NULL;
    assert_int_equal(
        hwai__project_lookup(fx->client, fx->creds, "cn-north-4", &project_id, NULL), HWAI_OK);
    assert_string_equal(project_id, EMU_PROJECT_ID);
    free(project_id);
    assert_int_equal(lookup_requests(), 1);
}

/* No project in the region is HWAI_E_CONFIG naming the region. Errors are
 * not cached, so a second lookup sends another request. */
static void test_lookup_zero_names_region(void **state)
{
    lookup_fixture *fx = *state;
    for (long attempt = 1; attempt <= 2; attempt++) {
        char *project_id = NULL;
        hwai_error *err = NULL;
        assert_int_equal(
            hwai__project_lookup(fx->client, fx->creds, "cn-east-3", &project_id, &err),
            HWAI_E_CONFIG);
        assert_null(project_id);
        assert_non_null(strstr(hwai_error_message(err), "no project named 'cn-east-3'"));
        hwai_error_free(err);
        assert_int_equal(lookup_requests(), attempt);
    }
}

/* Two projects with exactly the region's name are HWAI_E_CONFIG listing both. */
static void test_lookup_two_lists_both(void **state)
{
    lookup_fixture *fx = *state;
    char *project_id = NULL;
    hwai_error *err = NULL;
    assert_int_equal(
        hwai__project_lookup(fx->client, fx->creds, "cn-south-1", &project_id, &err),
        HWAI_E_CONFIG);
    assert_null(project_id);
    const char *message = hwai_error_message(err);
    assert_non_null(strstr(message, "more than one project named 'cn-south-1'"));
    assert_non_null(strstr(message, SOUTH_FIRST_ID));
    assert_non_null(strstr(message, SOUTH_SECOND_ID));
    hwai_error_free(err);
}

/* cn-north-9 and cn-north-9_dev: the exact name wins. */
static void test_lookup_exact_name_wins(void **state)
{
    lookup_fixture *fx = *state;
    char *project_id = NULL;
    assert_int_equal(
        hwai__project_lookup(fx->client, fx->creds, "cn-north-9", &project_id, NULL), HWAI_OK);
    assert_string_equal(project_id, NORTH9_ID);
    free(project_id);
}

/* Only a project with another name is HWAI_E_CONFIG listing it. */
static void test_lookup_other_names_only(void **state)
{
    lookup_fixture *fx = *state;
    char *project_id = NULL;
    hwai_error *err = NULL;
    assert_int_equal(
        hwai__project_lookup(fx->client, fx->creds, "ap-southeast-1", &project_id, &err),
        HWAI_E_CONFIG);
    assert_null(project_id);
    const char *message = hwai_error_message(err);
    assert_non_null(strstr(message, "no project named 'ap-southeast-1'"));
    assert_non_null(strstr(message, "ap-southeast-1_dev"));
    assert_non_null(strstr(message, AP_DEV_ID));
    hwai_error_free(err);
}

/* The cache is keyed by access key: another AK does not get the entry that
 * the emulator's AK cached, and sends its own (rejected) request. */
static void test_lookup_cache_per_access_key(void **state)
{
    lookup_fixture *fx = *state;
    char *project_id = NULL;
    assert_int_equal(
        hwai__project_lookup(fx->client, fx->creds, "cn-north-5", &project_id, NULL), HWAI_OK);
    free(project_id);
    project_id = NULL;
    assert_int_equal(lookup_requests(), 1);

    hwai_credentials *other = NULL;
    assert_int_equal(
        hwai_credentials_new_aksk(&other, "HWOTHERAK00000000001", "other-secret", NULL, NULL),
        HWAI_OK);
    hwai_client *other_client = client_for(other);
    hwai_error *err = NULL;
    assert_int_equal(
        hwai__project_lookup(other_client, other, "cn-north-5", &project_id, &err), HWAI_E_SERVICE);
    assert_null(project_id);
    assert_int_equal(hwai_error_http_status(err), 401);
    assert_null(strstr(hwai_error_message(err), "other-secret"));
    hwai_error_free(err);
    assert_int_equal(lookup_requests(), 2);
    hwai_client_free(other_client);
    hwai_credentials_free(other);
}

/* Covers: IAM password credentials (no AK/SK to sign with), and an empty
 * region. Both fail with HWAI_E_CONFIG before any request. */
static void test_lookup_needs_aksk_and_region(void **state)
{
    lookup_fixture *fx = *state;
    hwai_iam_password_options opts = HWAI_IAM_PASSWORD_OPTIONS_INIT;
    opts.user_name = "hwai-user";
    opts.password = "hwai-password";
    opts.domain_name = "hwai-domain";
    hwai_credentials *iam = NULL;
    assert_int_equal(hwai_credentials_new_iam_password(&iam, &opts, NULL), HWAI_OK);
    char *project_id = NULL;
    hwai_error *err = NULL;
    assert_int_equal(
        hwai__project_lookup(fx->client, iam, "cn-north-4", &project_id, &err), HWAI_E_CONFIG);
    assert_non_null(strstr(hwai_error_message(err), "AK/SK"));
    hwai_error_free(err);
    err = NULL;

    assert_int_equal(
        hwai__project_lookup(fx->client, fx->creds, "", &project_id, &err), HWAI_E_CONFIG);
    assert_non_null(strstr(hwai_error_message(err), "region"));
    hwai_error_free(err);
    assert_null(project_id);
    assert_int_equal(lookup_requests(), 0);
    hwai_credentials_free(iam);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookup_one_match_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_zero_names_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_two_lists_both, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_exact_name_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_other_names_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_cache_per_access_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_needs_aksk_and_region, setup, teardown),
    };
    return cmocka_run_group_tests(tests, start_emulator, stop_emulator);
}
