/* SM3 through OpenSSL's libcrypto, when the build found it. */
#include "crypto/crypto.h"
#include "hwai_config.h"

#if HWAI_HAVE_SM3
#include <openssl/evp.h>
#include <openssl/hmac.h>

bool hwai__sm3_available(void)
{
    const EVP_MD *md = EVP_get_digestbyname("SM3");
    return md != NULL;
}

hwai_status hwai__sm3_hex(const void *data, size_t len, char out[65])
{
    const EVP_MD *md = EVP_get_digestbyname("SM3");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (!md || !EVP_Digest(data, len, digest, &digest_len, md, NULL) || digest_len != 32) {
        return HWAI_E_UNSUPPORTED;
    }
    hwai__hex_encode(digest, digest_len, out);
    return HWAI_OK;
}

hwai_status
hwai__hmac_sm3(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[32])
{
    const EVP_MD *md = EVP_get_digestbyname("SM3");
    unsigned int out_len = 0;
    if (!md || key_len > INT32_MAX || !HMAC(md, key, (int)key_len, msg, msg_len, out, &out_len) ||
        out_len != 32) {
        return HWAI_E_UNSUPPORTED;
    }
    return HWAI_OK;
}
#else
bool hwai__sm3_available(void)
{
    return false;
}

hwai_status hwai__sm3_hex(const void *data, size_t len, char out[65])
{
    (void)data;
    (void)len;
    out[0] = '\0';
    return HWAI_E_UNSUPPORTED;
}

hwai_status
hwai__hmac_sm3(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[32])
{
    (void)key;
    (void)key_len;
    (void)msg;
    (void)msg_len;
    (void)out;
    return HWAI_E_UNSUPPORTED;
}
#endif
