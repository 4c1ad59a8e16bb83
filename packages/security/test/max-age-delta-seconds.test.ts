/**
 * Max-age options are written as delta-seconds (plain digits) or refused at construction.
 * `String(n)` of a number >= 1e21 is exponent form (`1e+21`, `1.7976931348623157e+308`), which is
 * not delta-seconds; `Number.MAX_VALUE` is a common "forever" idiom and is finite.
 * - HSTS (RFC 6797 §6.1.1): a UA ignores a Strict-Transport-Security header with an invalid
 *   directive, so an exponent would silently turn HTTPS pinning off. Helmet writes it as is; we
 *   refuse any `maxAge` above Number.MAX_SAFE_INTEGER (InvalidOptionsError naming the field).
 * - CORS: `Access-Control-Max-Age` is delta-seconds and `Number.isInteger(1e21)` is true: the
 *   same bound applies to `cors({ maxAge })`.
 */
import { InvalidOptionsError } from '@aikit/core'
import { afterAll, describe, expect, it } from 'vitest'
import { cors } from '../src/cors.js'
import { resolveSecurityHeaders } from '../src/headers.js'
import { nodeStack, type Stack } from './headers-stacks.js'

const stacks: Stack[] = []
afterAll(() => Promise.all(stacks.map((s) => s.close())))

const HUGE = [Number.MAX_SAFE_INTEGER + 2, 1e19, 1e21, Number.MAX_VALUE]

function refusal(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

describe('HSTS maxAge', () => {
  it.each(HUGE)('refuses %d naming strictTransportSecurity.maxAge', (maxAge) => {
    const error = refusal(() => resolveSecurityHeaders({ strictTransportSecurity: { maxAge } }))
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect(error).toMatchObject({ field: 'strictTransportSecurity.maxAge' })
  })

  it('writes Number.MAX_SAFE_INTEGER as digits', () => {
    const { headers } = resolveSecurityHeaders({
      strictTransportSecurity: { maxAge: Number.MAX_SAFE_INTEGER },
    })
    const value = headers.find(([n]) => n.toLowerCase() === 'strict-transport-security')?.[1]
    expect(value).toBe(`max-age=${Number.MAX_SAFE_INTEGER}; includeSubDomains`)
  })
})

describe('cors maxAge', () => {
  it.each(HUGE)('refuses %d naming maxAge', (maxAge) => {
    const error = refusal(() => cors({ origin: 'https://a.test', maxAge }))
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect(error).toMatchObject({ field: 'maxAge' })
  })

  it('answers a preflight with Number.MAX_SAFE_INTEGER as digits', async () => {
    const stack = await nodeStack([
      cors({ origin: 'https://a.test', maxAge: Number.MAX_SAFE_INTEGER }),
    ])
    stacks.push(stack)
    const res = await stack.send('/x', {
      method: 'OPTIONS',
      headers: { origin: 'https://a.test', 'access-control-request-method': 'POST' },
    })
    expect(res.headers.get('access-control-max-age')).toBe(String(Number.MAX_SAFE_INTEGER))
  })
})
