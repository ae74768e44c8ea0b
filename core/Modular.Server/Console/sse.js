// Server-sent events over fetch: a ReadableStream of bytes in, one event's data string out per event.

/**
 * Yields the data of each event in an text/event-stream body (multi-line data joined with "\n", as the SSE spec
 * says). Comments and other fields are skipped. Stops when the stream ends or the fetch's signal aborts.
 */
export async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data = [];
  let ended = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let start = 0;
      for (;;) {
        const nl = buffer.indexOf('\n', start);
        if (nl < 0) break;
        let line = buffer.slice(start, nl);
        start = nl + 1;
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (data.length) yield data.join('\n');
          data = [];
        } else if (line.startsWith('data:')) {
          data.push(line.charAt(5) === ' ' ? line.slice(6) : line.slice(5));
        }
      }
      buffer = buffer.slice(start);
      if (done) { ended = true; break; }
    }
    // A final event without its blank line still counts.
    if (buffer.startsWith('data:')) data.push(buffer.charAt(5) === ' ' ? buffer.slice(6) : buffer.slice(5));
    if (data.length) yield data.join('\n');
  } finally {
    // The consumer stopped early (or the read failed): tell the server we are gone instead of leaving it queued.
    if (!ended) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
