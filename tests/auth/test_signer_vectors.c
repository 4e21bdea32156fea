/* Runs every signing vector in $HWAI_TEST_DATA_DIR/sign-vectors.jsonl through the
 * public hwai_sign() and compares each intermediate value with the recorded one.
 *
 * Output: one line per vector ("PASS name", "FAIL name: ...", "SKIP name: reason"),
 * then "N passed, N failed, N skipped" as the last line. Secret material (SK,
 * signature, Authorization value, derived key) is compared but never printed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/signer.h"
#include "crypto/crypto.h"
#include "hwai/credentials.h"
#include "hwai/sign.h"

#define REQUIRES_SM3_TAG "requires-sm3"

/* One line of vectors-skipped.txt. */
typedef struct skip_entry {
    char *name;
    char *reason;
    bool requires_sm3;
    bool found;
} skip_entry;

typedef struct skip_list {
    skip_entry *items;
    size_t count;
} skip_list;

typedef struct tally {
    unsigned int passed;
    unsigned int failed;
    unsigned int skipped;
} tally;

static tally totals;

/* ---- small helpers ---- */

static char *data_path(const char *file)
{
    const char *dir = getenv("HWAI_TEST_DATA_DIR");
    if (!dir) {
        dir = "tests/data";
    }
    size_t len = strlen(dir) + strlen(file) + 2;
    char *path = malloc(len);
    assert_non_null(path);
    snprintf(path, len, "%s/%s", dir, file);
    return path;
}

/* Prints text on one line, with newlines and tabs shown as \n and \t. */
static void print_escaped(const char *text)
{
    for (const char *p = text ? text : "(null)"; *p; p++) {
        if (*p == '\n') {
            fputs("\\n", stdout);
        } else if (*p == '\t') {
            fputs("\\t", stdout);
        } else {
            putchar(*p);
        }
    }
}

static int base64_value(char c)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *hit = c ? strchr(alphabet, c) : NULL;
    return hit ? (int)(hit - alphabet) : -1;
}

/* Decodes standard base64 with padding; returns NULL on malformed input. */
static unsigned char *base64_decode(const char *text, size_t *out_len)
{
    size_t len = strlen(text);
    unsigned char *out = malloc(len / 4 * 3 + 1);
    assert_non_null(out);
    size_t n = 0;
    uint32_t bits = 0;
    int bit_count = 0;
    for (size_t i = 0; i < len && text[i] != '='; i++) {
        int value = base64_value(text[i]);
        if (value < 0) {
            free(out);
            return NULL;
        }
        bits = bits << 6 | (uint32_t)value;
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out[n++] = (unsigned char)(bits >> bit_count);
        }
    }
    *out_len = n;
    return out;
}

static const char *json_text(const json_t *vector, const char *key)
{
    return json_string_value(json_object_get(vector, key));
}

/* ---- skip list ---- */

static void skip_list_cleanup(skip_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].name);
        free(list->items[i].reason);
    }
    free(list->items);
}

/* Reads vectors-skipped.txt; a malformed line counts as a failure. */
static void skip_list_load(skip_list *list)
{
    char *path = data_path("vectors-skipped.txt");
    FILE *file = fopen(path, "r");
    if (!file) {
        printf("FAIL cannot open %s\n", path);
        totals.failed++;
        free(path);
        return;
    }
    char line[1024];
    unsigned int line_number = 0;
    while (fgets(line, sizeof(line), file)) {
        line_number++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#') {
            continue;
        }
        char *tab = strchr(line, '\t');
        if (!tab || tab == line || tab[1] == '\0') {
            printf("FAIL vectors-skipped.txt line %u: expected name<TAB>reason\n", line_number);
            totals.failed++;
            continue;
        }
        *tab = '\0';
        list->items = realloc(list->items, (list->count + 1) * sizeof(*list->items));
        assert_non_null(list->items);
        skip_entry *entry = &list->items[list->count++];
        entry->name = strdup(line);
        entry->reason = strdup(tab + 1);
        entry->requires_sm3 = strncmp(tab + 1, REQUIRES_SM3_TAG, strlen(REQUIRES_SM3_TAG)) == 0;
        entry->found = false;
    }
    fclose(file);
    free(path);
}

