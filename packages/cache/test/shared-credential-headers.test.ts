/**
 * `cacheResponse({ shared: true })` stores answers to requests with no subject for everyone, but
 * never an answer to a request that authenticates its sender. Only `Authorization` and `Cookie`
 * counted: a request authenticated by an API key header (`x-api-key`, what LLM gateways and
 * internal APIs use) with no subject set had its answer stored under the public scope, and the
 * next caller, without the key, got it.
 */
import { withAikit } from '@aikit/adapters/next'
import { cacheResponse, createCache } from '@aikit/cache'
import { describe, expect, it } from 'vitest'

function route() {
  let calls = 0
  const handler = withAikit(
    async (req: Request) =>
      Response.json({ call: ++calls, key: req.headers.get('x-api-key') ?? null }),
    cacheResponse({ cache: createCache(), shared: true })
  )
  const get = async (headers: Record<string, string> = {}) => {
    const res = await handler(
      new Request('http://app.test/report', { headers: { host: 'app.test', ...headers } }),
      {}
    )
    return { xCache: res.headers.get('x-cache'), body: (await res.json()) as unknown }
  }
  return { get, calls: () => calls }
}

describe('cacheResponse({ shared: true }) and credential headers', () => {
  it.each(['x-api-key', 'api-key', 'x-auth-token', 'x-access-token', 'proxy-authorization'])(
    'a request carrying %s is never stored for everyone',
    async (name) => {
      const r = route()
      expect((await r.get({ [name]: 'secret-1' })).xCache).toBe('BYPASS')
      const anonymous = await r.get()
      expect(anonymous.xCache).toBe('MISS')
      expect(anonymous.body).toEqual({ call: 2, key: null })
    }
  )

  it('a request without one is still shared', async () => {
    const r = route()
    expect((await r.get()).xCache).toBe('MISS')
    expect((await r.get()).xCache).toBe('HIT')
    expect(r.calls()).toBe(1)
  })
})
