/**
 * @file nlp.h
 * @brief Natural language processing calls (service host `nlp-ext.<region>`).
 */
#ifndef HWAI_NLP_H
#define HWAI_NLP_H

#include "hwai/client.h"
#include "hwai/common.h"
#include "hwai/error.h"

HWAI_BEGIN_DECL

#define HWAI_SENTIMENT_REQUEST_VERSION 1

/** A sentiment analysis request: `POST /v1/{project_id}/nlu/sentiment`. */
typedef struct hwai_sentiment_request {
    /** Must be ::HWAI_SENTIMENT_REQUEST_VERSION. */
    unsigned int version;
    /** The text to analyse, UTF-8; required. */
    const char *content;
    /** Language code, "zh" or "en"; NULL lets the service use its default. */
    const char *lang;
    /** Deadline of this call in milliseconds, every attempt and delay included;
     * 0 means the client's call_timeout_ms. */
    uint32_t deadline_ms;
    /** Cancellation token, or NULL; see retry.h. */
    hwai_cancel_token *cancel;
} hwai_sentiment_request;

#define HWAI_SENTIMENT_REQUEST_INIT                         \
    {                                                       \
        HWAI_SENTIMENT_REQUEST_VERSION, NULL, NULL, 0, NULL \
    }

/**
 * @brief Initialises @p req to an empty request of the given struct version.
 *
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  @p req is NULL or @p version is unknown
 */
HWAI_API HWAI_NODISCARD hwai_status
hwai_sentiment_request_init(hwai_sentiment_request *req, unsigned int version);

/** Result of a sentiment call; free with hwai_sentiment_result_free(). */
typedef struct hwai_sentiment_result {
    /** Sentiment label as the service numbers it: 1 positive, 0 negative. */
    int label;
    /** Confidence between 0 and 1. */
    double confidence;
    /** @ref confidence as the shortest decimal text that reads back to the same
     * double, e.g. "0.9731". */
    const char *confidence_text;
    /** The analysed text as echoed by the service, or NULL. */
    const char *content;
    /** Value of the response's X-Request-Id header, or NULL. */
    const char *request_id;
    /** The service's JSON response as received, NUL-terminated. */
    const char *raw_json;
    size_t raw_json_len;
} hwai_sentiment_result;

/**
 * @brief Returns "positive" for label 1, "negative" for 0 and "unknown" otherwise.
 */
HWAI_API const char *hwai_sentiment_label_str(int label);

/**
 * @brief Analyses the sentiment of a text.
 *
 * @param[out] out    receives the result; free with hwai_sentiment_result_free()
 * @param[in]  client the client
 * @param[in]  req    the request
 * @param[out] err    optional detailed error
 * @retval HWAI_OK             success
 * @retval HWAI_E_INVALID_ARG  a NULL argument or empty content
 * @retval HWAI_E_CONFIG       the project id or endpoint is missing
 * @retval HWAI_E_SERVICE      the service responded with an HTTP error, or with an
 *                             `error_code` in a successful response
 * @retval HWAI_E_BAD_RESPONSE the response lacks `result.label` or `result.confidence`
 * @return any transport or authentication status from error.h otherwise
 */
HWAI_API HWAI_NODISCARD hwai_status hwai_nlp_sentiment(
    hwai_sentiment_result **out,
    hwai_client *client,
    const hwai_sentiment_request *req,
    hwai_error **err);

/**
 * @brief Frees a sentiment result. Accepts NULL.
 */
HWAI_API void hwai_sentiment_result_free(hwai_sentiment_result *result);

HWAI_END_DECL

#endif /* HWAI_NLP_H */
