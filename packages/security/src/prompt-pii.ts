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

const EMAIL =
  /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}\b/g
const CARD = /(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d.])/g
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g
const PHONE =
  /(?<![\w+.])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}|\(\d{2,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}|\d{3}[.-]\d{3}[.-]\d{4}|0\d(?:[ .]\d{2}){4})(?![\w.])/g

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
      const d = digitsOf(m[0])
      if (d.length >= 13 && d.length <= 19 && luhnValid(d)) add('pii.card', m)
    }
  }
  if (enabled.has('pii.iban') && hasDigits) {
    for (const m of text.matchAll(IBAN)) if (ibanValid(m[0])) add('pii.iban', m)
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
