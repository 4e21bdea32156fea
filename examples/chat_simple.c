/* Asks a Pangu deployment one question and prints the answer.
 *
 *   HWAI_ENDPOINT=http://127.0.0.1:8080 HUAWEICLOUD_SDK_AK=... HUAWEICLOUD_SDK_SK=... \
 *   HUAWEICLOUD_SDK_PROJECT_ID=... ./chat_simple DEPLOYMENT_ID "你好" */
#include "common.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DEPLOYMENT_ID MESSAGE\n", argv[0]);
        return 2;
    }
    hwai_client *client = example_client();
    hwai_error *err = NULL;

    hwai_chat_message messages[] = {
        { "system", "You are a helpful assistant.", 0 },
        { "user", argv[2], 0 },
    };
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.deployment_id = argv[1];
    req.messages = messages;
    req.message_count = 2;
    req.temperature = 0.7;
    req.max_tokens = 512;

    hwai_chat_result *result = NULL;
    CHECK(hwai_chat(&result, client, &req, &err), err);
    const hwai_chat_choice *choice = &result->choices[0];
    fwrite(choice->content, 1, choice->content_len, stdout);
    printf("\n");
    if (result->usage.present) {
        fprintf(
            stderr, "tokens: %lld prompt, %lld completion (request id %s)\n",
            (long long)result->usage.prompt_tokens, (long long)result->usage.completion_tokens,
            result->request_id ? result->request_id : "none");
    }
    hwai_chat_result_free(result);
    hwai_client_free(client);
    return 0;
}
