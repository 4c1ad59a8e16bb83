/**
 * The Express and Fastify chat examples as a demanding user sees them over HTTP: the session
 * cookie (the visitor's only credential) never reaches the logs (the subject is a digest of it);
 * `CHAT_RATE_LIMIT` counts chat requests only, not pages or 404s; a client leaving mid-stream
 * leaves nothing held in the budget; and without Redis a session's spend is never evicted to make
 * room for other visitors' keys (the budget keeps its own non-evicting store); a provider failing
 * mid-stream ends the stream with `event: error` (`MODEL_ERROR`), not a cut connection.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createChatKit } from '../../chat-kit/index.mjs'
import { subjectOf } from '../../chat-kit/session.mjs'
import { parseSse } from '../../chat-kit/test/chat-api.js'
import { buildApp } from '../../fastify-chat/app.mjs'
import { createApp } from '../app.mjs'

const examples = resolve(import.meta.dirname, '../..')
const SID = '0123456789abcdef0123456789abcdef'

type Served = { url: string; close: () => Promise<void> }
const frameworks: Record<string, (kit: ReturnType<typeof createChatKit>) => Promise<Served>> = {
  express: async (kit) => {
    const server = createServer(createApp(kit))
    // Longer than any pause between two requests of a test (Fastify's default is 72 s; Node's
    // 5 s): a keep-alive socket the server closes while fetch picks it for the next request
    // fails that request with ECONNRESET.
    server.keepAliveTimeout = 75_000
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: async () => {
        server.closeAllConnections()
        await new Promise((r) => server.close(r))
        await kit.close()
      },
    }
  },
  fastify: async (kit) => {
    const app = await buildApp(kit)
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    return { url, close: () => app.close() as unknown as Promise<void> }
  },
}

/** Starts `<dir>/server.mjs` as a user does, returns its URL and collected stdout+stderr. */
async function startServer(dir: string, env: Record<string, string>) {
  const childEnv: Record<string, string | undefined> = { ...process.env }
  for (const name of ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'REDIS_URL']) delete childEnv[name]
  Object.assign(childEnv, { PORT: '0' }, env)
  const child: ChildProcess = spawn(process.execPath, ['server.mjs'], {
    cwd: resolve(examples, dir),
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out = { text: '' }
  child.stderr?.on('data', (c: Buffer) => {
    out.text += c.toString()
  })
  const url = await new Promise<string>((done, fail) => {
    // A loaded runner has taken over 15 s to start a node process that imports the kit.
    const timer = setTimeout(() => fail(new Error(`no start line: ${out.text}`)), 40_000)
    child.stdout?.on('data', (c: Buffer) => {
      out.text += c.toString()
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out.text)
      if (m) {
        clearTimeout(timer)
        done(m[1] as string)
      }
    })
  })
  return { url, out, child }
}

const children: ChildProcess[] = []
let provider: FakeProvider
beforeAll(async () => {
  provider = await startFakeProvider()
})
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await provider?.close()
})

/** The JSON lines of a server's output. */
const logLines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)

