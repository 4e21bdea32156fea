/* Hashing, HMAC, random bytes and wiping, on top of mbedTLS's generic mbedtls_md
 * API (which both mbedTLS 2.28 and 3.x provide). */
#ifndef HWAI_CRYPTO_CRYPTO_H
#define HWAI_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hwai/error.h"

#define HWAI__SHA256_LEN 32
#define HWAI__SHA256_HEX_LEN 64

/* Overwrites len bytes in a way the compiler cannot drop. */
void hwai__zeroize(void *ptr, size_t len);

hwai_status hwai__sha256(const void *data, size_t len, uint8_t out[HWAI__SHA256_LEN]);
/* Lowercase hex of SHA-256; out gets 64 characters and a NUL. */
hwai_status hwai__sha256_hex(const void *data, size_t len, char out[HWAI__SHA256_HEX_LEN + 1]);
hwai_status hwai__hmac_sha256(
    const void *key,
    size_t key_len,
    const void *msg,
    size_t msg_len,
    uint8_t out[HWAI__SHA256_LEN]);
/* Lowercase hex of len bytes; out needs 2 * len + 1 bytes. */
void hwai__hex_encode(const uint8_t *bytes, size_t len, char *out);

/* SM3 (GB/T 32905-2016) hash and HMAC-SM3, available when the build found a
 * library that provides SM3; otherwise these return HWAI_E_UNSUPPORTED. */
bool hwai__sm3_available(void);
hwai_status hwai__sm3_hex(const void *data, size_t len, char out[65]);
hwai_status
hwai__hmac_sm3(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[32]);

/* Fills buf with bytes from the operating system's random source. Thread-safe. */
hwai_status hwai__random_bytes(void *buf, size_t len);

#endif
