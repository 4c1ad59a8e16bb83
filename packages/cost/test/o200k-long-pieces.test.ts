/**
 * OpenAI token counts (gpt-tokenizer's `o200k_base`) cost time linear in the text. The tokenizer
 * byte-pair merges each piece of its split (a word, a run of punctuation or blanks) in time
 * quadratic in the piece's length, and a run with no break is one piece: 40 000 letters with no
 * space took 1.4 s, a 1 MB message would block the event loop for a quarter of an hour. A piece over 256 characters is now counted in
 * slices; every other text is counted exactly as the tokenizer counts it.
 *
 * No duration is asserted: the 256 KB texts must be counted within the test runner's timeout (a
 * minute or more each before), and the counts are compared with the tokenizer's own.
 */
import { estimateTextTokens, estimateTokens } from '@aikit/cost'
import fc from 'fast-check'
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants'
import { describe, expect, it } from 'vitest'
import { MAX_PIECE, O200K_SPLIT } from '../src/o200k-count.js'

const EXACT = { disallowedSpecial: new Set<string>() }
const count = (text: string) => estimateTextTokens(text, 'gpt-4o')

/** `n` characters drawn from `alphabet` (a fixed sequence, so the test is the same every run). */
function drawn(n: number, alphabet: string, seed = 1): string {
  let x = seed
  let s = ''
  for (let i = 0; i < n; i++) {
    x = (x * 1_103_515_245 + 12_345) & 0x7fffffff
    s += alphabet[x % alphabet.length]
  }
  return s
}

/** 256 KB: a minute or more each for the quadratic merge, well under a second now. */
const SIZE = 262_144

describe('o200k token counts of text holding a long run with no break', () => {
  it('splits text as the tokenizer does (its split pattern, copied)', () => {
    expect(O200K_SPLIT.source).toBe(O200K_TOKEN_SPLIT_REGEX.source)
    expect(O200K_SPLIT.flags).toBe(O200K_TOKEN_SPLIT_REGEX.flags)
  })

  it.each([
    ['lower-case letters', 'abcdefghijklmnopqrstuvwxyz'],
    ['punctuation', '!#$%&*+-.:;<=>?@^_|~'],
    ['combining marks', '\u0300\u0301\u0302\u0303'],
    ['blanks', ' \t'],
  ])('counts 256 KB of %s with no break', (_kind, alphabet) => {
    const text = `x${drawn(SIZE, alphabet)}`
    const tokens = estimateTokens([{ role: 'user', content: text }], 'gpt-4o')
    expect(tokens).toBeGreaterThan(0)
    expect(tokens).toBeLessThanOrEqual(2 * text.length)
  })

  it('counts a long piece within a token or so per slice of the tokenizer', () => {
    for (const alphabet of ['abcdefghijklmnopqrstuvwxyz', '!#$%&*+-.:;<=>?', ' \t']) {
      const text = `Here: ${drawn(3000, alphabet)} and more words after it.`
      const exact = countTokens(text, EXACT)
      expect(Math.abs(count(text) - exact)).toBeLessThanOrEqual(Math.ceil(3000 / MAX_PIECE) + 1)
    }
  })

  it('counts every text without a long piece exactly as the tokenizer', () => {
    const atoms = [
      'a',
      'Word',
      'é',
      '\u0301',
      ' ',
      '   ',
      '\n',
      '\r\n',
      '\t',
      '7',
      '12345',
      '!',
      '/',
      '.',
      "'s",
      "'LL",
      '漢字',
      '😀',
      '\u00a0',
      '\u3000',
      '<|endoftext|>',
      '-',
    ]
    const text = fc
      .array(fc.tuple(fc.constantFrom(...atoms), fc.integer({ min: 1, max: 40 })), {
        maxLength: 200,
      })
      .map((parts) => parts.map(([atom, times]) => atom.repeat(times)).join(''))
    fc.assert(
      fc.property(text, (t) => {
        const long = [...t.matchAll(O200K_SPLIT)].some((m) => m[0].length > MAX_PIECE)
        if (!long) expect(count(t)).toBe(countTokens(t, EXACT))
      }),
      { numRuns: 500 }
    )
  })

  it('counts ordinary prose, code and CJK text exactly as the tokenizer', () => {
    const prose = 'The quarterly budget review found most of the spend in streamed completions. '
    const code = 'function add(a, b) {\n    return a + b // the sum\n}\n\n'
    const cjk = '東京の予算は月末にリセットされます。中文文本没有空格，但有标点。'
    for (const text of [prose.repeat(400), code.repeat(400), cjk.repeat(400)]) {
      expect(count(text)).toBe(countTokens(text, EXACT))
    }
  })
})