describe.each(['express-chat', 'fastify-chat'])('%s server.mjs', (dir) => {
  it('never writes the session cookie value (the bearer credential of the session) to the logs', async () => {
    const { url, out, child } = await startServer(dir, {
      LOG_LEVEL: 'info',
      FAKE_MODEL_DELAY_MS: '0',
    })
    children.push(child)
    const res = await fetch(`${url}/api/chat`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer sk-ant-secret-123456',
        cookie: `aikit_sid=${SID}`,
      },
      body: JSON.stringify({ message: 'hi' }),
    })
    expect(res.status).toBe(200)
    await res.text()
    await vi.waitFor(() => expect(out.text).toContain('"message":"request"'), { timeout: 10_000 })
    expect(out.text).not.toContain('sk-ant-secret')
    // Whoever reads the logs could replay `aikit_sid=<id>` and spend that visitor's budget and
    // read their cached answers: the session id must not be logged in the clear.
    expect(out.text).not.toContain(SID)
  }, 60_000)

  it('ends a stream the provider fails mid-answer with event: error MODEL_ERROR (not a cut connection), and logs it at error level', async () => {
    // The real Anthropic client (a key is set) on the fake provider: a first text delta, then
    // Anthropic's in-stream `event: error`, whose message may describe the account.
    const { url, out, child } = await startServer(dir, {
      LOG_LEVEL: 'info',
      ANTHROPIC_API_KEY: 'sk-ant-api03-not-a-real-key-0123456789',
      ANTHROPIC_BASE_URL: provider.anthropicBaseURL,
    })
    children.push(child)
    provider.setReply(() => 'partial answer that never ends')
    // message_start, content_block_start, ping, the first text delta; then the error.
    provider.errorStreamAfter(4, 'Overloaded: account acct-SECRET-INFO')
    const res = await fetch(`${url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'mid-stream failure', stream: true }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    // The body ends normally (a cut connection rejects here with "terminated").
    const body = await res.text()
    const events = parseSse(body)
    expect(events.map((e) => e.event)).toEqual(['meta', 'message', 'error'])
    expect(events[1]?.data).toEqual({ text: 'partial ' })
    expect(events[2]?.data).toEqual({
      error: { code: 'MODEL_ERROR', message: 'The model could not answer, try again later' },
    })
    expect(body).not.toContain('SECRET')
    // Logged at error level with the code; the request line says the response completed.
    await vi.waitFor(
      () => {
        const lines = logLines(out.text)
        expect(lines).toContainEqual(
          expect.objectContaining({
            level: 'error',
            message: 'chat stream failed',
            code: 'MODEL_ERROR',
          })
        )
        expect(lines).toContainEqual(
          expect.objectContaining({
            message: 'request',
            path: '/api/chat',
            status: 200,
            aborted: false,
          })
        )
      },
      { timeout: 10_000 }
    )
    provider.reset()
  }, 60_000)
})

describe.each(Object.keys(frameworks))('%s app', (name) => {
  const serve = frameworks[name] as (typeof frameworks)['express']

  it('CHAT_RATE_LIMIT limits chat requests: requests to other paths do not use up the chat quota', async () => {
    const kit = createChatKit({
      LOG_LEVEL: 'error',
      CHAT_RATE_LIMIT: '3',
      FAKE_MODEL_DELAY_MS: '0',
    })
    const served = await serve(kit)
    try {
      for (let i = 0; i < 3; i++) {
        const page = await fetch(`${served.url}/some/page`)
        expect(page.status).toBe(404)
        await page.text()
      }
      const res = await fetch(`${served.url}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'hi' }),
      })
      await res.text()
      expect(res.status).toBe(200)
    } finally {
      await served.close()
    }
  })

  it('settles the budget when the client disconnects mid-stream (nothing left held)', async () => {
    const kit = createChatKit({ LOG_LEVEL: 'error', FAKE_MODEL_DELAY_MS: '80' })
    const served = await serve(kit)
    try {
      const controller = new AbortController()
      const res = await fetch(`${served.url}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: `aikit_sid=${SID}` },
        body: JSON.stringify({ message: 'a long answer', stream: true }),
        signal: controller.signal,
      })
      expect(res.status).toBe(200)
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      let seen = ''
      for (let i = 0; i < 50 && !seen.includes('"text"'); i++) {
        const { value, done } = await reader.read()
        if (done) break
        seen += new TextDecoder().decode(value)
      }
      controller.abort()
      await vi.waitFor(() => expect(kit.fakeProvider?.aborted).toBe(1), { timeout: 10_000 })
      await vi.waitFor(
        async () => {
          const status = await kit.budget.status(await subjectOf(SID))
          expect(status.limits[0]?.heldMicros).toBe(0)
          expect(status.limits[0]?.spentMicros).toBeGreaterThan(0)
        },
        { timeout: 10_000 }
      )
      // and the server keeps answering
      const again = await fetch(`${served.url}/health`)
      expect(again.status).toBe(200)
    } finally {
      await served.close()
    }
  })
})

describe('chat-kit stores', () => {
  it("never forgets a session's spent budget to make room for other keys (the budget's memory store must not evict)", async () => {
    const kit = createChatKit({
      LOG_LEVEL: 'error',
      CHAT_DAILY_BUDGET_USD: '0.003',
      FAKE_MODEL_DELAY_MS: '0',
      CHAT_RATE_LIMIT: '1000',
    })
    const served = await frameworks.express?.(kit)
    if (!served) throw new Error('no express')
    const ask = async (message: string) => {
      const res = await fetch(`${served.url}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: `aikit_sid=${SID}` },
        body: JSON.stringify({ message }),
      })
      await res.text()
      return res.status
    }
    try {
      // Spend the session's day until the budget refuses (a few distinct questions: no cache hits).
      let status = 200
      for (let i = 0; i < 10 && status === 200; i++) status = await ask(`question ${i}`)
      expect(status).toBe(402)
      // Other visitors' traffic: one reservation each for 100k other sessions (what a busy day
      // of anonymous sessions does to the shared memory store).
      for (let i = 0; i < 100_001; i++) {
        const r = await kit.budget.reserve(`session:filler-${i}`, { estimateMicros: 1 })
        await r.release()
      }
      // The first session has spent its day: it is still refused.
      expect(await ask('question again')).toBe(402)
    } finally {
      await served.close()
    }
  }, 60_000)
})