static skip_entry *skip_list_find(skip_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++) {
        if (strcmp(list->items[i].name, name) == 0) {
            return &list->items[i];
        }
    }
    return NULL;
}

/* ---- one vector ---- */

/* The inputs of hwai_sign() built from a vector, with their storage. */
typedef struct vector_input {
    hwai_sign_input sign;
    hwai_http_header *headers;
    unsigned char *body;
} vector_input;

static bool algorithm_from_name(const char *name, hwai_sign_algorithm *out)
{
    if (!name) {
        *out = 0;
    } else if (strcmp(name, "SDK-HMAC-SHA256") == 0) {
        *out = HWAI_SIGN_SDK_HMAC_SHA256;
    } else if (strcmp(name, "V11-HMAC-SHA256") == 0) {
        *out = HWAI_SIGN_V11_HMAC_SHA256;
    } else if (strcmp(name, "SDK-HMAC-SM3") == 0) {
        *out = HWAI_SIGN_SDK_HMAC_SM3;
    } else {
        return false;
    }
    return true;
}

/* Fills input from the vector; returns a reason when the vector is unusable. */
static const char *vector_input_init(vector_input *input, const json_t *vector)
{
    memset(input, 0, sizeof(*input));
    assert_int_equal(hwai_sign_input_init(&input->sign, HWAI_SIGN_INPUT_VERSION), HWAI_OK);
    input->sign.method = json_text(vector, "method");
    input->sign.url = json_text(vector, "url");
    input->sign.service = json_text(vector, "derived_auth_service_name");
    input->sign.region = json_text(vector, "region_id");
    if (!algorithm_from_name(json_text(vector, "algorithm"), &input->sign.algorithm)) {
        return "unknown algorithm";
    }

    const json_t *headers = json_object_get(vector, "headers");
    input->headers = calloc(json_object_size(headers) + 1, sizeof(*input->headers));
    assert_non_null(input->headers);
    const char *name;
    json_t *value;
    size_t count = 0;
    json_object_foreach((json_t *)headers, name, value)
    {
        input->headers[count].name = name;
        input->headers[count].value = json_string_value(value);
        count++;
    }
    input->sign.headers = input->headers;
    input->sign.header_count = count;

    const json_t *body = json_object_get(vector, "body");
    const char *body_b64 = json_text(vector, "body_b64");
    if (body_b64) {
        size_t len = 0;
        input->body = base64_decode(body_b64, &len);
        if (!input->body) {
            return "body_b64 is not valid base64";
        }
        input->sign.body = input->body;
        input->sign.body_len = len;
    } else if (json_is_string(body)) {
        input->sign.body = json_string_value(body);
        input->sign.body_len = json_string_length(body);
    }
    return NULL;
}

static void vector_input_cleanup(vector_input *input)
{
    free(input->headers);
    free(input->body);
}

/* Collects differences; only the first is printed, with values when not secret. */
typedef struct comparison {
    const char *name;
    unsigned int differences;
} comparison;

static void compare_text(
    comparison *cmp, const char *field, const char *expected, const char *actual, bool secret)
{
    if (expected && actual && strcmp(expected, actual) == 0) {
        return;
    }
    if (cmp->differences++ > 0) {
        return;
    }
    printf("FAIL %s: %s differs", cmp->name, field);
    if (secret) {
        fputs(" (values not shown)", stdout);
    } else {
        fputs(": expected \"", stdout);
        print_escaped(expected);
        fputs("\", actual \"", stdout);
        print_escaped(actual);
        putchar('"');
    }
}

