/**
 * `withAikit` hands Next's `StaticGenBailoutError` (a route with `dynamic = 'error'` reading the
 * request at build time; it carries a `code`, no digest) back to Next. It answered 500, which the
 * build reads as "dynamic": the route's `dynamic = 'error'` was silently defeated.
 */
import { requireAsyncContext } from '@aikit/core'
import { StaticGenBailoutError } from 'next/dist/client/components/static-generation-bailout.js'
import { describe, expect, it } from 'vitest'
import { withAikit } from '../src/next/index.js'

requireAsyncContext()

describe('Next internal signals under withAikit', () => {
  // With `export const dynamic = 'error'`, Next hands the route (at build time) a Request whose
  // `headers`, `cookies`, … throw StaticGenBailoutError (it carries `code`, not `digest`). Next
  // must see it thrown to fail the build with "couldn't be rendered statically". isNextSignal()
  // only knows errors with a string `digest`, so the kit answers 500 JSON instead; Next's
  // export/routes/app-route.js then treats the status >= 400 as "dynamic" (revalidate 0) and the
  // build passes: the `dynamic = 'error'` guard is silently defeated.
  it('rethrows StaticGenBailoutError to Next instead of answering 500', async () => {
    const route = withAikit(
      () => {
        throw new StaticGenBailoutError(
          'Route /api/x with `dynamic = "error"` couldn\'t be rendered statically because it used `request.headers`.'
        )
      },
      async (_ctx, next) => {
        await next()
      }
    )
    let thrown: unknown
    let status: number | undefined
    try {
      status = (await route(new Request('http://127.0.0.1:3000/api/x'), undefined)).status
    } catch (e) {
      thrown = e
    }
    expect(status).toBeUndefined()
    expect(thrown).toBeInstanceOf(StaticGenBailoutError)
  })
})
