/**
 * The trust-proxy item FAILs "every hop is trusted" when the `TRUST_PROXY` / `trustProxy` ranges
 * together cover every address of a family (two /1 halves, plain or IPv4-mapped, IPv6 halves, or
 * pieces completed by a named range), as it does for one /0 entry: the adapters then believe any
 * client's forged X-Forwarded-For. Ranges that leave a gap still PASS.
 */
import { createIpResolver } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'
import { runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const { trustProxy: _, ...configWithoutTrustProxy } = GOOD_CONFIG
const trustItem = (env: Record<string, string>, config: Record<string, unknown>) =>
  runDoctor({ env, config }).items.find((i) => i.id === 'trust-proxy')

const both = (list: string[]) => ({
  fromEnv: trustItem({ ...GOOD_ENV, TRUST_PROXY: list.join(',') }, configWithoutTrustProxy),
  fromConfig: trustItem(GOOD_ENV, { ...GOOD_CONFIG, trustProxy: list }),
})

/** 0.0.0.0/1 minus 127.0.0.0/8, which `loopback` fills in. */
const LOW_HALF_BUT_LOOPBACK = [
  '0.0.0.0/2',
  '64.0.0.0/3',
  '96.0.0.0/4',
  '112.0.0.0/5',
  '120.0.0.0/6',
  '124.0.0.0/7',
  '126.0.0.0/8',
]

describe('ranges that together trust every hop', () => {
  it.each([
    [['0.0.0.0/1', '128.0.0.0/1'], '203.0.113.9'],
    [['::ffff:0.0.0.0/97', '::ffff:128.0.0.0/97'], '8.8.8.8'],
    [['::ffff:0.0.0.0/97', '128.0.0.0/1'], '203.0.113.9'],
    [['::/1', '8000::/1'], '2001:db8::9'],
    [[...LOW_HALF_BUT_LOOPBACK, 'loopback', '128.0.0.0/1'], '8.8.8.8'],
  ])('FAIL %j', (list, client) => {
    // Any client: its forged X-Forwarded-For is believed.
    expect(createIpResolver(list)(client, '6.6.6.6')).toBe('6.6.6.6')
    const { fromEnv, fromConfig } = both(list)
    expect(fromEnv?.status).toBe('FAIL')
    expect(fromEnv?.detail).toContain('every hop is trusted')
    expect(fromConfig?.status).toBe('FAIL')
    expect(fromConfig?.detail).toContain('every hop is trusted')
  })

  it.each([
    [['0.0.0.0/1', '128.0.0.0/2'], '203.0.113.9'],
    [[...LOW_HALF_BUT_LOOPBACK, '128.0.0.0/1'], '127.0.0.1'],
    [['::/1', '8000::/2'], 'fe80::1'],
  ])('PASS %j: a client outside them is not believed', (list, client) => {
    expect(createIpResolver(list)(client, '6.6.6.6')).toBe(client)
    const { fromEnv, fromConfig } = both(list)
    expect(fromEnv?.status).toBe('PASS')
    expect(fromConfig?.status).toBe('PASS')
  })
})
