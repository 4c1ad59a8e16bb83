/**
 * The Vercel AI SDK records the headers an app passes to a call (`generateText({ headers })`, how
 * gateways such as Helicone / Portkey / Cloudflare AI Gateway are authenticated) as
 * `ai.request.headers.<name>` span attributes, whatever its recordInputs setting; @sentry/node v10
 * moves them to `vercel.ai.request.headers.<name>`. Credential headers among them are dropped
 * like `http.request.header.<name>` (the pattern knew only the singular `header.`), and so are
 * headers whose name says what they carry (`helicone-auth`, `*-token`, `*-key`). Driven through
 * `initSentry`'s `beforeSendSpan` / `beforeSendTransaction` (stand-in `sentry` modules record the
 * options; no Sentry state is left on globalThis).
 */
import { afterEach, expect, it } from 'vitest'
import { forgetSentryClient, type Hook, initWithStandIn } from './sentry-stand-in.js'

const rev = (s: string): string => s.split('').reverse().join('')
const KEY = rev('f3b1c9d2e8a7f6b5c4d3e2f1a0b9c8d7')
const BASIC = Buffer.from(`gateway:${KEY}`).toString('base64')
const init = (version: string): Record<string, Hook> =>
  initWithStandIn({ version, tracesSampleRate: 1 }).options

afterEach(forgetSentryClient)

it('drops ai.request.headers.* credential headers from a streamed span (v11)', () => {
  const options = init('11.12.0')
  const span = options.beforeSendSpan!({
    name: 'ai.generateText',
    attributes: {
      'ai.model.id': 'claude-sonnet-4-5',
      'ai.request.headers.x-api-key': KEY,
      'ai.request.headers.authorization': `Basic ${BASIC}`,
      'ai.request.headers.helicone-auth': KEY,
    },
  } as never)
  expect(JSON.stringify(span)).toContain('claude-sonnet-4-5')
  expect(JSON.stringify(span)).not.toContain(KEY)
  expect(JSON.stringify(span)).not.toContain(BASIC)
})

it('drops vercel.ai.request.headers.* credential headers from a transaction (v10)', async () => {
  const options = init('10.78.0')
  const event = await options.beforeSendTransaction!({
    type: 'transaction',
    transaction: 'POST /chat',
    spans: [
      {
        description: 'generateText',
        data: {
          'gen_ai.request.model': 'claude-sonnet-4-5',
          'vercel.ai.request.headers.x-api-key': KEY,
          'vercel.ai.request.headers.authorization': `Basic ${BASIC}`,
        },
      },
    ],
  } as never)
  expect(JSON.stringify(event)).toContain('claude-sonnet-4-5')
  expect(JSON.stringify(event)).not.toContain(KEY)
  expect(JSON.stringify(event)).not.toContain(BASIC)
})

it('keeps headers named like a credential that are none (Idempotency-Key), drops the others by name', () => {
  const options = init('11.12.0')
  const span = options.beforeSendSpan!({
    name: 'ai.generateText',
    attributes: {
      'ai.request.headers.idempotency-key': 'order-1234',
      'ai.request.headers.x-request-id': 'req-1',
      'ai.request.headers.x-functions-key': KEY,
      'ai.request.headers.x-session-token': KEY,
    },
  } as never) as { attributes: Record<string, unknown> }
  expect(Object.keys(span.attributes).sort()).toEqual([
    'ai.request.headers.idempotency-key',
    'ai.request.headers.x-request-id',
  ])
})
