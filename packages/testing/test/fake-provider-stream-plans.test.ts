/**
 * holdStreamAfter / errorStreamAfter / breakStreamAfter / endStreamAfter at the edges of a stream,
 * a stream ended cleanly before its last events, and the
 * sequence number of the Responses in-stream error event.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeProvider, startFakeProvider } from '../src/fake-provider/index.js'

let p: FakeProvider

beforeAll(async () => {
  p = await startFakeProvider()
})
afterAll(async () => {
  await p.close()
})
beforeEach(() => {
  p.reset()
})

const userMsg = (text: string) => [{ role: 'user' as const, content: text }]

/** Posts a streaming Chat Completions request of `text` (the echo reply is set by the test). */
const chatStream = () =>
  fetch(`${p.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: userMsg('x'), stream: true }),
  })

/** Reads an SSE body into its `data:` payloads (JSON-parsed when possible). */
function sseData(text: string): unknown[] {
  return text
    .split('\n\n')
    .map((block) =>
      block
        .split('\n')
        .find((l) => l.startsWith('data: '))
        ?.slice(6)
    )
    .filter((d): d is string => d !== undefined)
    .map((d) => {
      try {
        return JSON.parse(d) as unknown
      } catch {
        return d
      }
    })
}

/** The four data payloads of the chat stream of reply 'a': role, 'a', finish, [DONE]. */
const CHAT_EVENTS_OF_A = 4

describe('Responses in-stream error event', () => {
  it('numbers the error event right after the events before it (0, 1, 2, then 3)', async () => {
    p.errorStreamAfter(3, 'failed here')
    const res = await fetch(`${p.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', input: 'one two three', stream: true }),
    })
    const events = sseData(await res.text()) as { type: string; sequence_number: number }[]
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'error',
    ])
    // Every event of a Responses stream carries the next sequence number.
    expect(events.map((e) => e.sequence_number)).toEqual([0, 1, 2, 3])
  })
})

describe('holdStreamAfter(n) with n = every event', () => {
  it('holds the end of the response until release()', async () => {
    p.setReply(() => 'a')
    const hold = p.holdStreamAfter(CHAT_EVENTS_OF_A)
    const order: string[] = []
    const res = await chatStream()
    const body = res.text().then((text) => {
      order.push('body ended')
      return text
    })
    await hold.reached
    // The client may read every event now, but the response must not end before release().
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 10))
    order.push('release')
    hold.release()
    const text = await body
    expect(text).toContain('data: [DONE]')
    expect(order).toEqual(['release', 'body ended'])
  })
})

describe('errorStreamAfter(n) with n = or > every event', () => {
  it('sends the error event after the last event when n equals the number of events', async () => {
    p.setReply(() => 'a')
    p.errorStreamAfter(CHAT_EVENTS_OF_A, 'late failure')
    const data = sseData(await (await chatStream()).text())
    expect(data).toHaveLength(CHAT_EVENTS_OF_A + 1)
    expect(data[CHAT_EVENTS_OF_A - 1]).toBe('[DONE]')
    expect(data.at(-1)).toMatchObject({ error: { message: 'late failure' } })
  })

  it('sends the error event after the last event when n is beyond it', async () => {
    p.setReply(() => 'a')
    p.errorStreamAfter(100, 'late failure')
    const data = sseData(await (await chatStream()).text())
    expect(data).toHaveLength(CHAT_EVENTS_OF_A + 1)
    expect(data.at(-1)).toMatchObject({ error: { message: 'late failure' } })
  })
})

describe('breakStreamAfter(n) with n = every event', () => {
  it('drops the connection after the last event instead of ending the response', async () => {
    p.setReply(() => 'a')
    p.breakStreamAfter(CHAT_EVENTS_OF_A)
    const res = await chatStream()
    const error = await res.text().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    await p.idle()
    expect(p.calls[0]).toMatchObject({ broken: true, aborted: false })
  })
})

describe('endStreamAfter(n)', () => {
  it('ends the response cleanly after n events: no [DONE], no error, not broken', async () => {
    p.setReply(() => 'a')
    p.endStreamAfter(2)
    const res = await chatStream()
    expect(res.status).toBe(200)
    const data = sseData(await res.text())
    expect(data).toHaveLength(2)
    expect(data).toMatchObject([
      { choices: [{ delta: { role: 'assistant' } }] },
      { choices: [{ delta: { content: 'a' } }] },
    ])
    await p.idle()
    expect(p.calls[0]).toMatchObject({ status: 200, broken: false, aborted: false })
    // Taken: the next stream runs to its end.
    expect(sseData(await (await chatStream()).text())).toHaveLength(CHAT_EVENTS_OF_A)
  })

  it('a Responses stream ends without its terminal event; n = 0 sends no event', async () => {
    const responses = () =>
      fetch(`${p.url}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', input: 'one two', stream: true }),
      })
    p.endStreamAfter(5)
    const events = sseData(await (await responses()).text()) as { type: string }[]
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
    ])
    p.endStreamAfter(0)
    const empty = await responses()
    expect(empty.status).toBe(200)
    expect(await empty.text()).toBe('')
  })

  it('with n = or > every event, sends every event; reset() forgets a pending end', async () => {
    p.setReply(() => 'a')
    p.endStreamAfter(CHAT_EVENTS_OF_A)
    expect(sseData(await (await chatStream()).text())).toHaveLength(CHAT_EVENTS_OF_A)
    p.endStreamAfter(100)
    expect(sseData(await (await chatStream()).text())).toHaveLength(CHAT_EVENTS_OF_A)
    p.endStreamAfter(1)
    p.reset()
    p.setReply(() => 'a')
    expect(sseData(await (await chatStream()).text())).toHaveLength(CHAT_EVENTS_OF_A)
  })
})
