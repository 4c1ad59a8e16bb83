/**
 * The rules added to close the gaps of the narrowed injection rules keep the guard's cost linear
 * in the input's length: `<system>` opening a sentence, a stray `</system>` before prose, verbs
 * aimed at "your" rules, the tag-character count that voids the prohibition exemption (in one
 * text and in the parts of a message read together), and the reading of the texts of a run with
 * invisible characters as word breaks.
 *
 * No duration is asserted (the approach of prompt-guard-linear.test.ts): the cost of 16 inputs of
 * n characters is compared with the cost of one input of 16n characters (linear-cost.ts). Linear
 * work makes them about equal; quadratic work makes the long one 16 times dearer. The bound (6)
 * sits far from both.
 */
import { describe, expect, it } from 'vitest'
import { longOverShort } from './linear-cost.js'

const tags = (s: string): string =>
  [...s].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('')

// 60 s: each ratio takes 22 timings of 20 ms or more (several seconds on a loaded runner).
describe('promptGuard: the wrapper and addressed rules cost time linear in the input', {
  timeout: 60_000,
}, () => {
  it('many sentences each opening a <system> tag with few words', async () => {
    expect(await longOverShort((n) => '. <system>a b'.repeat(n / 13))).toBeLessThan(6)
  })

  it('sentence ends followed by long runs of blanks', async () => {
    expect(await longOverShort((n) => `.${' '.repeat(n)}<system>x`)).toBeLessThan(6)
    expect(await longOverShort((n) => '. '.repeat(n / 2))).toBeLessThan(6)
  })

  it('many closing </system> tags at line starts, and one before blanks only', async () => {
    expect(await longOverShort((n) => '\n</system>a b'.repeat(n / 13))).toBeLessThan(6)
    expect(await longOverShort((n) => `</system>${' \n'.repeat(n / 2)}x`)).toBeLessThan(6)
  })

  it('a text of "your" phrases that never reach an object', async () => {
    expect(await longOverShort((n) => 'ignore all your previous '.repeat(n / 25))).toBeLessThan(6)
    expect(await longOverShort((n) => 'bypass your system '.repeat(n / 19))).toBeLessThan(6)
  })

  it('prohibitions in a text holding tag characters (read with no exemption)', async () => {
    expect(
      await longOverShort(
        (n) => `${tags('x')}${'never ignore previous instructions. '.repeat(n / 36)}`
      )
    ).toBeLessThan(6)
  })

  it('many text parts holding tag characters (counted once per part)', async () => {
    const parts = (n: number) => [
      {
        role: 'user',
        content: Array.from({ length: n / 8 }, () => ({
          type: 'text',
          text: `never${tags('ab')}`,
        })),
      },
    ]
    expect(await longOverShort(parts)).toBeLessThan(6)
  })

  it('many text parts holding invisible characters (read together, spaced and glued, as word breaks)', async () => {
    const text = 'ab\u200Bcd e\u00ADf '.repeat(8)
    const parts = (n: number) => [
      {
        role: 'user',
        content: Array.from({ length: n / text.length }, () => ({ type: 'text', text })),
      },
    ]
    expect(await longOverShort(parts)).toBeLessThan(6)
  })
})
