/**
 * @file common.h
 * @brief Export, declaration and attribute macros shared by every hwai header.
 */
#ifndef HWAI_COMMON_H
#define HWAI_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define HWAI_BEGIN_DECL extern "C" {
#define HWAI_END_DECL }
#else
#define HWAI_BEGIN_DECL
#define HWAI_END_DECL
#endif

/* HWAI_API marks every exported declaration. The library is built with hidden
 * visibility, so anything without it stays internal. */
#if defined(_WIN32)
#if defined(HWAI_BUILDING_LIBRARY)
#define HWAI_API __declspec(dllexport)
#else
#define HWAI_API
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define HWAI_API __attribute__((visibility("default")))
#else
#define HWAI_API
#endif

/* HWAI_NODISCARD makes the compiler warn when a returned status is ignored. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define HWAI_NODISCARD __attribute__((warn_unused_result))
#else
#define HWAI_NODISCARD
#endif

/**
 * Sentinel for optional floating-point request fields: a field left at
 * HWAI_UNSET is not sent, so the service applies its own default.
 */
#define HWAI_UNSET (-1.0e300)

#endif /* HWAI_COMMON_H */
