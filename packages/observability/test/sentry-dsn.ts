/**
 * A local HTTP endpoint posing as the Sentry DSN, and a real Express app whose failing request
 * carries an Authorization header, a cookie, provider keys and prompt text into a span, a
 * breadcrumb and an error. Used with the real @sentry/node v11 and v10.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import { createLogger, requestLogger } from '@aikit/observability'
import express from 'express'
import { expect } from 'vitest'

// Built at run time so that the source lines Sentry attaches to stack frames never hold them.
const part = (s: string): string => s.split('').reverse().join('')
export const ANTHROPIC_KEY = `${part('-30ipa-tna-ks')}AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij-XYZ`
export const OPENAI_KEY = `${part('-jorp-ks')}Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0PpOoNnMmLlKkJjIiHh`
export const COOKIE_VALUE = part('90a1b2c3d4e5b6a8f0c44d2eb1a9c3f7-sses')
export const PROMPT = `${part('TXET-TPMORP')} please summarise my medical record`
export const COMPLETION = `${part('TXET-NOITELPMOC')} here is the summary`
/** Every string that must not reach Sentry (the keys' distinctive middles included). */
export const SECRETS = [
  ANTHROPIC_KEY,
  OPENAI_KEY,
  COOKIE_VALUE,
  PROMPT.slice(0, 11),
  COMPLETION.slice(0, 15),
  'AbCdEfGhIjKl',
  'Zz9Yy8Xx7Ww6',
]

/** One envelope item: its header and its payload (parsed JSON, or the raw line). */
export interface EnvelopeItem {
  type: string
  payload: unknown
  raw: string
}

/** The subset of the @sentry/node module (v10 or v11) the scenario uses. */
export interface SentryApi {
  startSpan<T>(
    options: { name: string; op?: string; attributes?: Record<string, unknown> },
    fn: () => T
  ): T
  addBreadcrumb(breadcrumb: {
    message?: string
    category?: string
    data?: Record<string, unknown>
  }): void
  captureException(error: unknown): string
  flush(timeout?: number): PromiseLike<boolean>
}

export interface DsnScenario {
  dsn: string
  /** Every envelope received, as text. */
  envelopes: string[]
  /** Every item of every envelope received. */
  items(): EnvelopeItem[]
  /** Sends the failing request through the app and waits until Sentry has flushed. */
  failingRequest(sentry: SentryApi): Promise<void>
  close(): Promise<void>
}

function parseItems(envelope: string): EnvelopeItem[] {
  const lines = envelope.split('\n').filter((l) => l.length > 0)
  const items: EnvelopeItem[] = []
  for (let i = 1; i + 1 < lines.length; i += 2) {
    const header = JSON.parse(lines[i]!) as { type?: string }
    const raw = lines[i + 1]!
    let payload: unknown = raw
    try {
      payload = JSON.parse(raw)
    } catch {}
    items.push({ type: String(header.type), payload, raw })
  }
  return items
}

/** Starts the fake DSN endpoint. */
export async function startDsn(): Promise<
  Omit<DsnScenario, 'failingRequest'> & { server: Server }
