/**
 * A route whose LLM provider answers 4xx (401: the server's API key is wrong, 404: unknown model,
 * 429: the provider's rate limit) throws the SDK's `APIError`, which carries `status`. That status
 * is the provider's answer to the server, not this server's answer to its client: every adapter
 * answers 500 `INTERNAL` (DESIGN.md) and reports the error, while the framework's own client
 * errors (body-parser 400/413, Fastify validation 400 and body limit 413) keep their status.
 * Real SDKs, real servers on 127.0.0.1, the fake provider on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http'
import { inspect } from 'node:util'
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { withAikit } from '@aikit/adapters/next'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
// The SDKs are dev dependencies of @aikit/testing, not of this package: the real clients, taken
// from there (no second copy to install and keep in step).
import Anthropic from '@anthropic-ai/sdk'
import express, { type NextFunction, type Request, type Response } from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

/** The server's (broken) provider key: it must reach neither the client nor the report's text. */
const API_KEY = 'sk-server-key-hunter2'
/** Words of the provider's error message: the client must never see them. */
const PROVIDER_WORDS = 'provider-says-invalid-key'
const INTERNAL = { error: { code: 'INTERNAL', message: 'Internal server error' } }
const pass: Middleware = async (_ctx, next) => next()

let provider: FakeProvider
const servers: ConformanceServer[] = []
const closers: (() => Promise<unknown>)[] = []

beforeAll(async () => {
  provider = await startFakeProvider()
})
afterAll(async () => {
  await Promise.all([...servers.map((s) => s.close()), ...closers.map((c) => c())])
  await provider.close()
})
beforeEach(() => provider.reset())

/** Calls Anthropic Messages through the real SDK (no retries: one provider answer per call). */
async function askAnthropic(model = 'claude-fake'): Promise<unknown> {
  const client = new Anthropic({
    apiKey: API_KEY,
    baseURL: provider.anthropicBaseURL,
    maxRetries: 0,
  })
  const msg = await client.messages.create({
    model,
    max_tokens: 16,
    messages: [{ role: 'user', content: 'hi' }],
  })
  return { text: msg.content }
}

/** Calls Chat Completions through the real OpenAI SDK. */
async function askOpenAI(): Promise<unknown> {
  const client = new OpenAI({ apiKey: API_KEY, baseURL: provider.openaiBaseURL, maxRetries: 0 })
  const completion = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
  })
  return { text: completion.choices[0]?.message.content }
}

/** The provider answers the next call with `status`, its message naming the key, as real ones do. */
function providerFails(status: number, api: 'anthropic' | 'openai' = 'anthropic'): void {
  const message = `${PROVIDER_WORDS}: ${API_KEY.slice(0, 8)}…`
  const body =
    api === 'anthropic'
      ? { type: 'error', error: { type: 'authentication_error', message } }
      : { error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } }
  provider.failNext(1, { status, body, retryAfter: 7 })
}

/** GETs `url` and returns what a client sees. */
async function get(url: string) {
  const res = await fetch(url)
  const text = await res.text()
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    retryAfter: res.headers.get('retry-after'),
    text,
  }
}

/** The client got the kit's 500 and nothing of the provider's answer. */
function expectInternal(res: Awaited<ReturnType<typeof get>>): void {
  expect(res.status).toBe(500)
  expect(res.type).toBe('application/json; charset=utf-8')
  expect(JSON.parse(res.text)).toEqual(INTERNAL)
  expect(res.retryAfter).toBeNull()
  expect(res.text).not.toContain(PROVIDER_WORDS)
}

/** The SDK error was reported (to onError), and its text holds no API key. */
function expectReported(reported: unknown[], status: number): void {
  expect(reported).toHaveLength(1)
  const error = reported[0] as { status?: unknown; headers?: unknown }
  expect(error.status).toBe(status)
  expect(error.headers).toBeDefined() // the SDK's APIError, as thrown
  expect(inspect(error, { depth: 6 })).not.toContain(API_KEY)
}

const upstreamCases = [
  ['Anthropic 401 (bad server API key)', '/anthropic', 401, 'anthropic'],
  ['Anthropic 429 (provider rate limit)', '/anthropic', 429, 'anthropic'],
  ['Anthropic 404 (unknown model)', '/anthropic', 404, 'anthropic'],
  ['OpenAI 401 (bad server API key)', '/openai', 401, 'openai'],
  ['OpenAI 429 (provider rate limit)', '/openai', 429, 'openai'],
] as const

/**
 * The tests an error handler's suite shares, on the server at `base()` reporting to `reported`
 * (emptied before each test): every upstream case, and a plain error carrying only `status: 404`.
 */
function itAnswersUpstreamErrorsWith500(base: () => string, reported: unknown[]): void {
  beforeEach(() => {
    reported.length = 0
  })

  it.each(upstreamCases)('%s is a reported 500 INTERNAL', async (_case, path, status, api) => {
    providerFails(status, api)
    expectInternal(await get(`${base()}${path}`))
    expectReported(reported, status)
  })

  it('answers a plain error carrying only `status: 404` with 500 (DESIGN), reported', async () => {
    const res = await get(`${base()}/status-only`)
    expect(res.status).toBe(500)
    expect(JSON.parse(res.text)).toEqual(INTERNAL)
    expect(reported).toHaveLength(1)
  })
}

