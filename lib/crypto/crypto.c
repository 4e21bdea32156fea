#include "crypto/crypto.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

void hwai__zeroize(void *ptr, size_t len)
{
    if (ptr && len) {
        mbedtls_platform_zeroize(ptr, len);
    }
}

void hwai__hex_encode(const uint8_t *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

hwai_status hwai__sha256(const void *data, size_t len, uint8_t out[HWAI__SHA256_LEN])
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (!info || mbedtls_md(info, (const unsigned char *)data, len, out) != 0) {
        return HWAI_E_INTERNAL;
    }
    return HWAI_OK;
}

hwai_status hwai__sha256_hex(const void *data, size_t len, char out[HWAI__SHA256_HEX_LEN + 1])
{
    uint8_t digest[HWAI__SHA256_LEN];
    hwai_status status = hwai__sha256(data, len, digest);
    if (status == HWAI_OK) {
        hwai__hex_encode(digest, sizeof(digest), out);
    }
    return status;
}

hwai_status hwai__hmac_sha256(
    const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[HWAI__SHA256_LEN])
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (!info) {
        return HWAI_E_INTERNAL;
    }
    int rc = mbedtls_md_hmac(
        info, (const unsigned char *)key, key_len, (const unsigned char *)msg, msg_len, out);
    return rc == 0 ? HWAI_OK : HWAI_E_INTERNAL;
}

hwai_status hwai__random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return HWAI_E_INTERNAL;
        }
        p += n;
        len -= (size_t)n;
    }
    return HWAI_OK;
}
