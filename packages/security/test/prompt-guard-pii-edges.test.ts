/**
 * PII rules at the edges a hunt found: a card, phone or IBAN ending a sentence or followed by
 * other words (expiry, currency), overlapping spans censored whole, a phone whose digits pass
 * Luhn, numbers that pass Luhn but belong to no payment network (timestamps, ISBNs).
 */
import { describe, expect, it } from 'vitest'
import { promptGuard } from '../src/prompt-guard.js'
import { findPii, type PiiRuleId } from '../src/prompt-pii.js'

const ALL = new Set<PiiRuleId>(['pii.email', 'pii.phone', 'pii.card', 'pii.iban'])
const ids = (text: string): string[] =>
  findPii(text, ALL)
    .map((m) => m.id)
    .sort()
const redactAll = () =>
  promptGuard({
    rules: {
      'pii.email': 'redact',
      'pii.card': 'redact',
      'pii.iban': 'redact',
      'pii.phone': 'redact',
    },
  })

describe('PII found where sentences and cards end', () => {
  it('finds a card number that ends a sentence (followed by a period)', async () => {
    const r = await redactAll().checkOutput('My card is 4111 1111 1111 1111.')
    expect(r.text).toBe('My card is [redacted].')
  })

  it('finds a phone number that ends a sentence (followed by a period)', async () => {
    const r = await redactAll().checkOutput('Call me at 555-123-4567. Or +44 20 7946 0958.')
    expect(r.text).toBe('Call me at [redacted]. Or [redacted].')
  })

  it('finds a card number followed by its expiry date', async () => {
    const r = await redactAll().checkOutput('card 4111 1111 1111 1111 12/26 cvv 123')
    expect(r.text).toBe('card [redacted] 12/26 cvv 123')
  })

  it('finds a 24-char (ES) IBAN followed by a currency code', async () => {
    const r = await redactAll().checkOutput('Pay to ES91 2100 0418 4502 0005 1332 EUR 50')
    expect(r.text).toBe('Pay to [redacted] EUR 50')
  })

  it('finds a US phone number written with spaces', () => {
    expect(ids('call 555 123 4567 today')).toEqual(['pii.phone'])
  })
})

describe('PII redaction leaves no part visible', () => {
  it('redacts an E.164 phone number under pii.phone: redact even when its digits pass Luhn', async () => {
    // +4915112345678: the 13 digits after '+' are Luhn-valid, so the card finder claims the span
    // (rule pii.card, action monitor) and the phone finder skips it as overlapping.
    const r = await promptGuard({ rules: { 'pii.phone': 'redact' } }).checkOutput(
      'call +4915112345678 now'
    )
    expect(r.text).toBe('call [redacted] now')
  })

  it('censors a whole IBAN whose inner digits also pass Luhn (overlapping card span)', async () => {
    // DE35 3704 0044 0532 0130 02 is mod-97 valid; "35 3704 0044 0532 0130" is Luhn valid.
    const r = await redactAll().checkOutput('IBAN DE35 3704 0044 0532 0130 02 please')
    expect(r.text).toBe('IBAN [redacted] please')
  })
})

describe('PII false positives', () => {
  it('does not take a millisecond timestamp for a card', () => {
    expect(ids('created_at: 1700000000004')).toEqual([])
  })

  it('does not take an ISBN-13 for a card', () => {
    expect(ids('ISBN 978-3-16-148419-3')).toEqual([])
  })

  it('ordinary numbers pass (dates, versions, UUIDs, prices, order numbers)', () => {
    for (const t of [
      'Released 2024-01-15 at 10:30:00Z, version 1.22.333.4444',
      'id 123e4567-e89b-12d3-a456-426614174000',
      'Total: $1,234,567.89 or 12345678.90 EUR',
      'Order #12345678 shipped',
      'ts 2024-01-15T10:30:00.123+01:00',
    ]) {
      expect(ids(t), t).toEqual([])
    }
  })

  it('emails with + and subdomains are found whole', () => {
    const t = 'mail ann.lee+tag@mail.eu.example.co.uk now'
    const m = findPii(t, ALL)
    expect(m.map((x) => t.slice(x.index, x.index + x.length))).toEqual([
      'ann.lee+tag@mail.eu.example.co.uk',
    ])
  })
})

describe('PII in other spellings', () => {
  it('an IBAN in lower case is found; lower-case words after a short code are not', () => {
    expect(ids('send to de89 3704 0044 0532 0130 00 today')).toEqual(['pii.iban'])
    // Passes mod 97 as an IBAN would (AB12HAVETHEMHOME): words, not an account number.
    expect(ids('ab12 have them home today')).toEqual([])
  })

  it('an address with a Unicode local part or domain (EAI, IDN) is censored whole', async () => {
    for (const address of [
      'müller@bücher.de',
      'иван@пример.рф',
      'ann@例え.jp',
      'zoë.smith@example.com',
    ]) {
      const r = await redactAll().checkOutput(`write to ${address} please`)
      expect(r.text, address).toBe('write to [redacted] please')
    }
    // Not an address: no dot in the domain, a one-letter ending.
    expect(ids('meet müller@bücher today, or ann@b.c')).toEqual([])
  })

  it('an overlong local part is censored whole, not cut at 64 characters', async () => {
    const local = 'x'.repeat(100)
    const r = await redactAll().checkOutput(`write to ${local}@mail.example.com please`)
    expect(r.text).toBe('write to [redacted] please')
  })
})
