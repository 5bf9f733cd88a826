import { createParser } from 'eventsource-parser';

/** One server-sent event (WHATWG HTML §9.2). */
export interface ServerSentEvent {
  event: string;
  data: string;
  /** The stream's last event id when this event arrived: set by an `id:` field, kept until the next one. */
  id: string | undefined;
}

/**
 * What a stream leaves to the connection that follows it (WHATWG HTML
 * §9.2.6): the last event id, to send back as `Last-Event-ID`, and the
 * reconnection time the server asked for with `retry:`, in milliseconds.
 * Pass the same object to every `readEvents` of one feed.
 */
export interface StreamState {
  lastEventId?: string;
  retryMs?: number;
}

// A line this long without its end is not an event this feed sends: stop rather than buffer without bound.
const MAX_PENDING_CHARS = 1 << 20;

/**
 * Reads server-sent events from a response body. Comments are skipped; an
 * event is yielded when its blank line arrives, so a half-received event is
 * never seen. Ends when the stream ends; throws when a line outgrows the
 * buffer bound.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>, state: StreamState = {}): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const ready: ServerSentEvent[] = [];
  let failure: Error | undefined;
  const parser = createParser({
    onEvent(message) {
      if (message.id !== undefined) state.lastEventId = message.id;
      ready.push({ event: message.event ?? 'message', data: message.data, id: state.lastEventId });
    },
    onRetry(ms) {
      state.retryMs = ms;
    },
    onError(err) {
      // Unknown fields and malformed `retry:` values are ignored, as the spec says; only the buffer bound ends the stream.
      if (err.type === 'max-buffer-size-exceeded') failure = err;
    },
    maxBufferSize: MAX_PENDING_CHARS,
  });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
      for (const event of ready.splice(0)) yield event;
      if (failure) throw failure;
    }
  } finally {
    // Stops the body (and the connection) whether the reader finished, failed or broke off.
    await reader.cancel().catch(() => {});
  }
}
