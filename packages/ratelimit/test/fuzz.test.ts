/**
 * Fuzzing (fast-check) of the rate limiter: random option objects only ever give a limiter or an
 * `InvalidOptionsError` naming the field (a misspelt key anywhere is named under its path), and
 * random sequences of check / reserve / settle / release / penalize (on a memory store with an
 * injected clock) never report a negative or over-limit `remaining` nor allow more than the limit.
 *
 * Every property is bounded (numRuns); fast-check prints the seed and the shrunk counterexample on
 * failure. Properties that exhibit a known bug are `it.fails`, with the bug and the counterexample.
 */
import { InvalidOptionsError, memoryStore } from '@aikit/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Algorithm } from '../src/algorithms.js'
import type { CheckResult } from '../src/check-op.js'
import { createRateLimiter, type RateLimiter, type Reservation } from '../src/limiter.js'

const ALGORITHMS: Algorithm[] = ['gcra', 'fixed-window', 'sliding-window', 'token-bucket']

const OPTION_KEYS = ['store', 'limits', 'prefix', 'onStoreError', 'blockCache'] as const
const BLOCK_CACHE_KEYS = ['maxKeys', 'maxAgeMs'] as const
const LIMIT_KEYS = ['algorithm', 'limit', 'window'] as const

/** The keys each option object takes, by the path its fields are named with. */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': OPTION_KEYS,
  'blockCache.': BLOCK_CACHE_KEYS,
  'limits[i].': LIMIT_KEYS,
}

/** Whether `error` is the refusal of an unknown key (the check made before any value's). */
const isUnknownKey = (error: InvalidOptionsError): boolean =>
  error.message.includes('is not a known option')

/** Constructs, returning the limiter or the InvalidOptionsError; anything else fails the test. */
function construct(options: unknown): RateLimiter | InvalidOptionsError {
  try {
    return createRateLimiter(options as never)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    const { field } = error as InvalidOptionsError
    if (isUnknownKey(error as InvalidOptionsError)) {
      // An unknown key (random objects have any): named with the path of the object holding it.
      const [, path = '', key = ''] = /^(blockCache\.|limits\[\d+\]\.)?(.*)$/s.exec(field) ?? []
      const known = KNOWN_KEYS[path.replace(/\[\d+\]/, '[i]')]
      expect(known).toBeDefined()
      expect(known).not.toContain(key)
    } else {
      expect(field).toMatch(
        /^(options|store|prefix|onStoreError|blockCache(\.(maxKeys|maxAgeMs))?|limits(\[\d+\](\.(algorithm|limit|window))?)?)$/
      )
    }
    return error as InvalidOptionsError
  }
}

/**
 * Whether an error message can print the value (`String` and `JSON.stringify` work). Values that
 * cannot (`{ toString: 0 }`, BigInt, null-prototype objects) hit the bug pinned by the `it.fails`
 * below, so the passing properties leave them to it.
 */
function printable(value: unknown): boolean {
  try {
    String(value)
    JSON.stringify(value)
    return true
  } catch {
    return false
  }
}
const anyValue = (maxDepth: number) => fc.anything({ maxDepth }).filter(printable)

/** An option value: mostly valid, sometimes a plausible mistake, sometimes anything at all. */
const field = (valid: fc.Arbitrary<unknown>, invalid: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 12, arbitrary: valid }, invalid, anyValue(1))

const sharedStore = memoryStore({ maxKeys: 100 })

/**
 * An object of random values under known `keys` (now and then a random key): random objects with
 * random keys would nearly all stop at the unknown-key check, before any value is looked at.
 */
const objectOf = (keys: readonly string[]) =>
  fc.dictionary(
    fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...keys) }, fc.string({ maxLength: 8 })),
    anyValue(1),
    { maxKeys: keys.length }
  )

