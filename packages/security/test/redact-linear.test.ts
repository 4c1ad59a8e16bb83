/**
 * Secret scanning costs time linear in the text's length, whatever the text (a log line or a
 * prompt is attacker-controlled). The `jwt` and `private-key` regexes were not:
 * `redact('eyJ'.repeat(100_000))` spent about 1.5 s backtracking (each `eyJ` ran 4096 characters
 * forward and back), and `promptGuard().checkInput` scanned a 300 kB message before refusing it
 * for its size. Both are now hand-written matchers that count the characters they look at, so
 * linearity is asserted on that count, deterministically (the timings are printed by
 * bench/security/redact-adversarial.mjs).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { promptGuard } from '../src/prompt-guard.js'
import { redact } from '../src/redact.js'
import type { JwtMatcher, PrivateKeyMatcher, SecretRegex } from '../src/redact-linear.js'
import { DEFAULT_SCANNER, findSecrets, SECRET_PATTERNS } from '../src/redact-patterns.js'

const matcher = <T>(id: string): T => SECRET_PATTERNS.find((p) => p.id === id)!.regex as T
const jwt = matcher<JwtMatcher>('jwt')
const privateKey = matcher<PrivateKeyMatcher>('private-key')

/** Every match of a global regex-like, as [index, whole, kept group]. */
function allMatches(regex: SecretRegex, text: string): [number, string, string | undefined][] {
  const out: [number, string, string | undefined][] = []
  regex.lastIndex = 0
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    out.push([m.index, m[0], m[1]])
  }
  return out
}

/** Characters a matcher looked at while `fn` ran. */
function workOf(m: { work: number }, fn: () => unknown): number {
  const before = m.work
  fn()
  return m.work - before
}

/** `workOf` for an async `fn`. */
async function asyncWorkOf(m: { work: number }, fn: () => Promise<unknown>): Promise<number> {
  const before = m.work
  await fn()
  return m.work - before
}

const seg = (n: number): string => 'aB3_-'.repeat(Math.ceil(n / 5)).slice(0, n)
const JWT = `eyJ${seg(20)}.${seg(30)}.${seg(40)}`

describe('the hand-written matchers behave exactly like their reference regexes', () => {
  it('keep the regexes they replace (the semantics are pinned)', () => {
    expect(jwt.source).toBe(
      '(eyJ)[A-Za-z0-9_-]{8,4096}\\.[A-Za-z0-9_-]{8,4096}(?:\\.[A-Za-z0-9_-]{0,4096})?'
    )
    expect(privateKey.source).toBe(
      '(-----BEGIN[A-Z ]{0,40}PRIVATE KEY-----)[\\s\\S]{1,16384}?-----END[A-Z ]{0,40}PRIVATE KEY-----'
    )
  })

  it('jwt: same matches on adversarial strings (runs at the 8 and 4096 limits)', () => {
    const reference = new RegExp(jwt.source, 'g')
    const fragment = fc.oneof(
      fc.constantFrom('eyJ', 'eyJeyJ', '.', '..', ' ', '=', 'e', 'y', 'J', '-', '_', 'é'),
      fc.constantFrom(7, 8, 9, 4092, 4093, 4095, 4096, 4097, 4100).map(seg),
      fc.constantFrom(7, 8, 4096, 4097).map((n) => `eyJ${seg(n)}.`),
      fc.constantFrom(7, 8, 4096, 4097).map((n) => `eyJ${seg(10)}.${seg(n)}`),
      fc.constantFrom(0, 4096, 4097).map((n) => `eyJ${seg(10)}.${seg(10)}.${seg(n)}`),
      // A run too long for its first eyJ: the match starts at a later one (8+ characters left).
      fc.constantFrom(7, 8, 9).map((n) => `eyJ${seg(4100)}eyJ${seg(n)}.${seg(8)}`),
      fc.string({ maxLength: 12, unit: fc.constantFrom('a', 'Z', '0', '-', '_', '.', 'e', 'J') })
    )
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 16 }), (parts) => {
        const s = parts.join('')
        expect(allMatches(jwt, s)).toEqual(allMatches(reference, s))
      }),
      { numRuns: 1500 }
    )
  })

  it('private-key: same matches on adversarial strings (bodies at the 16384 limit)', () => {
    const reference = new RegExp(privateKey.source, 'g')
    const fragment = fc.oneof(
      fc.constantFrom(
        '-----BEGIN',
        '-----BEGIN PRIVATE KEY-----',
        '-----BEGIN RSA PRIVATE KEY-----',
        '-----BEGIN ENCRYPTED  PRIVATE KEY-----',
        `-----BEGIN${' A'.repeat(21)}PRIVATE KEY-----`,
        `-----BEGIN${'B'.repeat(40)}PRIVATE KEY-----`,
        `-----BEGIN${'B'.repeat(41)}PRIVATE KEY-----`,
        `-----END${' '.repeat(40)}PRIVATE KEY-----`,
        `-----END${' '.repeat(41)}PRIVATE KEY-----`,
        '-----END PRIVATE KEY-----',
        '-----END RSA PRIVATE KEY-----',
        '-----END',
        'PRIVATE KEY-----',
        ' RSA ',
        '-',
        '\n'
      ),
      fc.constantFrom(1, 2, 100, 16_360, 16_384, 16_385).map((n) => 'x'.repeat(n)),
      fc.string({ maxLength: 12, unit: fc.constantFrom('A', 'Z', ' ', '-', 'x', '\n') })
    )
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 12 }), (parts) => {
        const s = parts.join('')
        expect(allMatches(privateKey, s)).toEqual(allMatches(reference, s))
      }),
      { numRuns: 800 }
    )
  })
})