/* Compares the signed request's headers, in order, with headers_after_signing. */
static void compare_headers(comparison *cmp, const hwai_signed_request *req, const json_t *vector)
{
    const json_t *expected = json_object_get(vector, "headers_after_signing");
    if (!expected) {
        return;
    }
    size_t index = 0;
    const char *name;
    json_t *value;
    json_object_foreach((json_t *)expected, name, value)
    {
        bool secret = strcmp(name, "Authorization") == 0;
        char field[128];
        snprintf(field, sizeof(field), "header %zu (%s)", index + 1, name);
        if (index >= req->header_count) {
            compare_text(cmp, field, name, NULL, false);
        } else {
            compare_text(cmp, field, name, req->headers[index].name, false);
            compare_text(cmp, field, json_string_value(value), req->headers[index].value, secret);
        }
        index++;
    }
    if (req->header_count != index) {
        char expected_count[32];
        char actual_count[32];
        snprintf(expected_count, sizeof(expected_count), "%zu", index);
        snprintf(actual_count, sizeof(actual_count), "%zu", req->header_count);
        compare_text(cmp, "header count", expected_count, actual_count, false);
    }
}

static void compare_v11_key(comparison *cmp, const json_t *vector)
{
    const char *expected = json_text(vector, "derived_signing_key");
    if (!expected) {
        return;
    }
    char info[256];
    snprintf(
        info, sizeof(info), "%.8s/%s/%s", json_text(vector, "sdk_date"),
        json_text(vector, "region_id"), json_text(vector, "derived_auth_service_name"));
    char key[HWAI__SHA256_HEX_LEN + 1] = "";
    hwai_status status =
        hwai__sign_v11_key(json_text(vector, "ak"), json_text(vector, "sk"), info, key);
    compare_text(cmp, "derived_signing_key", expected, status == HWAI_OK ? key : NULL, true);
    hwai__zeroize(key, sizeof(key));
}

static bool run_success_vector(
    const char *name,
    const json_t *vector,
    hwai_status status,
    const hwai_signed_request *req,
    const hwai_error *err)
{
    if (status != HWAI_OK) {
        printf(
            "FAIL %s: hwai_sign returned %s: %s\n", name, hwai_status_str(status),
            hwai_error_message(err));
        return false;
    }
    comparison cmp = { name, 0 };
    compare_text(
        &cmp, "canonical_request", json_text(vector, "canonical_request"), req->canonical_request,
        false);
    compare_text(
        &cmp, "string_to_sign", json_text(vector, "string_to_sign"), req->string_to_sign, false);
    compare_text(
        &cmp, "signed_headers", json_text(vector, "signed_headers"), req->signed_headers, false);
    compare_text(&cmp, "uri", json_text(vector, "request_uri"), req->uri, false);
    compare_text(&cmp, "signature", json_text(vector, "signature"), req->signature, true);
    compare_text(
        &cmp, "authorization", json_text(vector, "authorization"), req->authorization, true);
    compare_headers(&cmp, req, vector);
    compare_v11_key(&cmp, vector);
    if (cmp.differences > 1) {
        printf(" (and %u more differences)", cmp.differences - 1);
    }
    if (cmp.differences > 0) {
        putchar('\n');
        return false;
    }
    printf("PASS %s\n", name);
    return true;
}

/* What a vector whose reference signer raised must produce instead. */
typedef struct expected_error {
    const char *reference_error; /* part of the vector's "error" text */
    hwai_status status;
    /* The message must contain this; NULL means the vector's X-Sdk-Date value. */
    const char *message_part;
} expected_error;

static const expected_error expected_errors[] = {
    { "ak is required", HWAI_E_INVALID_ARG, "ak" },
    { "does not match format", HWAI_E_SIGN, NULL },
    { "IndexError", HWAI_E_INVALID_ARG, "path" },
};

static bool
run_error_vector(const char *name, const json_t *vector, hwai_status status, const hwai_error *err)
{
    const char *reference = json_text(vector, "error");
    const expected_error *expected = NULL;
    for (size_t i = 0; i < sizeof(expected_errors) / sizeof(expected_errors[0]); i++) {
        if (strstr(reference, expected_errors[i].reference_error)) {
            expected = &expected_errors[i];
        }
    }
    const char *message = hwai_error_message(err);
    const char *sk = json_text(vector, "sk");
    if (status == HWAI_OK) {
        printf("FAIL %s: signing succeeded, expected an error like \"%s\"\n", name, reference);
        return false;
    }
    if (!expected) {
        printf("FAIL %s: no expected status is known for \"%s\"\n", name, reference);
        return false;
    }
    if (status != expected->status) {
        printf(
            "FAIL %s: status %s, expected %s\n", name, hwai_status_str(status),
            hwai_status_str(expected->status));
        return false;
    }
    const char *part = expected->message_part;
    if (!part) {
        part = json_text(json_object_get(vector, "headers"), "X-Sdk-Date");
    }
    if (!part || !strstr(message, part)) {
        printf("FAIL %s: message \"%s\" lacks \"%s\"\n", name, message, part ? part : "");
        return false;
    }
    if (sk && *sk && strstr(message, sk)) {
        printf("FAIL %s: the error message contains the SK\n", name);
        return false;
    }
    printf("PASS %s (%s: %s)\n", name, hwai_status_str(status), message);
    return true;
}

