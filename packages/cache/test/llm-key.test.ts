import { createHash } from 'node:crypto'
import {
  CacheScopeRequiredError,
  LLM_TRANSPORT_FIELDS,
  llmCacheKey,
  stableStringify,
} from '@aikit/cache'
import { sha256Hex } from '@aikit/core/adapter'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

const base = {
  model: 'claude-sonnet-4-5',
  system: 'You are terse.',
  messages: [{ role: 'user', content: 'Hi' }],
  max_tokens: 256,
  temperature: 0,
}

/** Every output-changing field, with two different values each. */
const OUTPUT_FIELDS: Record<string, [unknown, unknown]> = {
  model: ['gpt-4o', 'gpt-4o-mini'],
  system: ['a', 'b'],
  messages: [[{ role: 'user', content: 'x' }], [{ role: 'user', content: 'y' }]],
  tools: [[{ name: 't1' }], [{ name: 't2' }]],
  tool_choice: ['auto', 'none'],
  temperature: [0, 0.5],
  top_p: [0.9, 1],
  top_k: [10, 20],
  max_tokens: [100, 200],
  stop: [['\n'], ['END']],
  stop_sequences: [['\n'], ['END']],
  response_format: [{ type: 'json_object' }, { type: 'text' }],
  seed: [1, 2],
  thinking: [{ type: 'enabled', budget_tokens: 1024 }, { type: 'disabled' }],
  reasoning_effort: ['low', 'high'],
  logit_bias: [{ '50256': -100 }, {}],
  frequency_penalty: [0, 1],
  presence_penalty: [0, 1],
  n: [1, 2],
  // A Responses answer says whether it was stored: only a stored one can be continued.
  store: [true, false],
}

const json = fc.jsonValue()

describe('llmCacheKey', () => {
  it('is a versioned sha256 key', () => {
    expect(llmCacheKey(base, { scope: 'tenant-1' })).toMatch(/^llm:v2:[0-9a-f]{64}$/)
  })

  it('throws without a scope; an explicit global scope is allowed', () => {
    expect(() => llmCacheKey(base, { scope: undefined })).toThrow(CacheScopeRequiredError)
    expect(() => llmCacheKey(base, { scope: '' })).toThrow(CacheScopeRequiredError)
    expect(() => llmCacheKey(base, {} as never)).toThrow(CacheScopeRequiredError)
    expect(llmCacheKey(base, { scope: 'global' })).not.toBe(
      llmCacheKey(base, { scope: 'tenant-1' })
    )
  })

  it('refuses a misspelt option instead of keying without it', () => {
    // `provder` would have keyed every provider alike, `exlude` kept the field in the key.
    expect(() => llmCacheKey(base, { scope: 'a', provder: 'openai' } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'provder' })
    )
    expect(() => llmCacheKey(base, { scope: 'a', exlude: ['user'] } as never)).toThrow(
      /did you mean `exclude`/
    )
  })

  it('two tenants never share a key; two providers never share a key', () => {
    expect(llmCacheKey(base, { scope: 'a' })).not.toBe(llmCacheKey(base, { scope: 'b' }))
    expect(llmCacheKey(base, { scope: 'a', provider: 'anthropic' })).not.toBe(
      llmCacheKey(base, { scope: 'a', provider: 'openai' })
    )
  })

  it('ignores transport fields', () => {
    const key = llmCacheKey(base, { scope: 's' })
    for (const field of LLM_TRANSPORT_FIELDS) {
      expect(llmCacheKey({ ...base, [field]: { any: 'value' } }, { scope: 's' })).toBe(key)
    }
    expect(
      llmCacheKey(
        { ...base, stream: true, stream_options: { include_usage: true }, user: 'u1' },
        { scope: 's' }
      )
    ).toBe(key)
  })

  it('property: key order at any depth does not change the key', () => {
    const shuffle = (value: unknown, seed: number): unknown => {
      if (Array.isArray(value)) return value.map((v, i) => shuffle(v, seed + i))
      if (value === null || typeof value !== 'object') return value
      const entries = Object.entries(value as Record<string, unknown>)
      entries.sort(() => (seed++ % 3) - 1)
      return Object.fromEntries(entries.reverse().map(([k, v]) => [k, shuffle(v, seed)]))
    }
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), json), fc.nat(), (params, seed) => {
        const shuffled = shuffle(params, seed) as Record<string, unknown>
        expect(llmCacheKey(shuffled, { scope: 's' })).toBe(llmCacheKey(params, { scope: 's' }))
      }),
      { numRuns: 300 }
    )
  })

  it('property: changing any output-changing field changes the key', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(OUTPUT_FIELDS)), fc.boolean(), (field, flip) => {
        const [a, b] = OUTPUT_FIELDS[field] as [unknown, unknown]
        const one = { ...base, [field]: flip ? a : b }
        const two = { ...base, [field]: flip ? b : a }
        expect(llmCacheKey(one, { scope: 's' })).not.toBe(llmCacheKey(two, { scope: 's' }))
        // Adding the field at all also changes the key (unless it equals what is already there).
        if (!(field in base))
          expect(llmCacheKey(one, { scope: 's' })).not.toBe(llmCacheKey(base, { scope: 's' }))
      }),
      { numRuns: 200 }
    )
  })

  it('property: any change of a message text changes the key', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (x, y) => {
        fc.pre(x !== y)
        const k1 = llmCacheKey(
          { ...base, messages: [{ role: 'user', content: x }] },
          { scope: 's' }
        )
        const k2 = llmCacheKey(
          { ...base, messages: [{ role: 'user', content: y }] },
          { scope: 's' }
        )
        expect(k1).not.toBe(k2)
      }),
      { numRuns: 300 }
    )
  })

  it('stableStringify equals JSON.stringify up to key order', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(JSON.parse(stableStringify(value))).toEqual(JSON.parse(JSON.stringify(value)))
      }),
      { numRuns: 300 }
    )
  })

  it('sha256Hex matches node:crypto', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'))
      }),
      { numRuns: 300 }
    )
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })
})
