/**
 * Fuzzing (fast-check) of `llmCacheKey`, the key under which an LLM answer is shared: a wrong hit
 * serves one request's (or one tenant's) answer to another, so the key must be canonical (key order
 * never matters), exclude exactly the transport fields, keep scopes and providers apart, change
 * whenever a semantic field changes, and fail with a typed error (never a crash) on what it cannot
 * encode.
 *
 * Every property is bounded (numRuns); fast-check prints the seed and the shrunk counterexample on
 * failure. Properties that exhibit a known bug are `it.fails`, with the bug and the counterexample.
 */
import { InvalidOptionsError } from '@aikit/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CacheScopeRequiredError } from '../src/errors.js'
import { LLM_TRANSPORT_FIELDS, llmCacheKey } from '../src/llm/key.js'

const KEY = /^llm:v2:[0-9a-f]{64}$/

/**
 * An independent canonical form: objects become tagged sorted entry lists, arrays tagged lists
 * (so an object never equals an array), -0 writes as 0 (as in JSON).
 */
function canonical(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return ['a', v.map(sort)]
    if (v === null || typeof v !== 'object') return v
    const entries = Object.keys(v)
      .sort()
      .map((k) => [k, sort((v as Record<string, unknown>)[k])])
    return ['o', entries]
  }
  return JSON.stringify(sort(value))
}

const TRANSPORT = new Set(LLM_TRANSPORT_FIELDS)

/** The semantic part of a request: everything but the transport fields and `exclude`. */
function semantic(params: Record<string, unknown>, exclude: readonly string[] = []): string {
  const kept: [string, unknown][] = Object.keys(params)
    .filter((k) => !TRANSPORT.has(k) && !exclude.includes(k))
    .map((k) => [k, params[k]])
  return canonical(Object.fromEntries(kept))
}

const fieldName = fc.oneof(
  fc.constantFrom(
    'model',
    'messages',
    'system',
    'tools',
    'temperature',
    'max_tokens',
    'seed',
    'stop',
    'response_format',
    ...LLM_TRANSPORT_FIELDS
  ),
  fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__')
)
const jsonValue = fc.jsonValue({ maxDepth: 3 })
const params = fc.dictionary(fieldName, jsonValue, { maxKeys: 8, noNullPrototype: true })

/** Rebuilds a value with every object's keys in another (random) order, at every depth. */
function reorder(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => reorder(v, seed + i))
  if (value === null || typeof value !== 'object') return value
  const entries = Object.entries(value)
  for (let i = entries.length - 1; i > 0; i--) {
    const j = (seed * 31 + i * 17) % (i + 1)
    ;[entries[i], entries[j]] = [entries[j]!, entries[i]!]
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, reorder(v, seed + 1)]))
}

/** One edit of a request: a reorder, a transport field, a semantic change, a new field... */
const edit = fc.oneof(
  fc.record({ kind: fc.constant('reorder' as const), seed: fc.nat() }),
  fc.record({
    kind: fc.constant('transport' as const),
    field: fc.constantFrom(...LLM_TRANSPORT_FIELDS),
    value: jsonValue,
  }),
  fc.record({ kind: fc.constant('set' as const), field: fieldName, value: jsonValue }),
  fc.record({ kind: fc.constant('delete' as const), index: fc.nat() }),
  fc.record({
    kind: fc.constant('leaf' as const),
    index: fc.nat(),
    value: fc.jsonValue({ maxDepth: 0 }),
  })
)
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never

function apply(p: Record<string, unknown>, e: Edit): Record<string, unknown> {
  const keys = Object.keys(p)
  switch (e.kind) {
    case 'reorder':
      return reorder(p, e.seed) as Record<string, unknown>
    case 'transport':
    case 'set':
      return { ...p, [e.field]: e.value }
    case 'delete': {
      if (keys.length === 0) return p
      const copy = { ...p }
      delete copy[keys[e.index % keys.length]!]
      return copy
    }
    case 'leaf': {
      if (keys.length === 0) return p
      const k = keys[e.index % keys.length]!
      return { ...p, [k]: [p[k], e.value] }
    }
  }
}