> {
  const envelopes: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      envelopes.push(String(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body))
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const dsn = `http://public@127.0.0.1:${(server.address() as AddressInfo).port}/1`
  return {
    server,
    dsn,
    envelopes,
    items: () => envelopes.flatMap(parseItems),
    close: async () => {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}

/** The DSN endpoint plus a real Express app that fails with secrets in every channel. */
export async function startScenario(): Promise<DsnScenario> {
  const dsn = await startDsn()
  let sentry: SentryApi | undefined
  const logger = createLogger({ stream: new Writable({ write: (_c, _e, cb) => cb() }) })
  const e = express()
  e.use(toExpress(requestLogger(logger)))
  e.use(express.json())
  e.post('/chat', async (req, res) => {
    const body = req.body as { prompt: string }
    const ctx = res.locals.aikit
    if (ctx) ctx.state.llm = { provider: 'anthropic', model: 'claude-sonnet-4-5' }
    sentry?.addBreadcrumb({
      category: 'llm',
      message: `calling the provider with ${ANTHROPIC_KEY}`,
      data: { authorization: `Bearer ${ANTHROPIC_KEY}`, 'gen_ai.input.messages': body.prompt },
    })
    await sentry?.startSpan(
      {
        name: 'chat claude',
        op: 'gen_ai.chat',
        attributes: {
          'gen_ai.request.model': 'claude-sonnet-4-5',
          'gen_ai.input.messages': JSON.stringify([{ role: 'user', content: body.prompt }]),
          'gen_ai.response.text': COMPLETION,
          'http.request.header.authorization': `Bearer ${ANTHROPIC_KEY}`,
          note: `key ${OPENAI_KEY}`,
        },
      },
      async () => {}
    )
    throw new Error(`provider call failed with key ${OPENAI_KEY}`)
  })
  e.use(aikitErrorHandler({ onError: (error) => sentry?.captureException(error) }))
  const app = createServer(e)
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
  return {
    ...dsn,
    async failingRequest(api) {
      sentry = api
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
      if (res.status !== 500) throw new Error(`expected 500, got ${res.status}`)
      await res.text()
      await api.flush(5000)
    },
    async close() {
      app.closeAllConnections()
      await new Promise((r) => app.close(r))
      await dsn.close()
    },
  }
}

/** The secrets (and credential-bearing keys) found in an envelope item; empty when clean. */
export function leaksIn(item: EnvelopeItem): string[] {
  const found = SECRETS.filter((s) => item.raw.includes(s))
  const lower = item.raw.toLowerCase()
  // A credential header may survive only as a censored value.
  const header = /"(?:[a-z._]*\.)?(authorization|cookie|x-api-key)"\s*:\s*("(?!\[redacted\])|\[|\{)/
  const match = header.exec(lower)
  if (match) found.push(match[1]!)
  return found
}

interface SpanLike {
  name?: string
  description?: string
  attributes?: Record<string, unknown>
  data?: Record<string, unknown>
}

/**
 * Sends the failing request and checks every envelope item: none leaks, and (so the check cannot
 * pass vacuously) the GenAI span arrived — in a streamed span batch (v11; v10 may put it there or
 * inside the transaction) — as did the error event, tagged, with its breadcrumb.
 */
export async function expectCleanFailingRequest(
  scenario: DsnScenario,
  sentry: SentryApi,
  spans: 'streamed' | 'any'
): Promise<void> {
  await scenario.failingRequest(sentry)
  const items = scenario.items()
  const streamed = items
    .filter((i) => i.type === 'span')
    .flatMap((i) => (i.payload as { items: SpanLike[] }).items)
  const inTransactions = items
    .filter((i) => i.type === 'transaction')
    .flatMap((i) => (i.payload as { spans?: SpanLike[] }).spans ?? [])
  const sent = spans === 'streamed' ? streamed : [...streamed, ...inTransactions]
  const chat = sent.find((s) => (s.name ?? s.description) === 'chat claude')
  const model = chat?.attributes?.['gen_ai.request.model'] ?? chat?.data?.['gen_ai.request.model']
  expect(JSON.stringify(model)).toContain('claude-sonnet-4-5')
  const event = items.find((i) => i.type === 'event')?.payload as
    | { tags?: object; breadcrumbs?: { category?: string }[]; exception?: unknown }
    | undefined
  expect(JSON.stringify(event?.exception)).toContain('provider call failed with key')
  expect(event?.tags).toMatchObject({
    request_id: 'sentry-req-1',
    route: '/chat',
    'gen_ai.provider.name': 'anthropic',
    'gen_ai.request.model': 'claude-sonnet-4-5',
  })
  expect(event?.breadcrumbs?.some((b) => b.category === 'llm')).toBe(true)
  for (const item of items) {
    expect({ type: item.type, leaks: leaksIn(item) }).toEqual({ type: item.type, leaks: [] })
  }
}
