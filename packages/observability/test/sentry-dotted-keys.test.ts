/**
 * Span, log and breadcrumb attributes are named OTel-style, with dots (`db.password`,
 * `openai.api_key`, `http.authorization`): the redactor checks a dotted key's last segment like a
 * key of its own, so an opaque value (a DB password, a provider key of no known shape) under such a
 * name is censored in a streamed span (beforeSendSpan), a breadcrumb's data and a log item of the
 * envelope (beforeEnvelope); it used to reach Sentry in clear. Driven through the hooks
 * `initSentry` hands to a stand-in `sentry` module (no Sentry state is left on globalThis).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { forgetSentryClient, type Hook, initWithStandIn } from './sentry-stand-in.js'

const rev = (s: string): string => s.split('').reverse().join('')
const PASSWORD = rev('9Iu3Y1t6R4e7W2q8')

let options: Record<string, Hook>
let clientHooks: Map<string, Hook[]>

beforeAll(() => {
  ;({ options, clientHooks } = initWithStandIn())
  expect(typeof options.beforeSendSpan).toBe('function') // v11: spans are streamed
})

afterAll(forgetSentryClient)

const ATTRIBUTES = {
  'db.system': 'postgresql',
  'db.password': PASSWORD,
  'openai.api_key': PASSWORD,
  'http.authorization': PASSWORD,
  'auth.token': PASSWORD,
}

it('censors dotted credential attributes of a streamed span', () => {
  const span = options.beforeSendSpan!({
    name: 'connect',
    attributes: { ...ATTRIBUTES },
  } as never) as { attributes: Record<string, unknown> }
  expect(span.attributes['db.system']).toBe('postgresql')
  expect(JSON.stringify(span)).not.toContain(PASSWORD)
})

it("censors dotted credential keys of a breadcrumb's data", () => {
  const crumb = options.beforeBreadcrumb!({
    category: 'db',
    message: 'connect',
    data: { ...ATTRIBUTES },
  } as never)
  expect(JSON.stringify(crumb)).toContain('postgresql')
  expect(JSON.stringify(crumb)).not.toContain(PASSWORD)
})

it('censors dotted credential attributes of a log item in the envelope sent', () => {
  const typed = Object.fromEntries(
    Object.entries(ATTRIBUTES).map(([k, v]) => [k, { type: 'string', value: v }])
  )
  const envelope = [
    { sent_at: '2026-11-29T00:00:00Z' },
    [
      [
        { type: 'log', item_count: 1 },
        { items: [{ level: 'info', body: 'connected', attributes: typed }] },
      ],
    ],
  ]
  for (const cb of clientHooks.get('beforeEnvelope') ?? []) cb(envelope)
  expect(clientHooks.get('beforeEnvelope')?.length).toBeGreaterThan(0)
  expect(JSON.stringify(envelope)).toContain('postgresql')
  expect(JSON.stringify(envelope)).not.toContain(PASSWORD)
})