/* Signs one vector through the public API. Credential creation is part of the
 * path: it is where an empty AK is rejected. */
static bool run_vector(const char *name, const json_t *vector)
{
    vector_input input;
    const char *unusable = vector_input_init(&input, vector);
    if (unusable) {
        printf("FAIL %s: %s\n", name, unusable);
        vector_input_cleanup(&input);
        return false;
    }
    hwai_credentials *creds = NULL;
    hwai_signed_request *req = NULL;
    hwai_error *err = NULL;
    hwai_status status = hwai_credentials_new_aksk(
        &creds, json_text(vector, "ak"), json_text(vector, "sk"), NULL, &err);
    if (status == HWAI_OK) {
        status = hwai_sign(&req, creds, &input.sign, &err);
    }
    bool passed;
    if (json_text(vector, "error")) {
        passed = run_error_vector(name, vector, status, err);
    } else {
        passed = run_success_vector(name, vector, status, req, err);
    }
    hwai_signed_request_free(req);
    hwai_credentials_free(creds);
    hwai_error_free(err);
    vector_input_cleanup(&input);
    return passed;
}

/* ---- driver ---- */

/* Skips a vector only when vectors-skipped.txt lists it; a requires-sm3 entry is
 * honoured only in builds without SM3. */
static bool should_skip(skip_list *skips, const char *name)
{
    skip_entry *entry = skip_list_find(skips, name);
    if (!entry) {
        return false;
    }
    entry->found = true;
    if (entry->requires_sm3 && hwai__sm3_available()) {
        return false;
    }
    printf("SKIP %s: %s\n", name, entry->reason);
    return true;
}

static void test_signer_vectors_all(void **state)
{
    (void)state;
    skip_list skips = { NULL, 0 };
    skip_list_load(&skips);

    char *path = data_path("sign-vectors.jsonl");
    FILE *file = fopen(path, "r");
    if (!file) {
        printf("FAIL cannot open %s\n", path);
        totals.failed++;
    }
    char *line = NULL;
    size_t cap = 0;
    unsigned int line_number = 0;
    while (file && getline(&line, &cap, file) > 0) {
        line_number++;
        json_error_t json_error;
        json_t *vector = json_loads(line, 0, &json_error);
        const char *name = json_text(vector, "name");
        if (!name) {
            printf("FAIL sign-vectors.jsonl line %u: not a JSON object with a name\n", line_number);
            totals.failed++;
        } else if (should_skip(&skips, name)) {
            totals.skipped++;
        } else if (run_vector(name, vector)) {
            totals.passed++;
        } else {
            totals.failed++;
        }
        json_decref(vector);
    }
    free(line);
    if (file) {
        fclose(file);
    }
    free(path);

    for (size_t i = 0; i < skips.count; i++) {
        if (!skips.items[i].found) {
            printf(
                "FAIL %s: listed in vectors-skipped.txt but not in sign-vectors.jsonl\n",
                skips.items[i].name);
            totals.failed++;
        }
    }
    skip_list_cleanup(&skips);
    assert_true(totals.passed > 0);
    assert_int_equal(totals.failed, 0);
}

int main(void)
{
    /* Line buffering keeps these lines in order with CMocka's own, some of which go
     * to stderr, so the summary stays the last line of the combined output. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signer_vectors_all),
    };
    int failures = cmocka_run_group_tests(tests, NULL, NULL);
    printf("%u passed, %u failed, %u skipped\n", totals.passed, totals.failed, totals.skipped);
    return failures;
}