describe('secret scanning is linear: characters looked at stay within 3x the length', () => {
  const eyj = (n: number): string => 'eyJ'.repeat(n)
  const eyjDots = (n: number): string => `eyJ${seg(5)}.`.repeat(n)
  const eyjShortSecond = (n: number): string => `eyJ${seg(9)}.${seg(7)} `.repeat(n)
  const eyjLongRun = (n: number): string => `${'eyJ'.repeat(n)}.${seg(3)} `
  const begins = (n: number): string => '-----BEGIN RSA PRIVATE KEY-----\n'.repeat(n)
  const farEnd = (n: number): string =>
    `${'-----BEGIN PRIVATE KEY-----x'.repeat(n)}${'y'.repeat(16_400)}-----END PRIVATE KEY-----`

  it.each([
    ['eyJ repeated', eyj, jwt],
    ['eyJ runs ending in a dot', eyjDots, jwt],
    ['eyJ tokens with a short second segment', eyjShortSecond, jwt],
    ['one run of eyJ longer than 4096', eyjLongRun, jwt],
    ['BEGIN headers without an END line', begins, privateKey],
    ['BEGIN headers with a far END line', farEnd, privateKey],
  ] as const)('%s', (_name, make, m) => {
    for (const n of [1_000, 10_000, 100_000]) {
      const text = make(n)
      const work = workOf(m, () => allMatches(m, text))
      // The regex looked at about 4096 (jwt) or 16384 (private-key) characters per candidate.
      expect(work, `n=${n}`).toBeLessThanOrEqual(3 * text.length + 20_000)
    }
  })

  it('redact() of 300 kB of "eyJ" returns it unchanged, and still finds a token after it', () => {
    const attack = 'eyJ'.repeat(100_000)
    expect(workOf(jwt, () => expect(redact(attack)).toBe(attack))).toBeLessThanOrEqual(
      attack.length + 10
    )
    expect(redact(`${attack} ${JWT}`)).toBe(`${attack} eyJ[redacted]`)
    expect(findSecrets(`${attack}.${seg(3)} x`, DEFAULT_SCANNER)).toEqual([])
  })

  it('a run longer than 4096 characters still yields the token at its end (as the regex did)', () => {
    const text = `${'x'.repeat(5000)}${JWT.slice(0, 23)}.${seg(9)}`
    expect(allMatches(jwt, text)).toEqual(allMatches(new RegExp(jwt.source, 'g'), text))
    expect(redact(text)).toBe(`${'x'.repeat(5000)}eyJ[redacted]`)
  })

  it('promptGuard refuses an oversized message before scanning it (no scan at all)', async () => {
    const guard = promptGuard()
    const content = 'eyJ'.repeat(100_000) // 100k estimated tokens > 32k
    let result: Awaited<ReturnType<typeof guard.checkInput>> | undefined
    const work = await asyncWorkOf(jwt, async () => {
      result = await guard.checkInput([{ role: 'user', content }])
    })
    expect(work).toBe(0)
    expect(result).toMatchObject({
      allowed: false,
      blockedBy: ['input.max-tokens'],
      estimatedTokens: 100_000,
      findings: [{ ruleId: 'input.max-tokens', action: 'block', source: 'text' }],
      text: '',
      messages: undefined,
    })
  })

  it('promptGuard in monitor mode still scans an oversized message, in linear time', async () => {
    const guard = promptGuard({ mode: 'monitor' })
    const content = `${'eyJ'.repeat(100_000)} ${JWT}`
    let result: Awaited<ReturnType<typeof guard.checkInput>> | undefined
    const work = await asyncWorkOf(jwt, async () => {
      result = await guard.checkInput([{ role: 'user', content }])
    })
    expect(work).toBeLessThanOrEqual(3 * content.length)
    expect(result?.allowed).toBe(true)
    expect(result?.findings.map((f) => f.ruleId)).toEqual(['input.max-tokens', 'secret'])
    expect(result?.messages?.[0]?.content).not.toContain(JWT)
  })
})
