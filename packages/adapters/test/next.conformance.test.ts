/**
 * The shared conformance suite over a real Next 16 server (`next build` + `next({ dev: false })`)
 * whose catch-all route handler is wrapped with `withAikit(handler, ...probeMiddleware(), options)`
 * (test/fixtures/next-app/app/[...slug]/route.ts). The options are fixed in the built route, so
 * each profile is a separate route instance, chosen by a header this test's HTTP server sets.
 */
import { afterAll, beforeAll, expect } from 'vitest'
import { DEFAULT_OPTIONS, runConformance, TRUSTED_OPTIONS } from './conformance/cases.js'
import { buildFixture, loadNext, serve } from './fixtures/next-app/harness.js'
import { PROFILE_HEADER, PROFILES } from './fixtures/next-app/lib/profiles.js'

let next: Awaited<ReturnType<typeof loadNext>> | undefined

beforeAll(async () => {
  await buildFixture()
  next = await loadNext()
}, 300_000)

afterAll(async () => {
  await next?.close()
})

runConformance(
  'next (route handler)',
  async ({ middleware, options, profile }) => {
    if (next === undefined) throw new Error('the Next fixture did not load')
    // The built route must run what the suite asks for.
    expect(middleware).toHaveLength(2)
    expect(PROFILES[profile]).toEqual(profile === 'default' ? DEFAULT_OPTIONS : TRUSTED_OPTIONS)
    expect(options).toEqual(PROFILES[profile])
    return serve(next.handle, { [PROFILE_HEADER]: profile })
  },
  {
    exclude: [
      // `next start` hands a route no socket address: it only fills `X-Forwarded-For` with the
      // peer address when the client sent none, so a client-sent XFF cannot be told from the
      // peer. With `trustProxy: false` withAikit therefore reports `ctx.ip === undefined`
      // (covered in next.server.test.ts); `ip-trusted` runs.
      'ip-default',
    ],
  }
)
