// asyncContext 'auto' (the default): on Node (20 and 24 alike) requests run in the AsyncLocalStorage
// scope only once something declared that it reads currentContext(); edge runtimes always scope.
// This file never calls requireAsyncContext() before its first assertions (each test file runs in
// its own process).
import { currentContext, type Middleware, requireAsyncContext } from '@aikit/core'
import { asyncContextRequested } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

/** The running context read straight from the storage: currentContext() would declare the need. */
const peek = (): unknown => {
  const storage = (globalThis as Record<symbol, { getStore(): unknown } | undefined>)[
    Symbol.for('@aikit/core.context-storage')
  ]
  return storage?.getStore()
}

const seen = async (options?: { asyncContext?: boolean | 'auto' }) => {
  const ctx = new TestContext(options ? { options } : {})
  let inside: unknown = 'unset'
  const read: Middleware = async (_c, next) => {
    await Promise.resolve()
    inside = peek()
    await next()
  }
  await ctx.run(read)
  return { ctx, inside }
}

describe("asyncContext 'auto'", () => {
  it(`on Node (${process.versions.node}) a request is not scoped until something requires the context, then it is`, async () => {
    expect(asyncContextRequested()).toBe(false)
    const before = await seen()
    expect(before.inside).toBeUndefined()

    requireAsyncContext() // what wrapAnthropic(), createLogger() and initSentry() do
    expect(asyncContextRequested()).toBe(true)
    const after = await seen()
    expect(after.inside).toBe(after.ctx)
  })

  it('true always scopes and false never does, whatever was declared', async () => {
    const on = await seen({ asyncContext: true })
    expect(on.inside).toBe(on.ctx)
    requireAsyncContext()
    const off = await seen({ asyncContext: false })
    expect(off.inside).toBeUndefined()
  })

  it('reading currentContext() declares the need (later requests are scoped)', async () => {
    currentContext()
    expect(asyncContextRequested()).toBe(true)
  })
})

describe('a read before the need was declared', () => {
  const flags = [Symbol.for('@aikit/core.context-demand'), Symbol.for('@aikit/core.context-warned')]
  const undeclare = (): void => {
    for (const flag of flags) delete (globalThis as Record<symbol, unknown>)[flag]
  }
  const warningsDuring = async (fn: () => Promise<void> | void): Promise<Error[]> => {
    const warnings: Error[] = []
    const onWarning = (w: Error): void => void warnings.push(w)
    process.on('warning', onWarning)
    try {
      await fn()
      // 'warning' events are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', onWarning)
    }
    return warnings
  }

  it('warns once (AIKIT_ASYNC_CONTEXT) when it finds no scope, naming the fix', async () => {
    undeclare()
    const warnings = await warningsDuring(() => {
      expect(currentContext()).toBeUndefined()
      expect(currentContext()).toBeUndefined()
    })
    expect(warnings).toHaveLength(1)
    expect((warnings[0] as Error & { code?: string }).code).toBe('AIKIT_ASYNC_CONTEXT')
    expect(warnings[0]?.message).toMatch(/requireAsyncContext\(\)/)
    expect(asyncContextRequested()).toBe(true)
  })

  it('does not warn inside a scoped request (asyncContext: true) or once declared', async () => {
    undeclare()
    const scoped = await warningsDuring(async () => {
      const ctx = new TestContext({ options: { asyncContext: true } })
      let inside: unknown
      await ctx.run(async (_c, next) => {
        inside = currentContext()
        await next()
      })
      expect(inside).toBe(ctx)
    })
    expect(scoped).toHaveLength(0)

    undeclare()
    requireAsyncContext()
    const declared = await warningsDuring(() => {
      expect(currentContext()).toBeUndefined()
    })
    expect(declared).toHaveLength(0)
  })
})
