/**
 * securityHeaders() placed LAST in one chain still puts helmet's full header set on each of the
 * kit's own error responses (400 from validate and from bad JSON, 403 csrf, 413 bodyLimit, 429
 * rateLimit), on every adapter over real servers: node:http, Express 5, Fastify 5, and Next
 * (`withAikit`, `aikitProxy`; the real `next start` server is in attack-table.next.test.ts).
 * `compose` runs it first wherever it is listed (headers-order.ts).
 */
import { compose, type Middleware } from '@aikit/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bodyLimit } from '../src/body-limit.js'
import { contentSecurityPolicy } from '../src/csp.js'
import { resolveSecurityHeaders, securityHeaders } from '../src/headers.js'
import { type Calls, orderChain } from './attack-chains.js'
import { type Reply, STACKS, type Stack } from './headers-stacks.js'

/** helmet 8's defaults, name → value, as securityHeaders() sends them (the golden test pins them). */
function helmetSet(): (readonly [string, string])[] {
  const { headers, csp } = resolveSecurityHeaders({})
  return [[csp?.headerName ?? '', csp?.staticValue ?? ''], ...headers]
}
const HELMET = helmetSet()

function expectHelmetHeaders(res: Reply): void {
  expect(HELMET).toHaveLength(12)
  for (const [name, value] of HELMET) expect([name, res.headers.get(name)]).toEqual([name, value])
  expect(res.headers.get('x-powered-by')).toBeNull()
}

const post = (stack: Stack, body: string, headers: Record<string, string> = {}) =>
  stack.send('/api/chat', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })

describe.each(STACKS)('securityHeaders listed last, on %s', (_name, factory) => {
  const calls: Calls = { n: 0 }
  let stack: Stack
  beforeAll(async () => {
    stack = await factory(orderChain(calls))
  })
  afterAll(() => stack.close())

  it('the route response carries them', async () => {
    calls.n = 0
    const res = await post(stack, '{"n":1}')
    expect(res.status).toBe(200)
    expect(calls.n).toBe(1)
    expectHelmetHeaders(res)
  })

  it.each([
    ['413 bodyLimit', `{"n":1,"pad":"${'x'.repeat(100)}"}`, {}, 413, 'PAYLOAD_TOO_LARGE'],
    ['403 csrf', '{"n":1}', { 'sec-fetch-site': 'cross-site' }, 403, 'CSRF_REJECTED'],
    ['400 validate', '{"n":"one"}', {}, 400, 'INVALID_REQUEST'],
    ['400 bad JSON', '{"n":', {}, 400, 'INVALID_REQUEST'],
  ] as const)('the %s error carries them', async (_label, body, headers, status, code) => {
    calls.n = 0
    const res = await post(stack, body, headers)
    expect(res.status).toBe(status)
    expect(JSON.parse(res.body).error.code).toBe(code)
    expect(calls.n).toBe(0)
    expectHelmetHeaders(res)
  })

  it('the 429 rateLimit error carries them', async () => {
    const key = { 'x-rate-key': `k-${Math.random()}` }
    expect((await post(stack, '{"n":1}', key)).status).toBe(200)
    calls.n = 0
    const res = await post(stack, '{"n":1}', key)
    expect(res.status).toBe(429)
    expect(JSON.parse(res.body).error.code).toBe('RATE_LIMITED')
    expect(calls.n).toBe(0)
    expectHelmetHeaders(res)
  })
})

describe('the run order compose gives header middleware', () => {
  const trace = (name: string, order: string[]): Middleware =>
    async function traced(_ctx, next) {
      order.push(name)
      await next()
    }

  it('runs securityHeaders and contentSecurityPolicy first, keeping their own order', async () => {
    const order: string[] = []
    const headers = securityHeaders()
    const csp = contentSecurityPolicy()
    const wrap =
      (name: string, mw: Middleware): Middleware =>
      (ctx, next) => {
        order.push(name)
        return mw(ctx, next)
      }
    // Wrapping drops the mark: this shows the unmarked order is kept as given.
    const chain = compose(
      trace('a', order),
      headers,
      trace('b', order),
      csp,
      wrap('wrapped-csp', contentSecurityPolicy())
    )
    // The context records each Content-Security-Policy write in the same trace.
    const ctx = {
      setHeader: (n: string) => (n === 'Content-Security-Policy' ? order.push('csp') : 0),
      state: {},
    } as never
    await chain(ctx, async () => {
      order.push('route')
    })
    expect(order).toEqual(['csp', 'csp', 'a', 'b', 'wrapped-csp', 'csp', 'route'])
  })

  it('lifts a marked middleware out of a nested compose, on a real server', async () => {
    const stack = await STACKS[0]![1]([
      compose(bodyLimit({ maxBytes: 8 }), compose(securityHeaders())),
    ])
    try {
      const res = await stack.send('/api/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"n":123456789}',
      })
      expect(res.status).toBe(413)
      expectHelmetHeaders(res)
    } finally {
      await stack.close()
    }
  })
})
