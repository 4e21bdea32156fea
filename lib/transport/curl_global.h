#ifndef HWAI_TRANSPORT_CURL_GLOBAL_H
#define HWAI_TRANSPORT_CURL_GLOBAL_H

#include "hwai/error.h"

/* Runs curl_global_init exactly once per process, whatever the number of
 * threads racing here. curl_global_cleanup is never called: other code in the
 * host process may still be using libcurl. */
hwai_status hwai__curl_global_init(hwai_error **err);

#endif
