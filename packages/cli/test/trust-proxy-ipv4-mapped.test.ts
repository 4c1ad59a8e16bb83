/**
 * The `trust-proxy` item reads an IPv4-mapped range as the adapters read it: from prefix 96 on, as
 * the IPv4 range it maps (`::ffff:10.0.0.0/104` is `10.0.0.0/8`). So `::ffff:0.0.0.0/96`, which
 * the adapters read as `0.0.0.0/0` (every IPv4 hop: any client's forged X-Forwarded-For is
 * believed), FAILs in `TRUST_PROXY` and in the configured `trustProxy`; narrower mapped ranges
 * and a /95 (an IPv6 range no client address falls in) do not.
 */
import { createIpResolver } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'
import { runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const { trustProxy: _, ...configWithoutTrustProxy } = GOOD_CONFIG

const trustItem = (env: Record<string, string>, config: Record<string, unknown>) =>
  runDoctor({ env, config }).items.find((i) => i.id === 'trust-proxy')

/** Whether the adapters believe a forged X-Forwarded-For from a client no proxy range names. */
const believesForgedIpv4 = (value: string) =>
  createIpResolver([value])('203.0.113.9', '6.6.6.6') === '6.6.6.6'

describe('trust-proxy: IPv4-mapped ranges read as the adapters read them', () => {
  it.each(['::ffff:0.0.0.0/96', '::ffff:0:0/96', '::FFFF:0.0.0.0/96'])(
    'FAILs %s, which trusts every IPv4 hop',
    (value) => {
      expect(believesForgedIpv4(value)).toBe(true)
      const fromEnv = trustItem({ ...GOOD_ENV, TRUST_PROXY: value }, configWithoutTrustProxy)
      expect(fromEnv?.status).toBe('FAIL')
      expect(fromEnv?.detail).toContain('every hop is trusted')
      const fromConfig = trustItem(GOOD_ENV, { ...GOOD_CONFIG, trustProxy: [value] })
      expect(fromConfig?.status).toBe('FAIL')
      expect(fromConfig?.detail).toContain('every hop is trusted')
    }
  )

  it('FAILs it inside a list too', () => {
    const value = '10.0.0.0/8, ::ffff:0.0.0.0/96'
    expect(trustItem({ ...GOOD_ENV, TRUST_PROXY: value }, configWithoutTrustProxy)?.status).toBe(
      'FAIL'
    )
  })

  it.each(['::ffff:10.0.0.0/104', '::ffff:0.0.0.0/95', '::ffff:0.0.0.0/97'])(
    'PASSes %s, which the adapters do not read as every hop',
    (value) => {
      expect(believesForgedIpv4(value)).toBe(false)
      expect(trustItem(GOOD_ENV, { ...GOOD_CONFIG, trustProxy: [value] })?.status).toBe('PASS')
    }
  )
})
