/**
 * @module prompt-split-parts
 * The texts of one message (its text parts, a tool result's parts) reach the model as one turn,
 * so a phrase cut between two parts (`"ignore all previous"` + `" instructions"`) is one phrase to
 * it. Each part is checked on its own first; this reads the parts together once more, for the
 * injection rules only. A cut may fall inside a word (`"previ" + "ous"`) or between words with no
 * space on either side (`"previous" + "instructions"`), so the joined text is matched in both
 * readings: glued and spaced. One fold of the joined text serves both (linear in its length).
 */
import { findInjections, type InjectionRuleId, rot13 } from './prompt-injection.js'
import { foldText, normalizeText, smuggledText, toWords, unleet } from './prompt-normalize.js'

/** Where a rule matched in the joined parts. */
export type SplitSource = 'text' | 'rot13' | 'tag-characters'

/** One rule that matched the parts read together. */
export interface SplitInjection {
  id: InjectionRuleId
  source: SplitSource
}

/** Marks where one part ends and the next begins (a private-use code point). */
const SEAM = '\uE000'
const SEAMS = /\uE000/g

/**
 * Injection rules matching the parts of one message read together (call it with 2+ parts; what
 * one part holds alone is that part's own finding). Decoded encodings are not re-read here: a
 * base64 or hex run cut in two decodes to neither half.
 */
export function findSplitInjections(parts: readonly string[]): SplitInjection[] {
  const found: SplitInjection[] = []
  const note = (ids: InjectionRuleId[], source: SplitSource): void => {
    for (const id of ids) {
      if (!found.some((f) => f.id === id && f.source === source)) found.push({ id, source })
    }
  }
  const joined = parts.join(SEAM)
  const folded = foldText(joined)
  const turned = rot13(folded)
  for (const seam of ['', ' ']) {
    const text = folded.replace(SEAMS, seam)
    const words = toWords(text)
    note(findInjections({ folded: text, words, leet: unleet(words) }), 'text')
    const r13 = toWords(turned.replace(SEAMS, seam))
    note(findInjections({ folded: '', words: r13, leet: unleet(r13) }), 'rot13')
  }
  // Tag characters carry no seam of their own: the hidden text runs on across the parts.
  const smuggled = smuggledText(joined.normalize('NFKC'))
  if (smuggled.length > 0) note(findInjections(normalizeText(smuggled)), 'tag-characters')
  return found
}
