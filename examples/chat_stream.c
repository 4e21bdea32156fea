/* Streams a Pangu reply piece by piece as it is generated.
 *
 *   HWAI_ENDPOINT=http://127.0.0.1:8080 HUAWEICLOUD_SDK_AK=... HUAWEICLOUD_SDK_SK=... \
 *   HUAWEICLOUD_SDK_PROJECT_ID=... ./chat_stream DEPLOYMENT_ID "你好" */
#include "common.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DEPLOYMENT_ID MESSAGE\n", argv[0]);
        return 2;
    }
    hwai_client *client = example_client();
    hwai_error *err = NULL;

    hwai_chat_message messages[] = { { "user", argv[2], 0 } };
    hwai_chat_request req = HWAI_CHAT_REQUEST_INIT;
    req.deployment_id = argv[1];
    req.messages = messages;
    req.message_count = 1;

    hwai_chat_stream *stream = NULL;
    CHECK(hwai_chat_stream_open(&stream, client, &req, &err), err);
    const hwai_chat_chunk *chunk = NULL;
    hwai_status status;
    while ((status = hwai_chat_stream_next(stream, &chunk, &err)) == HWAI_OK && chunk) {
        fwrite(chunk->content, 1, chunk->content_len, stdout);
        fflush(stdout);
    }
    printf("\n");

    /* The summary keeps the text received so far, also after an error. */
    const hwai_chat_stream_summary *summary = hwai_chat_stream_summary_get(stream);
    fprintf(
        stderr, "%zu bytes, first piece after %lld ms, finish reason %s\n", summary->content_len,
        (long long)summary->first_chunk_ms,
        summary->finish_reason ? summary->finish_reason : "none");
    hwai_chat_stream_free(stream);
    hwai_client_free(client);
    CHECK(status, err);
    return 0;
}
