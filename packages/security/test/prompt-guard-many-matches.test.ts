/**
 * A text holding very many secrets or PII spans. Each span found was compared with every span found
 * before it (`found.some(…)`), and each PII span censored copied the whole text: k spans cost k²
 * steps. A prompt within the default 32 000-token budget holds 16 000 `key=x` parameters (0.6 s);
 * an LLM output has no budget: 512 KB of them blocked the event loop for 20 s, 1 MB for minutes.
 *
 * No duration is asserted: the 1-2 MB outputs must be checked within the test runner's timeout
 * (they are now linear, well under a second), and the overlap index answers as the full scan did.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { promptGuard } from '../src/prompt-guard.js'
import { SpanIndex } from '../src/span-index.js'

const MB = 1_048_576
const fill = (unit: string) => unit.repeat(Math.floor(MB / unit.length))

describe('promptGuard: a text holding very many matches', () => {
  it('checks a 1 MB output of credential parameters', async () => {
    const text = fill(' key=a')
    const result = await promptGuard().checkOutput(text)
    expect(result.findings).toEqual([
      { ruleId: 'secret', action: 'redact', source: 'text', count: text.length / 6 },
    ])
    expect(result.text).toBe(' key=[redacted]'.repeat(text.length / 6))
  })

  // 2 MB: fewer phone numbers fit in 1 MB, which the quadratic scan got through in 18 s.
  it('checks a 2 MB output of phone numbers', async () => {
    const result = await promptGuard().checkOutput(fill('555-555-5555 ').repeat(2))
    expect(result.findings).toEqual([
      { ruleId: 'pii.phone', action: 'monitor', source: 'text', count: 2 * Math.floor(MB / 13) },
    ])
  })

  it('censors every email of a 1 MB output (pii.email: redact)', async () => {
    const guard = promptGuard({ rules: { 'pii.email': 'redact' } })
    const result = await guard.checkOutput(fill('a@b.cc '))
    expect(result.text).toBe('[redacted] '.repeat(Math.floor(MB / 7)))
  })

  it('still censors overlapping PII spans once', async () => {
    // A card number that is also an email's local part: two spans, one censored.
    const guard = promptGuard({ rules: { 'pii.card': 'redact', 'pii.email': 'redact' } })
    const result = await guard.checkOutput('mail 4111111111111111@example.com or a@b.cc now')
    expect(result.findings.map((f) => [f.ruleId, f.count])).toEqual([
      ['pii.email', 2],
      ['pii.card', 1],
    ])
    expect(result.text).toBe('mail [redacted] or [redacted] now')
  })
})

describe('SpanIndex', () => {
  const span = fc.record({ index: fc.nat(60), length: fc.nat(8) })

  it('answers as a scan over every span', () => {
    fc.assert(
      fc.property(fc.array(span, { maxLength: 30 }), span, (spans, probe) => {
        const scan = spans.some(
          (f) => probe.index < f.index + f.length && f.index < probe.index + probe.length
        )
        expect(new SpanIndex(spans).overlaps(probe.index, probe.length)).toBe(scan)
      }),
      { numRuns: 2000 }
    )
  })
})
