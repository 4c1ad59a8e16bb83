/**
 * @module prompt-pii
 * Personal data in LLM input and output: emails, phone numbers, payment cards (Luhn-checked) and
 * IBANs (mod-97-checked). Candidates come from bounded regexes; the checksums remove most false
 * positives (order numbers, timestamps, hashes).
 */

import { SpanIndex } from './span-index.js'

/** Ids of the PII rules. */
export type PiiRuleId = 'pii.email' | 'pii.phone' | 'pii.card' | 'pii.iban'

/** A PII span: where it is, never what it is. */
export interface PiiMatch {
  id: PiiRuleId
  index: number
  length: number
}

// From the local part's start (an overlong one, which mail servers refuse, is still censored
// whole rather than cut where 64 characters fit). Letters and digits of any script: addresses
// with a Unicode local part or domain (EAI, IDN: `müller@bücher.de`, `иван@пример.рф`) are
// addresses too; `\b` would only know ASCII word characters, hence the look-around.
const EMAIL =
  /(?<![\p{L}\p{N}\p{M}._%+-])[\p{L}\p{N}\p{M}._%+-]{1,256}@[\p{L}\p{N}\p{M}-]{1,63}(?:\.[\p{L}\p{N}\p{M}-]{1,63}){0,8}\.\p{L}[\p{L}\p{M}]{1,23}(?![\p{L}\p{N}\p{M}_])/gu
// A period ends a sentence as often as it starts a decimal part: only a digit beside it makes the
// number part of a longer one. A `+` before it makes it a phone number.
const CARD = /(?<!\d|\d\.|\+)(?:\d[ -]?){12,18}\d(?!\d|\.\d)/g
const IBAN = /\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?\b/g
const PHONE =
  /(?<![\w+]|\d\.)(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}|\(\d{2,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}|\d{3}[ .-]\d{3}[ .-]\d{4}|0\d(?:[ .]\d{2}){4})(?!\w|\.\d)/g
// Payment networks' first digits (Mir, Mastercard 2-series; Amex, Diners, JCB; Visa; Mastercard,
// Maestro; Discover, UnionPay): a Luhn-valid number starting otherwise is an id, a timestamp
// (1…) or an ISBN (97…), not a card.
const CARD_FIRST_DIGIT = /^[2-6]/

/** Luhn checksum (cards). */
export function luhnValid(digits: string): boolean {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return sum % 10 === 0
}

/** ISO 13616 mod-97 check (IBANs). */
export function ibanValid(iban: string): boolean {
  const s = iban.replace(/ /g, '')
  if (s.length < 15 || s.length > 34) return false
  const rearranged = s.slice(4) + s.slice(0, 4)
  let rem = 0
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0)
    const value = code >= 65 ? String(code - 55) : ch
    for (const digit of value) rem = (rem * 10 + (digit.charCodeAt(0) - 48)) % 97
  }
  return rem === 1
}

const digitsOf = (s: string): string => s.replace(/\D/g, '')

/**
 * The length of the card number `candidate` starts with, or 0. The regex takes the longest run of
 * grouped digits, which may go on into what follows the card (its expiry `12/26`, a CVV): when
 * the whole run is no card, the runs ending at each earlier separator are tried, longest first.
 */
function cardLength(candidate: string): number {
  if (!CARD_FIRST_DIGIT.test(candidate)) return 0
  for (let end = candidate.length; end > 0; end = lastSeparator(candidate, end)) {
    const d = digitsOf(candidate.slice(0, end))
    if (d.length < 13) return 0
    if (d.length <= 19 && luhnValid(d)) return end
  }
  return 0
}

/** Where the group before `end` starts its separator (` ` or `-`), or 0 when there is none. */
function lastSeparator(s: string, end: number): number {
  for (let i = end - 1; i > 0; i--) if (s[i] === ' ' || s[i] === '-') return i
  return 0
}

/**
 * The length of the IBAN `candidate` starts with, or 0: as for cards, the regex's optional last
 * group may be a word after the IBAN (`EUR`, `BIC`), so shorter candidates ending at a space are
 * tried when the whole one fails its check.
 */
function ibanLength(candidate: string): number {
  // In lower case, words of four letters after a token like `ab12` would pass mod 97 once in 97:
  // such a candidate needs the digits a real account number has.
  if (/[a-z]/.test(candidate) && digitsOf(candidate).length < 10) return 0
  for (let end = candidate.length; end > 0; end = candidate.lastIndexOf(' ', end - 1)) {
    // Written in lower case too (`de89 3704 …`): the check is on the upper-case form.
    if (ibanValid(candidate.slice(0, end).toUpperCase())) return end
  }
  return 0
}

/** Finds PII spans in `text` for the rules in `enabled`. */
export function findPii(text: string, enabled: ReadonlySet<PiiRuleId>): PiiMatch[] {
  const found: PiiMatch[] = []
  const add = (id: PiiRuleId, m: RegExpMatchArray) =>
    found.push({ id, index: m.index ?? 0, length: m[0].length })
  if (enabled.has('pii.email') && text.includes('@')) {
    for (const m of text.matchAll(EMAIL)) add('pii.email', m)
  }
  const hasDigits = /\d{2}/.test(text)
  if (enabled.has('pii.card') && hasDigits) {
    for (const m of text.matchAll(CARD)) {
      const length = cardLength(m[0])
      if (length > 0) found.push({ id: 'pii.card', index: m.index ?? 0, length })
    }
  }
  if (enabled.has('pii.iban') && hasDigits) {
    for (const m of text.matchAll(IBAN)) {
      const length = ibanLength(m[0])
      if (length > 0) found.push({ id: 'pii.iban', index: m.index ?? 0, length })
    }
  }
  if (enabled.has('pii.phone') && hasDigits) {
    // Phone numbers never overlap one another (each match starts where the last one ended): each
    // is checked against the other kinds' spans only.
    const others = new SpanIndex(found)
    for (const m of text.matchAll(PHONE)) {
      const d = digitsOf(m[0])
      if (d.length >= 9 && d.length <= 15 && !others.overlaps(m.index ?? 0, m[0].length)) {
        add('pii.phone', m)
      }
    }
  }
  return found
}
