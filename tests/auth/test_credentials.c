/* Credentials: creation, argument checks and reference counting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "auth/credentials_internal.h"
#include "hwai/credentials.h"

#define TEST_AK "HWTESTAK0123456789AB"
#define TEST_SK "hwTestSecretKey0123456789abcdefghijKLMNOP"

static void test_aksk_created(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, TEST_AK, TEST_SK, NULL, NULL), HWAI_OK);
    assert_non_null(creds);
    assert_int_equal(hwai_credentials_get_kind(creds), HWAI_CREDENTIALS_AKSK);
    assert_string_equal(creds->ak, TEST_AK);
    assert_string_equal(creds->sk, TEST_SK);
    assert_null(creds->security_token);
    assert_null(creds->api_key);
    hwai_credentials_free(creds);
}

/* Covers: a token is copied, and an empty token counts as none. */
static void test_aksk_security_token(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, TEST_AK, TEST_SK, "tok-1", NULL), HWAI_OK);
    assert_string_equal(creds->security_token, "tok-1");
    hwai_credentials_free(creds);

    assert_int_equal(hwai_credentials_new_aksk(&creds, TEST_AK, TEST_SK, "", NULL), HWAI_OK);
    assert_null(creds->security_token);
    hwai_credentials_free(creds);
}

/* The SK is only an HMAC key, so spaces and other bytes are accepted. */
static void test_aksk_sk_any_bytes(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    assert_int_equal(
        hwai_credentials_new_aksk(&creds, TEST_AK, "s k\t\xe4\xb8\xad", NULL, NULL), HWAI_OK);
    assert_string_equal(creds->sk, "s k\t\xe4\xb8\xad");
    hwai_credentials_free(creds);
}

/* Covers: NULL out, NULL or empty AK and SK, and an AK or token with a space, CR,
 * LF or non-ASCII byte. The message names the parameter and never the SK. */
static void test_aksk_invalid_args(void **state)
{
    (void)state;
    struct {
        const char *ak;
        const char *sk;
        const char *token;
        const char *named;
    } cases[] = {
        { NULL, TEST_SK, NULL, "ak" },
        { "", TEST_SK, NULL, "ak" },
        { TEST_AK, NULL, NULL, "sk" },
        { TEST_AK, "", NULL, "sk" },
        { "AK WITH SPACE", TEST_SK, NULL, "ak" },
        { "AK\r\nX-Injected: 1", TEST_SK, NULL, "ak" },
        { "AK\xe4\xb8\xad", TEST_SK, NULL, "ak" },
        { TEST_AK, TEST_SK, "tok\nen", "security_token" },
        { TEST_AK, TEST_SK, "tok en", "security_token" },
    };
    /* A failed call must reset *out to NULL, so start from another pointer. */
    static hwai_credentials placeholder;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hwai_credentials *creds = &placeholder;
        hwai_error *err = NULL;
        hwai_status status =
            hwai_credentials_new_aksk(&creds, cases[i].ak, cases[i].sk, cases[i].token, &err);
        if (status != HWAI_E_INVALID_ARG) {
            fail_msg("case %zu gave status %d, expected HWAI_E_INVALID_ARG", i, status);
        }
        assert_null(creds);
        assert_non_null(strstr(hwai_error_message(err), cases[i].named));
        assert_null(strstr(hwai_error_message(err), TEST_SK));
        hwai_error_free(err);
    }
    assert_int_equal(
        hwai_credentials_new_aksk(NULL, TEST_AK, TEST_SK, NULL, NULL), HWAI_E_INVALID_ARG);
}

static void test_api_key_created(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    const char *key = "sk-Abc_123.~!#$%&'*+-/=?^`{|}";
    assert_int_equal(hwai_credentials_new_api_key(&creds, key, NULL), HWAI_OK);
    assert_int_equal(hwai_credentials_get_kind(creds), HWAI_CREDENTIALS_API_KEY);
    assert_string_equal(creds->api_key, key);
    assert_null(creds->ak);
    assert_null(creds->sk);
    hwai_credentials_free(creds);
}

/* Covers: NULL, empty, a space, tab, CR, LF, DEL and a non-ASCII byte, each
 * rejected with a message that names api_key but does not show the key. */
static void test_api_key_invalid(void **state)
{
    (void)state;
    const char *keys[] = {
        NULL,
        "",
        "secret key",
        "secret\tkey",
        "secret\rkey",
        "secret\nkey",
        "secret\x7fkey",
        "secret\xc3\xa9key",
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        hwai_credentials *creds = NULL;
        hwai_error *err = NULL;
        assert_int_equal(hwai_credentials_new_api_key(&creds, keys[i], &err), HWAI_E_INVALID_ARG);
        assert_null(creds);
        assert_non_null(strstr(hwai_error_message(err), "api_key"));
        assert_null(strstr(hwai_error_message(err), "secret"));
        hwai_error_free(err);
    }
    assert_int_equal(hwai_credentials_new_api_key(NULL, "key", NULL), HWAI_E_INVALID_ARG);
}

static void test_kind_and_free_accept_null(void **state)
{
    (void)state;
    assert_int_equal(hwai_credentials_get_kind(NULL), 0);
    hwai_credentials_free(NULL);
    assert_null(hwai__credentials_ref(NULL));
}

/* Each reference keeps the object alive; the last free releases it (checked for
 * leaks and use after free under AddressSanitizer). */
static void test_refcount(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, TEST_AK, TEST_SK, "tok", NULL), HWAI_OK);
    assert_int_equal(atomic_load(&creds->refs), 1);
    assert_ptr_equal(hwai__credentials_ref(creds), creds);
    assert_ptr_equal(hwai__credentials_ref(creds), creds);
    assert_int_equal(atomic_load(&creds->refs), 3);

    hwai_credentials_free(creds);
    hwai_credentials_free(creds);
    assert_int_equal(atomic_load(&creds->refs), 1);
    assert_string_equal(creds->sk, TEST_SK);
    hwai_credentials_free(creds);
}

#define THREAD_COUNT 8
#define REFS_PER_THREAD 10000

static void *take_and_drop_refs(void *arg)
{
    hwai_credentials *creds = arg;
    for (int i = 0; i < REFS_PER_THREAD; i++) {
        hwai_credentials_free(hwai__credentials_ref(creds));
    }
    hwai_credentials_free(creds);
    return NULL;
}

/* Threads taking and dropping references concurrently leave the count exact. */
static void test_refcount_threads(void **state)
{
    (void)state;
    hwai_credentials *creds = NULL;
    assert_int_equal(hwai_credentials_new_aksk(&creds, TEST_AK, TEST_SK, NULL, NULL), HWAI_OK);
    pthread_t threads[THREAD_COUNT];
    for (int i = 0; i < THREAD_COUNT; i++) {
        /* Each thread owns one reference and drops it when done. */
        assert_non_null(hwai__credentials_ref(creds));
        assert_int_equal(pthread_create(&threads[i], NULL, take_and_drop_refs, creds), 0);
    }
    for (int i = 0; i < THREAD_COUNT; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    assert_int_equal(atomic_load(&creds->refs), 1);
    hwai_credentials_free(creds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aksk_created),
        cmocka_unit_test(test_aksk_security_token),
        cmocka_unit_test(test_aksk_sk_any_bytes),
        cmocka_unit_test(test_aksk_invalid_args),
        cmocka_unit_test(test_api_key_created),
        cmocka_unit_test(test_api_key_invalid),
        cmocka_unit_test(test_kind_and_free_accept_null),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_refcount_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
