import type { AikitState, Context, Middleware } from '@aikit/core'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { TestContext } from './test-context.js'

// How a package adds its per-request values: declaration merging on the open interface.
declare module '@aikit/core' {
  interface AikitState {
    requestId?: string
  }
}

describe('AikitState', () => {
  it('is typed by declaration merging, with no casts at the use site', async () => {
    const setId: Middleware = async function setId(ctx, next) {
      ctx.state.requestId = 'req-1'
      await next()
    }
    const ctx = new TestContext()
    await ctx.run(setId)
    expect(ctx.state.requestId).toBe('req-1')
    expectTypeOf<AikitState['requestId']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<AikitState['subject']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<Context['state']>().toEqualTypeOf<AikitState>()
  })
})
