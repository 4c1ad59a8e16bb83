// A minimal Anthropic Messages endpoint for the llm benchmarks, in the benchmark's own process
// (@aikit/testing's fake provider is TypeScript source, not runnable by plain node): a fixed-size
// JSON answer echoing the last message, with usage. Also `stubClient()`: an SDK-shaped client that
// answers the same message at once, with no HTTP (the benches' cold-cache parts).
import { createServer } from 'node:http'

/** The Messages API answer both fakes give. */
function message(id, model, text) {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: 12,
      output_tokens: 8,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    },
  }
}

const stubResponse = new Response('{}')

/** A client with `messages.create(p).withResponse()` answering at once (what the wrapper calls). */
export function stubClient() {
  return {
    messages: {
      create: (p) => ({
        withResponse: () =>
          Promise.resolve({
            data: message('msg_stub', p.model, 'Echo'),
            response: stubResponse,
            request_id: 'req_stub',
          }),
      }),
    },
  }
}

/** Starts the endpoint on 127.0.0.1; resolves with its base URL and a `close()`. */
export async function startFakeAnthropic() {
  let seq = 0
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      const text = `Echo: ${body.messages.at(-1).content}`
      const json = JSON.stringify(message(`msg_${++seq}`, body.model, text))
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${seq}` })
      res.end(json)
    })
  })
  await new Promise((done) => server.listen(0, '127.0.0.1', done))
  return { baseURL: `http://127.0.0.1:${server.address().port}`, close: () => server.close() }
}
