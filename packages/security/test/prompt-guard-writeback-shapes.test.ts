/**
 * What the route reads after `guard.middleware()` redacted a body holding every input field at
 * once (Chat `messages`, a Responses `input` item list, Anthropic `system` blocks, Responses
 * `instructions`, `prompt`): each field carries its redaction in its own shape (a text stays a
 * text, blocks stay blocks, items stay items in their order, with their unknown fields), and
 * nothing else in the body changes, key order included. A body the guard did not change reaches
 * the route as the bytes sent. Read on a Next route, which parses the bytes itself.
 */
import { withAikit } from '@aikit/adapters/next'
import { describe, expect, it } from 'vitest'
import { promptGuard } from '../src/prompt-guard.js'

const KEY = `sk-ant-api03-${'a1B2c3D4e5'.repeat(9)}xyzAA`
const CUT = 'sk-ant-[redacted]'

function nextRoute(roles?: string[]) {
  const seen: { text?: string } = {}
  const route = withAikit(async (req: Request) => {
    seen.text = await req.text()
    return Response.json({ ok: true })
  }, promptGuard(roles === undefined ? {} : { roles }).middleware())
  const send = async (body: string) => {
    const req = new Request('http://app.example.com/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    return (await route(req, {})).status
  }
  return { seen, send }
}

/** A body with a key in every input field; `k` is what each checked place holds. */
const body = (k: string) => ({
  model: 'm',
  temperature: 0.7,
  system: [
    { type: 'text', text: `sys ${k}`, cache_control: { type: 'ephemeral' } },
    { type: 'text', text: 'Be brief.' },
  ],
  messages: [
    { role: 'system', content: `chat system ${k}` },
    {
      role: 'user',
      name: 'bob',
      content: [
        { type: 'text', text: `mine ${k}`, x_extra: 1 },
        { type: 'image_url', image_url: { url: 'https://x.test/a.png' } },
      ],
    },
    // The model's own turn is not checked: its text is left as sent.
    { role: 'assistant', content: `echo ${KEY}` },
    { role: 'tool', tool_call_id: 'c1', content: `tool ${k}` },
  ],
  input: [
    { type: 'future_item', payload: { deep: [1, 2] }, note: `future ${KEY}` },
    { role: 'user', content: [{ type: 'input_text', text: `in ${k}` }], x_flag: true },
    { type: 'function_call', call_id: 'f1', name: 'f', arguments: JSON.stringify({ k: KEY }) },
    { type: 'item_reference', id: 'msg_1' },
    { type: 'function_call_output', call_id: 'f1', output: `out ${k}`, x_meta: 'keep' },
    {
      type: 'shell_call_output',
      call_id: 's1',
      output: [
        { stdout: `so ${k}`, stderr: 'warn', outcome: { type: 'exit', exit_code: 0 } },
        { stdout: 'clean', stderr: '', outcome: { type: 'timeout' } },
      ],
    },
  ],
  instructions: `inst ${k}`,
  prompt: `p ${k}`,
  metadata: { user: 'u1' },
})

describe('promptGuard middleware: redaction written back into every field', () => {
  it('the route reads each field redacted in its own shape, and the rest as sent', async () => {
    const app = nextRoute(['user', 'tool', 'function', 'system'])
    expect(await app.send(JSON.stringify(body(KEY)))).toBe(200)
    expect(app.seen.text).toBe(JSON.stringify(body(CUT)))
  })

  it('with the default roles the system fields are left as sent', async () => {
    const app = nextRoute()
    expect(await app.send(JSON.stringify(body(KEY)))).toBe(200)
    const seen = JSON.parse(app.seen.text ?? '')
    expect(seen.system).toEqual(body(KEY).system)
    expect(seen.instructions).toBe(`inst ${KEY}`)
    expect(seen.messages[0]).toEqual({ role: 'system', content: `chat system ${KEY}` })
    expect(seen.messages[1].content[0].text).toBe(`mine ${CUT}`)
    expect(seen.input[4].output).toBe(`out ${CUT}`)
  })

  it('a body the guard did not change reaches the route byte for byte', async () => {
    const app = nextRoute(['user', 'tool', 'function', 'system'])
    const raw =
      '{ "system" : "Be brief.",\n  "messages": [ {"role":"user","content":"caf\\u00e9 john@example.com"} ],' +
      ' "input": [{"type":"function_call_output","call_id":"c","output":"ok","x":1}],' +
      ' "n": 1.50, "big": 12345678901234567890 }'
    expect(await app.send(raw)).toBe(200)
    expect(app.seen.text).toBe(raw)
  })
})
