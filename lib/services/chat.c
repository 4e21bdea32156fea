#include <stdlib.h>
#include <string.h>

#include "core/client_internal.h"
#include "core/error_internal.h"
#include "json/json.h"
#include "services/chat_request.h"
#include "services/chat_result.h"
#include "util/str.h"

hwai_status hwai_chat(
    hwai_chat_result **out, hwai_client *client, const hwai_chat_request *req, hwai_error **err)
{
    if (!out || !client) {
        return hwai__error_set(err, HWAI_E_INVALID_ARG, "%s is NULL", out ? "client" : "out");
    }
    *out = NULL;
    hwai_status status = hwai__chat_validate(req, err);
    if (status != HWAI_OK) {
        return status;
    }
    hwai__chat_route route = { 0 };
    hwai__http_response resp = HWAI__HTTP_RESPONSE_INIT;
    json_t *root = NULL;
    size_t body_len = 0;
    char *body = NULL;
    status = hwai__chat_route_build(client, req, &route, err);
    if (status != HWAI_OK) {
        goto done;
    }
    body = hwai__chat_encode(req, route.openai_compatible, false, &body_len, err);
    if (!body) {
        status = hwai_error_status(err ? *err : NULL);
        status = status == HWAI_OK ? HWAI_E_NOMEM : status;
        goto done;
    }
    hwai__call call = {
        .service = route.service,
        .operation = "chat",
        .method = "POST",
        .path = route.path.data,
        .body = body,
        .body_len = body_len,
        .error_code_in_success = true,
        .deadline_ms = req->deadline_ms,
        .cancel = req->cancel,
    };
    status = hwai__pipeline_json(client, &call, &resp, &root, err);
    if (status == HWAI_OK) {
        status = hwai__chat_result_from_json(out, root, &resp, err);
        root = NULL;
    }
done:
    json_decref(root);
    free(body);
    hwai__http_response_cleanup(&resp);
    hwai__chat_route_cleanup(&route);
    return status;
}
