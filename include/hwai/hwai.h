/**
 * @file hwai.h
 * @brief Includes every public header of libhwai.
 */
#ifndef HWAI_HWAI_H
#define HWAI_HWAI_H

#include "hwai/chat.h"
#include "hwai/client.h"
#include "hwai/common.h"
#include "hwai/credentials.h"
#include "hwai/error.h"
#include "hwai/nlp.h"
#include "hwai/retry.h"
#include "hwai/sign.h"
#include "hwai/version.h"

#endif /* HWAI_HWAI_H */
