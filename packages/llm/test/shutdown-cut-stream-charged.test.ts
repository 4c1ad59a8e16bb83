/**
 * A budgeted LLM stream cut at a graceful shutdown's deadline is charged before `onShutdown`
 * runs (where an app closes its stores). Its settle runs after its connection closed, and
 * `gracefulShutdown` went on at once: the hold stayed until its TTL (with Redis closed under it,
 * or the process exited), and the call had no log line or metric.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createBudget } from '@aikit/cost'
import { gracefulShutdown } from '@aikit/observability'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(async () => {
  await fake?.close()
})

it('charges a stream cut at the shutdown deadline before onShutdown runs', async () => {
  const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
  const client = wrapAnthropic(
    new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 }),
    { budget, subject: 'cut' }
  )
  // A chat route streaming the answer, its call aborted when the client's connection closes.
  const server: Server = createServer(async (_req, res) => {
    const gone = new AbortController()
    res.on('close', () => gone.abort())
    const stream = await client.messages.create(
      {
        model: 'claude-haiku-4-5',
        max_tokens: 64,
        stream: true,
        messages: [{ role: 'user', content: 'cut me off' }],
      },
      { signal: gone.signal }
    )
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    try {
      for await (const event of stream) res.write(`data: ${JSON.stringify(event)}\n\n`)
    } catch {
      // Cut: the connection is gone.
    }
    res.end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const held = fake.holdStreamAfter(3)
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    const reader = res.body!.getReader()
    await reader.read()
    await held.reached
    expect((await budget.spend('cut')).heldMicros).toBeGreaterThan(0)
    let atShutdown: Awaited<ReturnType<typeof budget.spend>> | undefined
    const { shutdown } = gracefulShutdown(server, {
      delayMs: 0,
      timeoutMs: 300,
      signals: [],
      onShutdown: async () => {
        atShutdown = await budget.spend('cut')
      },
    })
    await shutdown()
    reader.cancel().catch(() => {})
    expect(atShutdown?.heldMicros).toBe(0)
    expect(atShutdown?.totalMicros).toBeGreaterThan(0)
  } finally {
    held.release()
    server.closeAllConnections()
  }
})
