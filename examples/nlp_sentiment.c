/* Prints the sentiment of a text.
 *
 *   HWAI_ENDPOINT=http://127.0.0.1:8080 HUAWEICLOUD_SDK_AK=... HUAWEICLOUD_SDK_SK=... \
 *   HUAWEICLOUD_SDK_PROJECT_ID=... ./nlp_sentiment "这家餐厅的服务很好" */
#include "common.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEXT\n", argv[0]);
        return 2;
    }
    hwai_client *client = example_client();
    hwai_error *err = NULL;

    hwai_sentiment_request req = HWAI_SENTIMENT_REQUEST_INIT;
    req.content = argv[1];
    req.lang = "zh";

    hwai_sentiment_result *result = NULL;
    CHECK(hwai_nlp_sentiment(&result, client, &req, &err), err);
    printf(
        "label: %d (%s)\nconfidence: %s\n", result->label, hwai_sentiment_label_str(result->label),
        result->confidence_text);
    hwai_sentiment_result_free(result);
    hwai_client_free(client);
    return 0;
}
