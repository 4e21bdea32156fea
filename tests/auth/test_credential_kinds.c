/* IAM password and no-auth credentials, AK/SK snapshots, the source and
 * project id accessors, and the UTC time parser used for token and key
 * expiry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "auth/credentials_internal.h"
#include "hwai/credentials.h"

#define TEST_AK "HWTESTAK0123456789AB"
#define TEST_SK "hwTestSecretKey0123456789abcdefghijKLMNOP"
#define TEST_PASSWORD "password-do-not-print"

static hwai_iam_password_options valid_iam_options(void)
{
    hwai_iam_password_options opts = HWAI_IAM_PASSWORD_OPTIONS_INIT;
    opts.user_name = "user";
    opts.password = TEST_PASSWORD;
    opts.domain_name = "domain";
    return opts;
}

/* Covers: the fields are copied, an empty project id counts as none, and the
 * accessors report an explicit source, no AK and no project id. */
static void test_iam_password_created(void **state)
{
    (void)state;
    hwai_iam_password_options opts = valid_iam_options();
    opts.project_id = "scope-project";
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_iam_password(&creds, &opts, NULL), HWAI_OK);
    assert_int_equal(hwai_credentials_get_kind(creds), HWAI_CREDENTIALS_IAM_PASSWORD);
    assert_string_equal(creds->user_name, "user");
    assert_string_equal(creds->password, TEST_PASSWORD);
    assert_string_equal(creds->domain_name, "domain");
    assert_string_equal(creds->iam_project_id, "scope-project");
    assert_string_equal(hwai_credentials_source(creds), "explicit");
    assert_null(hwai_credentials_access_key_id(creds));
    assert_null(hwai_credentials_project_id(creds));
    hwai_credentials_free(creds);

    opts.project_id = "";
    assert_int_equal(hwai_credentials_new_iam_password(&creds, &opts, NULL), HWAI_OK);
    assert_null(creds->iam_project_id);
    hwai_credentials_free(creds);
}

/* Covers: NULL opts, versions 0 and 2, and each required field NULL or
 * empty. The message names the field and never contains the password. */
static void test_iam_password_invalid(void **state)
{
    (void)state;
    hwai_error *err = NULL;
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_iam_password(&creds, NULL, &err), HWAI_E_INVALID_ARG);
    assert_non_null(strstr(hwai_error_message(err), "opts"));
    hwai_error_free(err);
    err = NULL;
    hwai_iam_password_options valid = valid_iam_options();
    assert_int_equal(hwai_credentials_new_iam_password(NULL, &valid, &err), HWAI_E_INVALID_ARG);
    hwai_error_free(err);
    err = NULL;

    for (unsigned int version = 0; version <= 2; version += 2) {
        hwai_iam_password_options opts = valid_iam_options();
        opts.version = version;
        assert_int_equal(
            hwai_credentials_new_iam_password(&creds, &opts, &err), HWAI_E_INVALID_ARG);
        assert_non_null(strstr(hwai_error_message(err), "version"));
        hwai_error_free(err);
        err = NULL;
    }

    const char *fields[] = { "user_name", "password", "domain_name" };
    const char *values[] = { NULL, "" };
    for (size_t f = 0; f < 3; f++) {
        for (size_t v = 0; v < 2; v++) {
            hwai_iam_password_options opts = valid_iam_options();
            const char **target = f == 0   ? &opts.user_name
                                  : f == 1 ? &opts.password
                                           : &opts.domain_name;
            *target = values[v];
            assert_int_equal(
                hwai_credentials_new_iam_password(&creds, &opts, &err), HWAI_E_INVALID_ARG);
            assert_null(creds);
            assert_non_null(strstr(hwai_error_message(err), fields[f]));
            assert_null(strstr(hwai_error_message(err), TEST_PASSWORD));
            hwai_error_free(err);
            err = NULL;
        }
    }
}

static void test_none_created(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_none(&creds, NULL), HWAI_OK);
    assert_int_equal(hwai_credentials_get_kind(creds), HWAI_CREDENTIALS_NONE);
    assert_string_equal(hwai_credentials_source(creds), "explicit");
    assert_null(hwai_credentials_access_key_id(creds));
    hwai_credentials_free(creds);

    hwai_error *err = NULL;
    assert_int_equal(hwai_credentials_new_none(NULL, &err), HWAI_E_INVALID_ARG);
    hwai_error_free(err);
}

/* Covers: the snapshot of AK/SK credentials contains copies, with and without a
 * security token; API key credentials and NULL are rejected. */
