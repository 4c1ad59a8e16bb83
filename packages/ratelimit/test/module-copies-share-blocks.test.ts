/**
 * Two copies of the package in one process (another version in node_modules, a bundled copy)
 * sharing the application's one memoryStore see each other's blocks: a check on an in-process store
 * skips the block key until a block was set on that store, and the mark saying so lives on the
 * store (under a registered symbol), not in a module of one copy. README: `block` denies "every
 * check of the key".
 */
import { memoryStore } from '@aikit/core'
import { createRateLimiter } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'

// A second instance of the limiter module (its own module-level state), as another copy of the
// package would have; the query makes it a module of its own.
const SECOND_COPY = '../src/limiter.ts?second-copy'
const { createRateLimiter: createRateLimiterCopy } = (await import(
  /* @vite-ignore */ SECOND_COPY
)) as typeof import('../src/limiter.js')

const limits = [{ limit: 10, window: '1h' as const }]

describe('two copies of the package on one memory store', () => {
  it('the copy is a module of its own', () => {
    expect(createRateLimiterCopy).not.toBe(createRateLimiter)
  })

  it('a block set through one copy denies the checks and reservations of the other', async () => {
    const store = memoryStore()
    const a = createRateLimiter({ store, limits })
    const b = createRateLimiterCopy({ store, limits })
    expect((await b.check('u')).allowed).toBe(true)
    // The copies share the store's state (same keys): a's consumption shows in b's remaining.
    await a.penalize('u', 4)
    expect((await b.check('u', { cost: 0 })).remaining).toBe(5)
    await a.block('u', 60_000)
    expect((await a.check('u')).allowed).toBe(false)
    expect(await b.check('u')).toMatchObject({ allowed: false, blocked: true, remaining: 0 })
    const held = await b.reserve('u', 1)
    expect(held.allowed).toBe(false)
    expect(held.result.blocked).toBe(true)
  })

  it('and the other way round', async () => {
    const store = memoryStore()
    const a = createRateLimiter({ store, limits })
    const b = createRateLimiterCopy({ store, limits })
    expect((await a.check('v')).allowed).toBe(true)
    await b.block('v', 60_000)
    expect(await a.check('v')).toMatchObject({ allowed: false, blocked: true })
    await b.unblock('v')
    expect((await a.check('v')).allowed).toBe(true)
  })

  it('the mark is not enumerable: the store looks the same to everything else', async () => {
    const store = memoryStore()
    const keys = Object.keys(store)
    await createRateLimiter({ store, limits }).block('w', 60_000)
    expect(Object.keys(store)).toEqual(keys)
    const mark = Symbol.for('@aikit/ratelimit.has-blocks')
    expect((store as unknown as Record<symbol, unknown>)[mark]).toBe(true)
    expect(Object.prototype.propertyIsEnumerable.call(store, mark)).toBe(false)
  })

  it('a frozen in-process store, which cannot take the mark, still has its blocks read', async () => {
    const store = Object.freeze(memoryStore())
    const a = createRateLimiter({ store, limits })
    const b = createRateLimiterCopy({ store, limits })
    expect((await b.check('x')).allowed).toBe(true)
    await a.block('x', 60_000)
    expect(await a.check('x')).toMatchObject({ allowed: false, blocked: true })
    expect(await b.check('x')).toMatchObject({ allowed: false, blocked: true })
  })
})
