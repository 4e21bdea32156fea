/* A server-sent event stream over one HTTP transfer: the pipeline opens it, the
 * SSE parser cuts the bytes into events, and the reader pulls them one at a
 * time. Service code adds the meaning of the events. */
#ifndef HWAI_STREAM_EVENT_STREAM_H
#define HWAI_STREAM_EVENT_STREAM_H

#include <stdbool.h>

#include "core/pipeline.h"
#include "stream/sse.h"

/* Largest event accepted by default: far above any chat chunk, small enough that
 * a broken server cannot make the stream buffer without bound. */
#define HWAI__DEFAULT_MAX_EVENT_BYTES (1024u * 1024u)

typedef struct hwai__event_stream hwai__event_stream;

/* Sends the call and waits for the response's headers. An response of 3xx or more
 * is read whole and returned as the mapped error, with no stream. A 2xx JSON
 * response (some gateways response a stream request that way, errors included)
 * becomes one event of type "message" holding the whole body. Any other
 * Content-Type than text/event-stream is HWAI_E_CONTENT_TYPE. */
hwai_status hwai__event_stream_open(
    hwai__event_stream **out,
    hwai_client *client,
    const hwai__call *call,
    size_t max_event_bytes,
    hwai_error **err);

/* Returns the next event, or NULL in *out once the response has ended; the event
 * is borrowed until the next call. *out_incomplete is true when the response
 * stopped inside a line or an event block: at the end, and for events flushed
 * from such a cut body (which may be cut themselves). */
hwai_status hwai__event_stream_next(
    hwai__event_stream *stream,
    const hwai__sse_event **out,
    bool *out_incomplete,
    hwai_error **err);

/* Makes a waiting or later hwai__event_stream_next return HWAI_E_CANCELLED.
 * Safe from any thread until hwai__event_stream_free. */
void hwai__event_stream_cancel(hwai__event_stream *stream);

const hwai__http_response *hwai__event_stream_response(const hwai__event_stream *stream);

/* Aborts the transfer if it is still running. Accepts NULL. */
void hwai__event_stream_free(hwai__event_stream *stream);

#endif
