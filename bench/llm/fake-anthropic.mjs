// A minimal Anthropic Messages endpoint for the llm benchmarks, in the benchmark's own process
// (@aikit/testing's fake provider is TypeScript source, not runnable by plain node): a fixed-size
// JSON answer echoing the last message, with usage.
import { createServer } from 'node:http'

/** Starts the endpoint on 127.0.0.1; resolves with its base URL and a `close()`. */
export async function startFakeAnthropic() {
  let seq = 0
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      const text = `Echo: ${body.messages.at(-1).content}`
      const json = JSON.stringify({
        id: `msg_${++seq}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: {
          input_tokens: 12,
          output_tokens: 8,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
      })
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${seq}` })
      res.end(json)
    })
  })
  await new Promise((done) => server.listen(0, '127.0.0.1', done))
  return { baseURL: `http://127.0.0.1:${server.address().port}`, close: () => server.close() }
}