describe.each([
  ['Express 5', express as unknown as typeof express],
  ['Express 4', express4 as unknown as typeof express],
])('aikitErrorHandler on %s: a provider 4xx', (_name, factory) => {
  const reported: unknown[] = []
  let base = ''
  beforeAll(async () => {
    const app = factory()
    app.use(toExpress(pass))
    // Express 4 does not catch a rejected promise: hand it to next(), as apps do.
    const route =
      (call: () => Promise<unknown>) => (_req: Request, res: Response, next: NextFunction) => {
        call().then((body) => res.json(body), next)
      }
    app.get('/anthropic', route(askAnthropic))
    app.get('/openai', route(askOpenAI))
    app.get('/status-only', () => {
      throw Object.assign(new Error('No such conversation'), { status: 404 })
    })
    app.post('/parsed', express.json({ limit: 64 }), (req, res) => {
      res.json(req.body)
    })
    app.use(aikitErrorHandler({ onError: (e) => reported.push(e) }))
    const server = await listen(createServer(app))
    servers.push(server)
    base = server.url
  })
  itAnswersUpstreamErrorsWith500(() => base, reported)

  it('keeps body-parser client errors: malformed 400, oversized 413, not reported', async () => {
    const post = (body: string) =>
      fetch(`${base}/parsed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
    const bad = await post('{"a":')
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.code).toBe('INVALID_REQUEST')
    const big = await post(JSON.stringify({ a: 'x'.repeat(200) }))
    expect(big.status).toBe(413)
    expect((await big.json()).error.code).toBe('PAYLOAD_TOO_LARGE')
    expect(reported).toHaveLength(0)
  })
})

describe('aikitFastify errorHandler: a provider 4xx', () => {
  const reported: unknown[] = []
  let base = ''
  beforeAll(async () => {
    const app = Fastify({ logger: false, bodyLimit: 64 })
    await app.register(aikitFastify, {
      use: [pass],
      errorHandler: true,
      onError: (e) => reported.push(e),
    })
    app.get('/anthropic', () => askAnthropic())
    app.get('/openai', () => askOpenAI())
    app.get('/status-only', async () => {
      throw Object.assign(new Error('No such conversation'), { status: 404 })
    })
    // An API client's error that uses Fastify's `statusCode` but carries its upstream's headers
    // (Stripe's errors do): the upstream's answer, not this request's.
    app.get('/upstream-status-code', async () => {
      throw Object.assign(new Error('Invalid API Key provided'), {
        statusCode: 401,
        headers: { 'request-id': 'req_1' },
      })
    })
    app.post(
      '/validated',
      {
        schema: {
          body: { type: 'object', required: ['q'], properties: { q: { type: 'string' } } },
        },
      },
      async (request) => request.body
    )
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    const address = app.server.address()
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  })
  itAnswersUpstreamErrorsWith500(() => base, reported)

  it('answers an API client error with `statusCode` and upstream headers with 500', async () => {
    const res = await get(`${base}/upstream-status-code`)
    expect(res.status).toBe(500)
    expect(JSON.parse(res.text)).toEqual(INTERNAL)
    expect(reported).toHaveLength(1)
  })

  it('keeps its own client errors: validation 400, malformed 400, too large 413', async () => {
    const post = (body: string) =>
      fetch(`${base}/validated`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
    const invalid = await post('{"other":true}')
    expect(invalid.status).toBe(400)
    const error = (await invalid.json()).error
    expect(error.code).toBe('INVALID_REQUEST')
    expect(error.message).toContain('q')
    const malformed = await post('{"q":')
    expect(malformed.status).toBe(400)
    expect((await malformed.json()).error.code).toBe('INVALID_REQUEST')
    const big = await post(JSON.stringify({ q: 'x'.repeat(200) }))
    expect(big.status).toBe(413)
    expect((await big.json()).error.code).toBe('PAYLOAD_TOO_LARGE')
    expect(reported).toHaveLength(0)
  })
})

// The chain runner (core's errorStatus) already answers these with 500: the four adapters agree.
describe('toNodeHandler and withAikit: a provider 4xx', () => {
  it.each(upstreamCases)(
    '%s is a reported 500 INTERNAL on node:http',
    async (_c, path, status, api) => {
      const reported: unknown[] = []
      const server = await listen(
        createServer(
          toNodeHandler(pass, {
            onError: (e) => reported.push(e),
            handler: async (_req, res) => {
              const body = await (path === '/anthropic' ? askAnthropic() : askOpenAI())
              res.end(JSON.stringify(body))
            },
          })
        ) as Server
      )
      servers.push(server)
      providerFails(status, api)
      expectInternal(await get(server.url))
      expectReported(reported, status)
    }
  )

  it.each(upstreamCases)('%s is a reported 500 INTERNAL on Next', async (_c, path, status, api) => {
    const reported: unknown[] = []
    const route = withAikit(
      async () => Response.json(await (path === '/anthropic' ? askAnthropic() : askOpenAI())),
      pass,
      { onError: (e) => reported.push(e) }
    )
    providerFails(status, api)
    const res = await route(new Request('http://127.0.0.1/api/chat'), undefined)
    expectInternal({
      status: res.status,
      type: res.headers.get('content-type'),
      retryAfter: res.headers.get('retry-after'),
      text: await res.text(),
    })
    expectReported(reported, status)
  })
})