const limitOptions = fc.record(
  {
    algorithm: field(fc.constantFrom(...ALGORITHMS), fc.constantFrom('GCRA', 'leaky-bucket', '')),
    limit: field(
      fc.integer({ min: 1, max: 1000 }),
      fc.constantFrom(0, -1, 0.5, 2 ** 53, Number.NaN, '10')
    ),
    window: field(
      fc.oneof(
        fc.integer({ min: 1, max: 86_400_000 }),
        fc.constantFrom('1s', '10s', '1m', '1h', '1d', '500ms')
      ),
      fc.constantFrom(0, -1, 1.5, '0s', '1 s', '1.5s', 's', '1w', '', '01s')
    ),
  },
  { requiredKeys: ['limit', 'window'] }
)
const limiterOptions = fc.record(
  {
    limits: field(
      fc.uniqueArray(limitOptions, {
        minLength: 1,
        maxLength: 3,
        selector: (l) => JSON.stringify([l.algorithm ?? 'gcra', l.limit, l.window]),
      }),
      fc.oneof(fc.constantFrom([], [null], {}), fc.array(objectOf(LIMIT_KEYS), { maxLength: 2 }))
    ),
    prefix: field(fc.constantFrom('rl', 'api'), fc.constantFrom('', 'a{b}', 'x}')),
    onStoreError: field(fc.constantFrom('memory', 'open', 'closed'), fc.constantFrom('MEMORY', '')),
    blockCache: field(
      fc.oneof(
        fc.constant(false),
        fc.record(
          { maxKeys: fc.integer({ min: 1, max: 10 }), maxAgeMs: fc.integer({ min: 1, max: 5000 }) },
          { requiredKeys: [] }
        )
      ),
      fc.oneof(
        fc.constantFrom(
          true,
          null,
          { maxKeys: 0 },
          { maxKeys: 1.5 },
          { maxAgeMs: 0 },
          { maxAgeMs: '1s' }
        ),
        objectOf(BLOCK_CACHE_KEYS)
      )
    ),
    // A shared store: the default `memoryStore()` would be allocated on every construction.
    store: field(fc.constant(sharedStore), fc.constantFrom<unknown>({}, { run: 1 }, null)),
  },
  { requiredKeys: ['limits', 'store'] }
)

