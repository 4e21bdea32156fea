#include "transport/curl_global.h"

#include <curl/curl.h>
#include <pthread.h>

#include "core/error_internal.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_result = CURLE_FAILED_INIT;

static void init_curl(void)
{
    init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

hwai_status hwai__curl_global_init(hwai_error **err)
{
    pthread_once(&init_once, init_curl);
    if (init_result != CURLE_OK) {
        return hwai__error_set(
            err, HWAI_E_TRANSPORT, "libcurl global initialisation failed: %s",
            curl_easy_strerror(init_result));
    }
    return HWAI_OK;
}
