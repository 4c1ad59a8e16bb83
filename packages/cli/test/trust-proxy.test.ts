/**
 * The `trust-proxy` item. README: FAIL when every hop is trusted (`true`, `'*'`, `'all'`, a `/0`
 * range), or on a value the adapters (or `aikitEnv`, for `TRUST_PROXY`) refuse at startup.
 */
import { createIpResolver } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'
import { runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const { trustProxy: _, ...configWithoutTrustProxy } = GOOD_CONFIG

const trustItem = (env: Record<string, string>, config: Record<string, unknown>) =>
  runDoctor({ env, config }).items.find((i) => i.id === 'trust-proxy')

describe('trust-proxy: any /0 range trusts every hop', () => {
  it.each([
    ['10.0.0.0/0', '203.0.113.7', '6.6.6.6'],
    ['::0/0', '2001:db8::7', '2001:db8::666'],
    ['0.0.0.0/00', '203.0.113.7', '6.6.6.6'],
    ['0/0', '203.0.113.7', '6.6.6.6'],
    ['10.0.0.0/8, 0/0', '203.0.113.7', '6.6.6.6'],
  ])(
    'fails TRUST_PROXY=%s, which trusts every address of its family like 0.0.0.0/0',
    (value, peer, forged) => {
      // The adapters' own resolver: with this setting a client's forged X-Forwarded-For wins
      // (`0/0`, IPv4 not written as four octets, the adapters refuse at startup).
      if (value.split(',').some((e) => e.trim() === '0/0')) {
        expect(() => createIpResolver(value)).toThrow(/trustProxy/)
      } else {
        expect(createIpResolver(value)(peer, forged)).toBe(forged)
      }
      const item = trustItem({ ...GOOD_ENV, TRUST_PROXY: value }, configWithoutTrustProxy)
      expect(item?.status).toBe('FAIL')
      expect(item?.detail).toContain('every hop is trusted')
    }
  )

  it("fails config trustProxy: ['10.0.0.0/0'] (a typo for /8 that trusts every IPv4 hop)", () => {
    expect(createIpResolver(['10.0.0.0/0'])('203.0.113.7', '6.6.6.6')).toBe('6.6.6.6')
    const item = trustItem(GOOD_ENV, { ...GOOD_CONFIG, trustProxy: ['10.0.0.0/0'] })
    expect(item?.status).toBe('FAIL')
    expect(item?.detail).toContain('every hop is trusted')
  })

  it('passes a real range such as 10.0.0.0/8 (only a prefix length of 0 trusts every hop)', () => {
    const item = trustItem(GOOD_ENV, { ...GOOD_CONFIG, trustProxy: ['10.0.0.0/8', '::1/128'] })
    expect(item).toMatchObject({ status: 'PASS', detail: '2 proxy address range(s) trusted' })
  })
})

describe('trust-proxy: a configured string the adapters refuse at startup', () => {
  it('passes config trustProxy: "" as no proxy, as the adapters read it', () => {
    expect(createIpResolver('')('10.0.0.2', '6.6.6.6')).toBe('10.0.0.2')
    expect(trustItem(GOOD_ENV, { ...GOOD_CONFIG, trustProxy: '' })?.status).toBe('PASS')
  })

  it.each(['false', ' FALSE '])(
    'fails config trustProxy: %j (the adapters throw on it; only TRUST_PROXY is parsed by aikitEnv)',
    (value) => {
      // What the app does with the configured value: the adapters refuse it at startup.
      expect(() => createIpResolver(value)).toThrow(/trustProxy/)
      const item = trustItem(GOOD_ENV, { ...GOOD_CONFIG, trustProxy: value })
      expect(item?.status).toBe('FAIL')
      expect(item?.fix).toContain('boolean false')
    }
  )

  it("fails config trustProxy: [''] like the adapters", () => {
    expect(() => createIpResolver([''])).toThrow(/trustProxy/)
    expect(trustItem(GOOD_ENV, { ...GOOD_CONFIG, trustProxy: [''] })?.status).toBe('FAIL')
  })

  it('passes config trustProxy: false, 0 and [] as off', () => {
    for (const trustProxy of [false, 0, []]) {
      expect(trustItem(GOOD_ENV, { ...GOOD_CONFIG, trustProxy })?.detail).toMatch(/^off:/)
    }
  })

  it('still reads TRUST_PROXY=false and TRUST_PROXY=0 as off, as aikitEnv does', () => {
    for (const value of ['false', 'FALSE', '0']) {
      const item = trustItem({ ...GOOD_ENV, TRUST_PROXY: value }, configWithoutTrustProxy)
      expect(item, value).toMatchObject({ status: 'PASS' })
      expect(item?.detail, value).toMatch(/^off:/)
    }
  })
})

describe('trust-proxy: a TRUST_PROXY aikitEnv refuses', () => {
  it('fails both the env item and the trust-proxy item, naming the variable, never its value', () => {
    const { items } = runDoctor({
      env: { ...GOOD_ENV, TRUST_PROXY: '33' },
      config: configWithoutTrustProxy,
    })
    const env = items.find((i) => i.id === 'env')
    const tp = items.find((i) => i.id === 'trust-proxy')
    expect(env?.status).toBe('FAIL')
    expect(tp).toMatchObject({ status: 'FAIL' })
    expect(tp?.detail).toContain('TRUST_PROXY is refused by aikitEnv')
    expect(tp?.detail).toContain('from 0 to 32')
    expect(tp?.detail).not.toContain('33')
  })

  it('does not quote a malformed TRUST_PROXY (here a pasted token)', () => {
    const pasted = 'ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'
    const result = runDoctor({
      env: { ...GOOD_ENV, TRUST_PROXY: pasted },
      config: configWithoutTrustProxy,
    })
    expect(result.items.find((i) => i.id === 'trust-proxy')?.status).toBe('FAIL')
    expect(JSON.stringify(result).toLowerCase()).not.toContain(pasted.toLowerCase())
  })
})
