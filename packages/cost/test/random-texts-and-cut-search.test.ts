/**
 * The Claude estimate (deliberately high) stays at or above the o200k and cl100k counts on texts
 * of random-looking ids in short runs that the per-run test misses (base32 in groups of 4,
 * meeting codes, short mixed-case codes, lower-case ids): a text whose letters hold under a
 * quarter vowels is counted as random. And a streamed OpenAI Responses call cut during a web
 * search is charged that search (it started: OpenAI bills it), counted once per output index.
 */
import { approximateTokens, createStreamUsage } from '@aikit/cost'
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base'
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base'
import { describe, expect, it } from 'vitest'

/** Deterministic pseudo-random picks (no flaky samples). */
function picker(seed: number): (alphabet: string, n: number) => string {
  let s = seed >>> 0
  return (alphabet, n) => {
    let out = ''
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0
      out += alphabet[(s >>> 8) % alphabet.length]
    }
    return out
  }
}
const pick = picker(42)
const L = 'abcdefghijklmnopqrstuvwxyz'
const U = L.toUpperCase()
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const rep = (n: number, f: () => string, sep: string): string =>
  Array.from({ length: n }, f).join(sep)

const samples = [
  // TOTP secrets as authenticator apps show them: base32 in groups of 4.
  ['base32 secrets in groups of 4', rep(200, () => rep(4, () => pick(B32, 4), ' '), '\n')],
  // Random lower-case ids of 8-15 letters (no digits, one case).
  ['12-letter lower-case random ids', rep(300, () => pick(L, 12), ' ')],
  // Short random codes (Meet-style abc-defg-hij).
  ['meeting codes', rep(200, () => `${pick(L, 3)}-${pick(L, 4)}-${pick(L, 3)}`, '\n')],
  // Random mixed-case 7-letter codes.
  ['7-letter mixed-case codes', rep(300, () => pick(L + U, 7), ' ')],
] as const

describe('the Claude estimate stays high on random-looking text (tokens.ts approximateTokens)', () => {
  for (const [name, text] of samples) {
    it(`${name}: at least the o200k and cl100k counts`, () => {
      const est = approximateTokens(text)
      expect(est).toBeGreaterThanOrEqual(o200k(text))
      expect(est).toBeGreaterThanOrEqual(cl100k(text))
    })
  }
})

describe('OpenAI Responses stream cut during a web search (stream-usage.ts)', () => {
  it('a web search that ran (its completed event seen) is charged though output_item.done never came', () => {
    const s = createStreamUsage('openai-responses', { inputTokens: 100 })
    const response = {
      id: 'resp_1',
      object: 'response',
      model: 'gpt-5',
      status: 'in_progress',
      output: [],
    }
    s.push({ type: 'response.created', sequence_number: 0, response })
    s.push({
      type: 'response.output_item.added',
      sequence_number: 1,
      output_index: 0,
      item: { type: 'web_search_call', id: 'ws_1', status: 'in_progress' },
    })
    s.push({
      type: 'response.web_search_call.in_progress',
      sequence_number: 2,
      output_index: 0,
      item_id: 'ws_1',
    })
    s.push({
      type: 'response.web_search_call.searching',
      sequence_number: 3,
      output_index: 0,
      item_id: 'ws_1',
    })
    s.push({
      type: 'response.web_search_call.completed',
      sequence_number: 4,
      output_index: 0,
      item_id: 'ws_1',
    })
    // The client goes away here.
    const r = s.result()
    expect(r.complete).toBe(false)
    expect(r.usage?.webSearchRequests).toBe(1)
  })
})
