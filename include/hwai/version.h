/**
 * @file version.h
 * @brief Compile-time and run-time version of libhwai.
 */
#ifndef HWAI_VERSION_H
#define HWAI_VERSION_H

#include "hwai/common.h"

#define HWAI_VERSION_MAJOR 0
#define HWAI_VERSION_MINOR 1
#define HWAI_VERSION_PATCH 0
#define HWAI_VERSION_STRING "0.1.0"

/** The version as one number, 0xMMmmpp, for comparisons in the preprocessor. */
#define HWAI_VERSION_NUM \
    ((HWAI_VERSION_MAJOR << 16) | (HWAI_VERSION_MINOR << 8) | HWAI_VERSION_PATCH)

/** True when the headers are at least version major.minor.patch. */
#define HWAI_VERSION_CHECK(major, minor, patch) \
    (HWAI_VERSION_NUM >= (((major) << 16) | ((minor) << 8) | (patch)))

HWAI_BEGIN_DECL

/**
 * @brief Returns the version of the library linked at run time, as "MAJOR.MINOR.PATCH".
 *
 * The string is static; do not free it. Thread-safe.
 */
HWAI_API const char *hwai_version(void);

HWAI_END_DECL

#endif /* HWAI_VERSION_H */
