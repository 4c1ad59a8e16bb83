/**
 * The token budget counts the characters the rules scan, the NFKC form: some characters multiply
 * under NFKC (U+FDFA becomes 18), and a body within the budget as sent was scanned as 1.7 million
 * characters.
 */
import { describe, expect, it } from 'vitest'
import { promptGuard } from '../src/prompt-guard.js'

describe('NFKC expansion and the token budget', () => {
  it('counts a text by its NFKC length: 95 000 × U+FDFA is over the default budget', async () => {
    const guard = promptGuard()
    const text = '\uFDFA'.repeat(95_000)
    expect(text.normalize('NFKC').length).toBe(95_000 * 18)
    const r = await guard.checkInput(text)
    expect(r.estimatedTokens).toBeGreaterThan(32_000)
    expect(r.blockedBy).toEqual(['input.max-tokens'])
  })

  it('counts the messages of a list the same way', async () => {
    const guard = promptGuard({ maxInputTokens: 1000 })
    const r = await guard.checkInput([{ role: 'user', content: '\uFDFA'.repeat(200) }])
    expect(r.blockedBy).toEqual(['input.max-tokens'])
  })

  it('counts ASCII and text NFKC leaves as long by its length, as before', async () => {
    const guard = promptGuard({ maxInputTokens: 1000 })
    expect((await guard.checkInput('a'.repeat(2900))).allowed).toBe(true)
    expect((await guard.checkInput('é'.repeat(2900))).allowed).toBe(true)
    expect((await guard.checkInput('a'.repeat(3100))).blockedBy).toEqual(['input.max-tokens'])
  })
})
