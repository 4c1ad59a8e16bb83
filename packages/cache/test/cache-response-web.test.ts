/**
 * cacheResponse() under the Next adapter (withAikit): a request without a Host header (an
 * HTTP/1.0 client, a Request built by hand) reaches the route instead of failing on the Host
 * lookup (`hostOf` asks for `:authority`, a name the Web `Headers.get` refuses).
 */
import { withAikit } from '@aikit/adapters/next'
import { cacheResponse, createCache } from '@aikit/cache'
import { expect, it } from 'vitest'

it('withAikit + cacheResponse answers a request without a Host header from the route', async () => {
  const errors: unknown[] = []
  const route = withAikit(
    async () => new Response('route'),
    cacheResponse({ cache: createCache(), shared: true }),
    { onError: (error: unknown) => errors.push(error) }
  )
  const res = await route(new Request('http://127.0.0.1:3000/page'), {})
  expect(errors).toEqual([])
  expect(res.status).toBe(200)
  expect(await res.text()).toBe('route')
})