static void test_snapshot_copies_keys(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, TEST_AK, TEST_SK, "tok-1", NULL), HWAI_OK);
    hwai__aksk_snapshot snap = HWAI__AKSK_SNAPSHOT_INIT;
    assert_int_equal(hwai__credentials_snapshot(creds, &snap, NULL), HWAI_OK);
    assert_string_equal(snap.ak, TEST_AK);
    assert_string_equal(snap.sk, TEST_SK);
    assert_string_equal(snap.security_token, "tok-1");
    assert_ptr_not_equal(snap.sk, creds->sk);
    hwai__aksk_snapshot_cleanup(&snap);
    assert_null(snap.sk);
    hwai_credentials_free(creds);

    assert_int_equal(hwai_credentials_new_aksk(&creds, TEST_AK, TEST_SK, NULL, NULL), HWAI_OK);
    assert_int_equal(hwai__credentials_snapshot(creds, &snap, NULL), HWAI_OK);
    assert_null(snap.security_token);
    hwai__aksk_snapshot_cleanup(&snap);
    hwai_credentials_free(creds);

    assert_int_equal(hwai_credentials_new_api_key(&creds, "key-1", NULL), HWAI_OK);
    hwai_error *err = NULL;
    assert_int_equal(hwai__credentials_snapshot(creds, &snap, &err), HWAI_E_INVALID_ARG);
    assert_null(snap.ak);
    hwai_error_free(err);
    err = NULL;
    assert_int_equal(hwai__credentials_snapshot(NULL, &snap, &err), HWAI_E_INVALID_ARG);
    hwai_error_free(err);
    hwai_credentials_free(creds);
}

static void test_accessors_accept_null(void **state)
{
    (void)state;
    assert_null(hwai_credentials_source(NULL));
    assert_null(hwai_credentials_project_id(NULL));
    assert_null(hwai_credentials_access_key_id(NULL));
}

/* Covers: fractional seconds of 6 and 9 digits and none, "+00:00", the
 * epoch, leap days in 2000 and 2024, the day after the skipped leap day of
 * 2100, the last second of 9999 and a leap second. */
static void test_utc_time_valid(void **state)
{
    (void)state;
    struct {
        const char *text;
        int64_t expected;
    } cases[] = {
        { "2030-01-02T03:04:05.000000Z", INT64_C(1893553445) },
        { "2030-01-02T03:04:05.123456789Z", INT64_C(1893553445) },
        { "2030-01-02T03:04:05Z", INT64_C(1893553445) },
        { "2030-01-02T03:04:05+00:00", INT64_C(1893553445) },
        { "1970-01-01T00:00:00Z", INT64_C(0) },
        { "2024-02-29T12:00:00.5Z", INT64_C(1709208000) },
        { "2000-02-29T23:59:59Z", INT64_C(951868799) },
        { "2100-03-01T00:00:00Z", INT64_C(4107542400) },
        { "9999-12-31T23:59:59Z", INT64_C(253402300799) },
        { "2016-12-31T23:59:60Z", INT64_C(1483228800) },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t value = -1;
        if (!hwai__parse_utc_time(cases[i].text, &value)) {
            fail_msg("'%s' was rejected", cases[i].text);
        }
        if (value != cases[i].expected) {
            fail_msg(
                "'%s' gave %lld, expected %lld", cases[i].text, (long long)value,
                (long long)cases[i].expected);
        }
    }
}

/* Covers: NULL, empty text, non-leap 29 February (2023 and 2100), month 13,
 * day 0 and 32, hour 24 and minute 60. Also: no zone, another zone, a space
 * for 'T', a '.' without digits, trailing text, a year before 1970 and a
 * short year. */
static void test_utc_time_invalid(void **state)
{
    (void)state;
    const char *cases[] = {
        "",
        "2023-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2030-13-01T00:00:00Z",
        "2030-01-00T00:00:00Z",
        "2030-01-32T00:00:00Z",
        "2030-01-02T24:00:00Z",
        "2030-01-02T03:60:00Z",
        "2030-01-02T03:04:05",
        "2030-01-02T03:04:05+08:00",
        "2030-01-02 03:04:05Z",
        "2030-01-02T03:04:05.Z",
        "2030-01-02T03:04:05Zjunk",
        "1969-12-31T23:59:59Z",
        "230-01-02T03:04:05Z",
    };
    int64_t value = 42;
    assert_false(hwai__parse_utc_time(NULL, &value));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (hwai__parse_utc_time(cases[i], &value)) {
            fail_msg("'%s' was accepted", cases[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iam_password_created),  cmocka_unit_test(test_iam_password_invalid),
        cmocka_unit_test(test_none_created),          cmocka_unit_test(test_snapshot_copies_keys),
        cmocka_unit_test(test_accessors_accept_null), cmocka_unit_test(test_utc_time_valid),
        cmocka_unit_test(test_utc_time_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