describe('llmCacheKey, fuzzed', () => {
  it('two requests share a key exactly when their semantic fields are equal (any key order)', () => {
    const seen = { same: 0, different: 0 }
    fc.assert(
      fc.property(params, fc.array(edit, { minLength: 1, maxLength: 4 }), (p1, edits) => {
        const p2 = edits.reduce(apply, p1)
        const k1 = llmCacheKey(p1, { scope: 't' })
        const k2 = llmCacheKey(p2, { scope: 't' })
        expect(k1).toMatch(KEY)
        const equal = semantic(p1) === semantic(p2)
        seen[equal ? 'same' : 'different']++
        expect(k1 === k2).toBe(equal)
      }),
      { numRuns: 1000 }
    )
    expect(seen.same).toBeGreaterThan(50)
    expect(seen.different).toBeGreaterThan(50)
  })

  it('transport fields never reach the key, whatever they hold (functions, cycles, signals)', () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    const anyValue = fc.oneof(
      fc.anything({ withBigInt: true, withMap: true, withSet: true, withTypedArray: true }),
      fc.constantFrom<unknown>(cyclic, () => 1, new AbortController().signal, Symbol('s'), 10n)
    )
    fc.assert(
      fc.property(
        params,
        fc.subarray([...LLM_TRANSPORT_FIELDS], { minLength: 1 }),
        anyValue,
        (p, fields, value) => {
          const withTransport = { ...p, ...Object.fromEntries(fields.map((f) => [f, value])) }
          expect(llmCacheKey(withTransport, { scope: 's' })).toBe(
            llmCacheKey(Object.fromEntries(Object.entries(p).filter(([k]) => !TRANSPORT.has(k))), {
              scope: 's',
            })
          )
        }
      ),
      { numRuns: 500 }
    )
  })

  it('different scopes or providers never share a key (no separator confusion, no Unicode folding)', () => {
    const tricky = fc.oneof(
      fc.string({ minLength: 1, maxLength: 8 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
      fc.constantFrom(
        'global',
        'GLOBAL',
        'a',
        'a\u0000',
        'a:',
        ':a',
        '"',
        '\\',
        '\ud800',
        '\udc00',
        '\ufffd',
        'é',
        'e\u0301'
      )
    )
    fc.assert(
      fc.property(
        params,
        tricky,
        tricky,
        fc.string({ maxLength: 4 }),
        fc.string({ maxLength: 4 }),
        (p, s1, s2, pr1, pr2) => {
          fc.pre(s1 !== s2 || pr1 !== pr2)
          const k1 = llmCacheKey(p, { scope: s1, provider: pr1 })
          const k2 = llmCacheKey(p, { scope: s2, provider: pr2 })
          expect(k1).not.toBe(k2)
          // A `scope` or `provider` field inside the request is a request field, not the scope.
          if (s1 === s2) return
          expect(llmCacheKey({ ...p, scope: s2 }, { scope: s1 })).not.toBe(
            llmCacheKey({ ...p, scope: s1 }, { scope: s2 })
          )
        }
      ),
      { numRuns: 400 }
    )
  })

  it('`exclude` drops exactly the named fields', () => {
    fc.assert(
      fc.property(params, fc.array(fieldName, { maxLength: 3 }), jsonValue, (p, exclude, value) => {
        const base = llmCacheKey(p, { scope: 's', exclude })
        for (const field of exclude) {
          expect(llmCacheKey({ ...p, [field]: value }, { scope: 's', exclude })).toBe(base)
        }
        const equal = semantic(p, exclude) === semantic({}, exclude)
        expect(base === llmCacheKey({}, { scope: 's', exclude })).toBe(equal)
      }),
      { numRuns: 500 }
    )
  })

  it('random options: a key, CacheScopeRequiredError or InvalidOptionsError, nothing else', () => {
    const option = fc.oneof(
      fc.anything(),
      fc.record(
        {
          scope: fc.oneof(fc.string({ maxLength: 4 }), fc.anything()),
          provider: fc.oneof(fc.string({ maxLength: 4 }), fc.anything()),
          exclude: fc.oneof(fc.array(fc.string({ maxLength: 4 })), fc.anything()),
        },
        { requiredKeys: [] }
      )
    )
    fc.assert(
      fc.property(fc.oneof(params, fc.anything()), option, (p, options) => {
        try {
          expect(llmCacheKey(p as never, options as never)).toMatch(KEY)
        } catch (error) {
          if (error instanceof CacheScopeRequiredError) {
            expect(error.status).toBe(400)
            return
          }
          expect(error).toBeInstanceOf(InvalidOptionsError)
        }
      }),
      { numRuns: 1000 }
    )
  })

  it('a cycle inside a semantic field is a TypeError (as documented), not a stack overflow', () => {
    fc.assert(
      fc.property(
        params,
        fieldName.filter((f) => !TRANSPORT.has(f)),
        fc.nat(3),
        (p, field, depth) => {
          const root: Record<string, unknown> = {}
          let node = root
          for (let i = 0; i < depth; i++) {
            const child: Record<string, unknown> = {}
            node[`k${i}`] = i % 2 === 0 ? child : [child]
            node = child
          }
          node.back = root // the cycle
          expect(() => llmCacheKey({ ...p, [field]: root }, { scope: 's' })).toThrow(/circular/)
          // A shared (not cyclic) reference is fine and keys like its copy.
          const shared = { x: [1, 2] }
          expect(llmCacheKey({ ...p, [field]: [shared, shared] }, { scope: 's' })).toBe(
            llmCacheKey({ ...p, [field]: [{ x: [1, 2] }, { x: [1, 2] }] }, { scope: 's' })
          )
        }
      ),
      { numRuns: 300 }
    )
  })

  /**
   * Was a bug (cache/src/llm/key.ts, llmCacheKey), fixed: the kept fields are copied with `kept[field] =
   * params[field]` into a plain object, so an own `__proto__` field (what `JSON.parse` makes of
   * `{"__proto__": …}`) sets the copy's prototype instead of becoming a field: it is left out of
   * the key, and two requests that differ only there share one cached answer.
   * Counterexample: llmCacheKey(JSON.parse('{"model":"m","__proto__":{"a":1}}'), { scope: 's' })
   * === llmCacheKey(JSON.parse('{"model":"m","__proto__":{"a":2}}'), { scope: 's' }).
   * (core's JSON body reader refuses `__proto__` by default, which limits the reach.)
   */
  it('an own `__proto__` field is part of the key like any other field', () => {
    fc.assert(
      fc.property(jsonValue, jsonValue, (a, b) => {
        fc.pre(canonical(a) !== canonical(b))
        const one = JSON.parse(`{"model":"m","__proto__":${JSON.stringify(a)}}`)
        const two = JSON.parse(`{"model":"m","__proto__":${JSON.stringify(b)}}`)
        expect(llmCacheKey(one, { scope: 's' })).not.toBe(llmCacheKey(two, { scope: 's' }))
      }),
      { numRuns: 100 }
    )
  })

  /**
   * Was a bug (cache/src/llm/stable-stringify.ts, write), fixed: the canonical JSON writer recurses once per
   * nesting level, so deeply nested params (a few thousand levels, e.g. a user-supplied JSON
   * schema in `tools` or `response_format`) throw `RangeError: Maximum call stack size exceeded`
   * instead of a key or a typed error; `JSON.stringify` shares the limit, but `llmCacheKey` is
   * documented to throw only `CacheScopeRequiredError`/`InvalidOptionsError`/`TypeError`.
   * Counterexample: llmCacheKey({ model: 'm', tools: [[[…100 000 levels…]]] }, { scope: 's' }).
   */
  it('deeply nested params give a key or a typed error, never a RangeError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 50_000, max: 150_000 }), (depth) => {
        let value: unknown = 1
        for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value }
        try {
          expect(llmCacheKey({ model: 'm', tools: value }, { scope: 's' })).toMatch(KEY)
        } catch (error) {
          expect(error).not.toBeInstanceOf(RangeError)
        }
      }),
      { numRuns: 5 }
    )
  })
})
