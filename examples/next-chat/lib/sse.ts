/**
 * A minimal reader of a `text/event-stream` body (the WHATWG server-sent events format) for
 * `fetch`, which EventSource cannot do for a POST: yields `{ event, data }` per event, `event`
 * defaulting to `'message'` and multi-line `data` joined with `\n`. Comments and `id`/`retry`
 * fields are ignored.
 */
export interface ServerSentEvent {
  event: string
  data: string
}

export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>
): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let event = 'message'
  let data: string[] = []
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      // Lines end with \n, \r\n or \r; the last piece may be incomplete.
      const lines = buffer.split(/\r\n|\r|\n/)
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0) yield { event, data: data.join('\n') }
          event = 'message'
          data = []
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        let value = colon === -1 ? '' : line.slice(colon + 1)
        if (value.startsWith(' ')) value = value.slice(1)
        if (field === 'event') event = value
        else if (field === 'data') data.push(value)
      }
    }
  } finally {
    reader.releaseLock()
  }
}
