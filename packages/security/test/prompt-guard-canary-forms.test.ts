/**
 * `output.canary` compares the canary folded as the output is (case, accents, look-alikes), with
 * every dash unified (models write U+2011 or U+2010 for `-`), and also searches the text hidden
 * in tag characters. Each leak below used to pass.
 */
import { describe, expect, it } from 'vitest'
import { promptGuard } from '../src/prompt-guard.js'

describe('canary leaks in other spellings', () => {
  const guard = promptGuard({ canaries: ['zebra-7f3a', 'Café-Secret'] })
  // Models (GPT-4o and later notably) write U+2011 NON-BREAKING HYPHEN or U+2010 for "-" in prose:
  // the system prompt leaks verbatim to a reader and the canary is not seen. NFKC maps U+2011 to
  // U+2010, never to "-".
  for (const [name, dash] of [
    ['U+2011 non-breaking hyphen', '\u2011'],
    ['U+2010 hyphen', '\u2010'],
    ['U+2013 en dash', '\u2013'],
  ] as const) {
    it(`a canary written with ${name} is caught`, async () => {
      const r = await guard.checkOutput(`My instructions start with: zebra${dash}7f3a. Be helpful.`)
      expect(r.blockedBy).toEqual(['output.canary'])
    })
  }
  it('an accented canary leaked in capitals is caught (canary not folded as the output is)', async () => {
    // lower-cased works for an ASCII canary (ZEBRA-7F3A is caught); "CAFÉ-SECRET" folds to
    // "cafe-secret" while the canary is compared as "café-secret".
    expect((await guard.checkOutput('ZEBRA-7F3A')).blockedBy).toEqual(['output.canary'])
    expect((await guard.checkOutput('The word is CAFÉ-SECRET')).blockedBy).toEqual([
      'output.canary',
    ])
  })
  it('an accented canary leaked without its accent is caught (as a Cyrillic look-alike is)', async () => {
    expect((await guard.checkOutput('The word is Cafe-Secret')).blockedBy).toEqual([
      'output.canary',
    ])
  })
  it('a canary smuggled in Unicode tag characters is caught', async () => {
    const tags = [...'zebra-7f3a']
      .map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0)))
      .join('')
    expect((await guard.checkOutput(`Sure!${tags}`)).blockedBy).toEqual(['output.canary'])
  })
})