describe('rate limiter options, fuzzed', () => {
  it('random options: a limiter or an InvalidOptionsError naming the field, nothing else', () => {
    const seen = { built: 0, refused: 0, unknownKey: 0 }
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 9, arbitrary: limiterOptions },
          fc
            .oneof(fc.anything({ maxDepth: 2 }), objectOf(OPTION_KEYS))
            .map((a) => (typeof a === 'object' && a !== null ? { store: sharedStore, ...a } : a))
        ),
        (options) => {
          const result = construct(options)
          seen[result instanceof InvalidOptionsError ? 'refused' : 'built']++
          if (result instanceof InvalidOptionsError && isUnknownKey(result)) seen.unknownKey++
        }
      ),
      { numRuns: 1000 }
    )
    expect(seen.built).toBeGreaterThan(100)
    expect(seen.refused).toBeGreaterThan(100)
    // The values are what is fuzzed: few cases may end at the unknown-key check before them.
    expect(seen.unknownKey).toBeGreaterThan(0)
    expect(seen.unknownKey).toBeLessThan(100)
  })

  it('a misspelt key added anywhere to valid options is refused under its path', () => {
    const valid = fc.record({
      limits: fc.uniqueArray(
        fc.record({
          algorithm: fc.constantFrom(...ALGORITHMS),
          limit: fc.integer({ min: 1, max: 1000 }),
          window: fc.constantFrom('1s', '1m', 1000),
        }),
        { minLength: 1, maxLength: 3, selector: (l) => `${l.algorithm}:${l.limit}:${l.window}` }
      ),
      blockCache: fc.record({ maxKeys: fc.integer({ min: 1, max: 10 }) }),
    })
    const misspelt = fc
      .string({ minLength: 1, maxLength: 10 })
      .filter(
        (k) => k !== '__proto__' && !Object.values(KNOWN_KEYS).some((known) => known.includes(k))
      )
    fc.assert(
      fc.property(valid, misspelt, fc.nat(), fc.anything({ maxDepth: 0 }), (o, key, at, value) => {
        const where = at % (o.limits.length + 2)
        const limits = o.limits.map((l, i) => (i === where - 2 ? { ...l, [key]: value } : l))
        const blockCache = where === 1 ? { ...o.blockCache, [key]: value } : o.blockCache
        const options = {
          store: sharedStore,
          limits,
          blockCache,
          ...(where === 0 ? { [key]: value } : {}),
        }
        const path = where === 0 ? '' : where === 1 ? 'blockCache.' : `limits[${where - 2}].`
        const result = construct(options)
        expect(result).toBeInstanceOf(InvalidOptionsError)
        expect((result as InvalidOptionsError).field).toBe(`${path}${key}`)
      }),
      { numRuns: 300 }
    )
  })

  it('random check / reserve / settle arguments: InvalidOptionsError (rejected), never a crash', async () => {
    const limiter = createRateLimiter({ limits: [{ limit: 5, window: '1m' }], store: sharedStore })
    const arg = anyValue(1)
    await fc.assert(
      fc.asyncProperty(arg, arg, async (key, amount) => {
        const calls: (() => Promise<unknown>)[] = [
          () => limiter.check(key as never, { cost: amount as never }),
          () => limiter.check('k', amount as never),
          () => limiter.reserve(key as never, amount as never),
          () => limiter.penalize('k', amount as never),
          () => limiter.block('k', amount as never),
          async () => (await limiter.reserve('k', 1)).settle(amount as never),
        ]
        for (const call of calls) {
          try {
            await call()
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidOptionsError)
          }
        }
        await limiter.reset('k')
      }),
      { numRuns: 300 }
    )
  })

  /**
   * Was a bug (ratelimit/src/limiter.ts), fixed: the messages of several InvalidOptionsErrors format the bad
   * value with `JSON.stringify(value)` or `String(value)`, which throw for a BigInt
   * (`JSON.stringify(1n)`), a cyclic object, or an object without a usable `toString` (e.g.
   * `Object.create(null)`): the caller gets a raw TypeError instead of the InvalidOptionsError
   * naming the field. Counterexamples:
   * - createRateLimiter({ limits: [{ limit: 1, window: 1000 }], onStoreError: 1n }) →
   *   TypeError: Do not know how to serialize a BigInt (resolveLimits' `algorithm: 1n` likewise);
   * - createRateLimiter({ limits: [{ limit: Object.create(null), window: 1000 }] }) →
   *   TypeError: Cannot convert object to primitive value (`blockCache.maxKeys` likewise);
   * - limiter.check('', { cost: { toString: 0 } }) (found by fc.anything) and
   *   limiter.check('k', { cost: Object.create(null) }) throw that TypeError synchronously
   *   (check is documented to reject with InvalidOptionsError); reserve/settle/penalize/block
   *   reject with it.
   */
  it('options with BigInt or null-prototype values: still an InvalidOptionsError', async () => {
    const odd = fc.constantFrom<unknown>(1n, Object.create(null), { toString: 0 })
    await fc.assert(
      fc.asyncProperty(
        odd,
        fc.constantFrom('onStoreError', 'algorithm', 'limit', 'maxKeys', 'maxAgeMs', 'cost'),
        async (bad, where) => {
          const limit: Record<string, unknown> = { limit: 10, window: 1000 }
          const options: Record<string, unknown> = { limits: [limit] }
          if (where === 'onStoreError') options.onStoreError = bad
          if (where === 'algorithm' || where === 'limit') limit[where] = bad
          if (where === 'maxKeys') options.blockCache = { maxKeys: bad }
          if (where === 'maxAgeMs') options.blockCache = { maxAgeMs: bad }
          if (where !== 'cost') {
            construct(options)
            return
          }
          const limiter = createRateLimiter({ limits: [{ limit: 10, window: 1000 }] })
          await expect(
            (async () => limiter.check('k', { cost: bad as never }))()
          ).rejects.toBeInstanceOf(InvalidOptionsError)
        }
      ),
      { numRuns: 50 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Random operation sequences
// ---------------------------------------------------------------------------------------------

const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('check' as const), cost: fc.nat(12) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reserve' as const), units: fc.nat(12) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      index: fc.nat(),
      actual: fc.nat(30),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), index: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('penalize' as const),
      units: fc.integer({ min: 1, max: 30 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(5_000) }) }
)
const limitsArb = fc.uniqueArray(
  fc.record({
    algorithm: fc.constantFrom(...ALGORITHMS),
    limit: fc.integer({ min: 1, max: 20 }),
    window: fc.integer({ min: 1_000, max: 60_000 }),
  }),
  { minLength: 1, maxLength: 2, selector: (l) => `${l.algorithm}:${l.limit}:${l.window}` }
)

/** Every reported figure is within [0, limit]; an allowed result waits 0 and fits the cost. */
function checkResult(
  result: CheckResult,
  limits: readonly { limit: number }[],
  cost: number
): void {
  expect(result.limits.length).toBe(limits.length)
  for (const [i, r] of result.limits.entries()) {
    expect(r.limit).toBe(limits[i]!.limit)
    expect(r.remaining).toBeGreaterThanOrEqual(0)
    expect(r.remaining).toBeLessThanOrEqual(r.limit)
    expect(Number.isInteger(r.remaining)).toBe(true)
    expect(r.retryAfterMs).toBeGreaterThanOrEqual(-1)
  }
  expect(result.remaining).toBe(Math.min(...result.limits.map((r) => r.remaining)))
  expect(result.remaining).toBeGreaterThanOrEqual(0)
  if (result.allowed) {
    expect(result.retryAfterMs).toBe(0)
    for (const l of limits) expect(cost).toBeLessThanOrEqual(l.limit)
  } else {
    expect(result.retryAfterMs === -1 || result.retryAfterMs > 0).toBe(true)
    if (result.retryAfterMs === -1) expect(limits.some((l) => cost > l.limit)).toBe(true)
  }
}

describe('rate limiter operation sequences, fuzzed', () => {
  it('random sequences: remaining always within [0, limit]; frozen clock: never more than the limit', async () => {
    const seen = { frozenAllowed: 0, frozenDenied: 0, filled: 0 }
    await fc.assert(
      fc.asyncProperty(
        limitsArb,
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        async (limits, ops, frozen) => {
          let now = 1_700_000_000_000
          const limiter = createRateLimiter({
            store: memoryStore({ now: () => now, maxKeys: 100 }),
            limits,
          })
          const tightest = Math.min(...limits.map((l) => l.limit))
          // Units the store holds for the key, as the ops charged them (debt capped at 2 × limit).
          let held = 0
          const charge = (units: number): void => {
            held = Math.max(0, Math.min(2 * tightest, held + units))
          }
          const reservations: Reservation[] = []
          for (const o of ops) {
            switch (o.kind) {
              case 'tick':
                if (!frozen) now += o.ms
                break
              case 'check': {
                const before = held
                const r = await limiter.check('k', { cost: o.cost })
                checkResult(r, limits, o.cost)
                if (frozen) seen[r.allowed ? 'frozenAllowed' : 'frozenDenied']++
                if (r.allowed) {
                  if (frozen && o.cost > 0) expect(before + o.cost).toBeLessThanOrEqual(tightest)
                  if (frozen && before + o.cost === tightest) seen.filled++
                  charge(o.cost)
                }
                break
              }
              case 'reserve': {
                const before = held
                const res = await limiter.reserve('k', o.units)
                checkResult(res.result, limits, o.units)
                if (res.allowed) {
                  if (frozen && o.units > 0) expect(before + o.units).toBeLessThanOrEqual(tightest)
                  charge(o.units)
                  reservations.push(res)
                }
                break
              }
              case 'settle':
              case 'release': {
                if (reservations.length === 0) break
                const res = reservations.splice(o.index % reservations.length, 1)[0]!
                const actual = o.kind === 'settle' ? o.actual : 0
                if (o.kind === 'settle') await res.settle(actual)
                else await res.release()
                charge(actual - res.units)
                break
              }
              case 'penalize':
                await limiter.penalize('k', o.units)
                charge(o.units)
                break
            }
            if (!frozen) held = 0 // time moves: the model only holds with a frozen clock
          }
        }
      ),
      { numRuns: 400 }
    )
    // The model was exercised: allowed and denied checks, and the limit reached exactly.
    expect(seen.frozenAllowed).toBeGreaterThan(50)
    expect(seen.frozenDenied).toBeGreaterThan(50)
    expect(seen.filled).toBeGreaterThan(5)
  })
})
