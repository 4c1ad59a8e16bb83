import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import { createLogger, requestLogger } from '@aikit/observability'
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ANTHROPIC_KEY = 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij-XYZ'
const OPENAI_KEY = 'sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0PpOoNnMmLlKkJjIiHh'
const COOKIE_VALUE = 'sess-7f3c9a1be2d44c0f8a6b5e4d3c2b1a09'
const PROMPT = 'PROMPT-TEXT please summarise my medical record'
const COMPLETION = 'COMPLETION-TEXT here is the summary'
const SECRETS = [
  ANTHROPIC_KEY,
  OPENAI_KEY,
  COOKIE_VALUE,
  'PROMPT-TEXT',
  'COMPLETION-TEXT',
  'AbCdEfGhIjKl',
  'Zz9Yy8Xx7Ww6',
]

const envelopes: string[] = []
let dsnServer: Server
let app: Server
let base: string

beforeAll(async () => {
  // A local HTTP endpoint posing as Sentry: it records every envelope the SDK sends.
  dsnServer = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      envelopes.push(String(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body))
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
  })
  await new Promise<void>((r) => dsnServer.listen(0, '127.0.0.1', r))
  const dsn = `http://public@127.0.0.1:${(dsnServer.address() as AddressInfo).port}/1`
  const client = initSentry({ dsn, tracesSampleRate: 1 })
  expect(client).toBeDefined()
  // Idempotent: a second call (hot reload) returns the same client and registers nothing again.
  expect(initSentry({ dsn, tracesSampleRate: 1 })).toBe(client)

  const logger = createLogger({ stream: new Writable({ write: (_c, _e, cb) => cb() }) })
  const e = express()
  e.use(toExpress(requestLogger(logger)))
  e.use(express.json())
  e.post('/chat', async (req, res) => {
    const body = req.body as { prompt: string }
    // What the LLM wrappers record for the running request: it becomes the event's tags.
    const ctx = res.locals.aikit
    if (ctx) ctx.state.llm = { provider: 'anthropic', model: 'claude-sonnet-4-5' }
    await Sentry.startSpan(
      {
        name: 'chat claude',
        op: 'gen_ai.chat',
        attributes: {
          'gen_ai.request.model': 'claude-sonnet-4-5',
          'gen_ai.input.messages': JSON.stringify([{ role: 'user', content: body.prompt }]),
          'gen_ai.response.text': COMPLETION,
          'http.request.header.authorization': `Bearer ${ANTHROPIC_KEY}`,
        },
      },
      async () => {}
    )
    throw new Error(`provider call failed with key ${OPENAI_KEY}`)
  })
  e.use(aikitErrorHandler({ onError: (error) => Sentry.captureException(error) }))
  app = createServer(e)
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
})

afterAll(async () => {
  await Sentry.close(2000)
  app.closeAllConnections()
  dsnServer.closeAllConnections()
  await new Promise((r) => app.close(r))
  await new Promise((r) => dsnServer.close(r))
})

describe('initSentry', () => {
  it('the events of a failing request reach the DSN without Authorization, cookie, provider key or prompt text', async () => {
    const res = await fetch(`${base}/chat`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ANTHROPIC_KEY}`,
        cookie: `session=${COOKIE_VALUE}`,
        'x-api-key': OPENAI_KEY,
        'x-request-id': 'sentry-req-1',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ prompt: PROMPT, apiKey: OPENAI_KEY }),
    })
    expect(res.status).toBe(500)
    await res.text()
    await Sentry.flush(5000)

    const all = envelopes.join('\n')
    // Positive control: the error event did arrive, tagged with the request.
    expect(all).toContain('provider call failed with key')
    const event = envelopes
      .flatMap((e) => e.split('\n'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>
        } catch {
          return {}
        }
      })
      .find((o) => Array.isArray((o.exception as { values?: unknown[] } | undefined)?.values))
    expect(event).toBeDefined()
    expect(event?.tags).toMatchObject({
      request_id: 'sentry-req-1',
      route: '/chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
    })
    for (const secret of SECRETS) expect(all).not.toContain(secret)
    expect(all.toLowerCase()).not.toMatch(/"authorization"\s*:/)
    expect(all.toLowerCase()).not.toMatch(/"cookie"\s*:\s*"/)
  })

  it('when the app already called Sentry.init, it does not initialise twice', () => {
    const g = globalThis as Record<symbol, unknown>
    const key = Symbol.for('@aikit/observability.sentry-client')
    const saved = g[key]
    delete g[key] // as if another copy of the app's code had called Sentry.init directly
    let inits = 0
    try {
      const client = initSentry({
        dsn: 'http://public@127.0.0.1:9/1',
        sentry: { ...Sentry, init: () => void inits++ } as never,
      })
      expect(client).toBe(Sentry.getClient())
      expect(inits).toBe(0)
    } finally {
      g[key] = saved
    }
  })

  it('without a DSN it initialises nothing', () => {
    // The process-wide client from the first test is returned, whatever the options say.
    expect(initSentry({ dsn: undefined })).toBe(Sentry.getClient())
  })

  it.each([
    [{ dsn: 'not-a-dsn' }, 'dsn'],
    [{ dsn: undefined, tracesSampleRate: 2 }, 'tracesSampleRate'],
    [{ dsn: undefined, allowRequestBodies: 'yes' }, 'allowRequestBodies'],
    [{ dsn: undefined, redact: 1 }, 'redact'],
    [{ dsn: undefined, sentry: {} }, 'sentry'],
  ])('rejects invalid options %j naming %s', (options, field) => {
    expect(() => initSentry(options as never)).toThrow(expect.objectContaining({ field }))
  })
})
