// The default cache key must not change between versions: answers already stored under it
// (Redis) would all become misses. These values were produced by the original implementation.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  defaultCacheKey,
  keyFromJson,
  keyFromJsonSync,
  stableStringify,
} from '../src/shared/cache-key.js'

describe('default cache key', () => {
  it('serialises with sorted keys exactly as before (holes, undefined, functions, symbols, unicode)', () => {
    // biome-ignore lint/suspicious/noSparseArray: a hole must serialise as it always did
    const sparse = [1, , 3]
    const input = {
      z: 1,
      a: [{ y: 'é"\n', x: null, u: undefined, f() {} }, sparse, [], {}],
      m: { b: true, a: -0.5, c: 1e21 },
      ünï: 'x',
      s: Symbol('q'),
    }
    expect(stableStringify(input)).toBe(
      '{"a":[{"x":null,"y":"é\\"\\n"},[1,,3],[],{}],"m":{"a":-0.5,"b":true,"c":1e+21},"s":null,"z":1,"ünï":"x"}'
    )
    expect(stableStringify(undefined)).toBe('null')
    expect(stableStringify([undefined, () => 1])).toBe('[null,null]')
  })

  it('property order does not change the key; the scope is URI-encoded into it', async () => {
    const a = {
      model: 'claude-haiku-4-5',
      max_tokens: 64,
      temperature: 0,
      messages: [{ role: 'user', content: 'hi' }],
    }
    const b = {
      messages: [{ content: 'hi', role: 'user' }],
      temperature: 0,
      max_tokens: 64,
      model: 'claude-haiku-4-5',
    }
    const expected =
      'llm:anthropic:tenant%20a%2Fb:64b16ca9ffdd2356c1265fa51d4df47efa89c3e1afe798f0147ab212a49b790e'
    expect(await defaultCacheKey(a, { scope: 'tenant a/b', api: 'anthropic' })).toBe(expected)
    expect(await defaultCacheKey(b, { scope: 'tenant a/b', api: 'anthropic' })).toBe(expected)
    expect(await keyFromJson(stableStringify(b), 'tenant a/b', 'anthropic')).toBe(expected)
  })

  it('a repeated request gets the digest it would get hashed again, before and after the remembered digests are emptied', () => {
    const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex')
    const texts = [
      '{"a":1}',
      'é\u0000ü',
      'x'.repeat(16_383), // the longest text remembered
      'y'.repeat(16_384), // hashed every time
    ]
    // Enough distinct texts to empty the remembered digests several times (by count and by
    // size); they share long prefixes and differ at the end, as requests of one conversation do.
    const filler = Array.from({ length: 5000 }, (_, i) => `${'z'.repeat(i % 300)}:${i}`)
    for (let round = 0; round < 3; round++) {
      const batch = [...texts, ...filler.slice(round * 1000, round * 1000 + 2500)]
      const keys = batch.map((text) => keyFromJsonSync(text, 's', 'anthropic'))
      // Asked again after the others: the remembered digests must be each text's own.
      batch.forEach((text, i) => {
        expect(keys[i]).toBe(`llm:anthropic:s:${sha(text)}`)
        expect(keyFromJsonSync(text, 's', 'anthropic')).toBe(keys[i])
      })
    }
    // A text whose digest was remembered under another scope or API keeps its own prefix.
    expect(keyFromJsonSync('{"a":1}', 't', 'openai.chat')).toBe(
      `llm:openai.chat:t:${sha('{"a":1}')}`
    )
  })
})
