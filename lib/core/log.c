#include <stdarg.h>

#include "core/client_internal.h"
#include "util/buf.h"

bool hwai__log_enabled(const hwai_client *client, hwai_log_level level)
{
    return client && client->log_cb && level <= client->log_level;
}

void hwai__log(const hwai_client *client, hwai_log_level level, const char *fmt, ...)
{
    if (!hwai__log_enabled(client, level)) {
        return;
    }
    hwai__buf line = HWAI__BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    hwai__buf_vprintf(&line, fmt, ap);
    va_end(ap);
    if (!line.oom && line.data) {
        client->log_cb(level, line.data, client->log_user_data);
    }
    hwai__buf_cleanup(&line);
}
