/**
 * aikitProxy as an Edge-runtime `middleware.ts` (fixtures/next-app/edge): the `next` subpath must
 * bundle and run on Edge, with `currentContext()` from the runtime's AsyncLocalStorage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildFixture,
  EDGE_FIXTURE_DIR,
  type FixtureServer,
  loadNext,
  serve,
} from './fixtures/next-app/harness.js'

let next: Awaited<ReturnType<typeof loadNext>> | undefined
let server: FixtureServer | undefined

beforeAll(async () => {
  await buildFixture(EDGE_FIXTURE_DIR)
  next = await loadNext(EDGE_FIXTURE_DIR)
  server = await serve(next.handle)
}, 300_000)

afterAll(async () => {
  await server?.close()
  await next?.close()
})

const get = (p: string): Promise<Response> => {
  if (server === undefined) throw new Error('server did not start')
  return fetch(`${server.url}${p}`)
}

describe('aikitProxy in an Edge middleware.ts', () => {
  it('adds headers, runs onHeaders with 200 and forwards a request header', async () => {
    const res = await get('/edge/echo')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-edge')).toBe('yes')
    expect(res.headers.get('x-edge-status')).toBe('200')
    expect(res.headers.get('x-edge-context')).toBe('true')
    expect(await res.json()).toEqual({ nonce: 'edge-nonce' })
  })

  it('short-circuits with a 429 JSON response and its headers', async () => {
    const res = await get('/edge/limited')
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('7')
    expect(await res.json()).toEqual({
      error: { code: 'RATE_LIMITED', message: 'Too many requests' },
    })
  })
})
