/**
 * The defaults README.md's configuration table states, observed through `runDoctor` with the field
 * left out: `instances` 1, `logLevel` `LOG_LEVEL` else `'info'`, `metrics` true (the app serves
 * `/metrics`), `trustProxy` `TRUST_PROXY` else false, `publicPrefixes` `['NEXT_PUBLIC_']`, and no
 * configuration at all. A user reads the checklist against these.
 */
import { describe, expect, it } from 'vitest'
import { runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const item = (id: string, env: Record<string, string | undefined>, config?: unknown) =>
  runDoctor({ env, config }).items.find((i) => i.id === id)

const { instances: _, ...oneInstance } = GOOD_CONFIG

describe('doctor configuration defaults', () => {
  it('without a configuration, says so (WARN) and judges the kit defaults', () => {
    expect(item('config', GOOD_ENV)).toMatchObject({ status: 'WARN' })
  })

  it('counts 1 instance when `instances` is left out', () => {
    const env = { ...GOOD_ENV, REDIS_URL: undefined }
    const config = { ...oneInstance, rateLimit: { limits: [{ limit: 60, window: '1m' }] } }
    const topology = item('redis-topology', env, { ...config, budget: false, cache: false })
    expect(topology).toMatchObject({ status: 'PASS' })
    expect(topology?.detail).toContain('1 instance(s)')
  })

  it("takes the log level from LOG_LEVEL, else 'info'", () => {
    const { logLevel: _level, ...config } = GOOD_CONFIG
    expect(item('log-level', { ...GOOD_ENV, LOG_LEVEL: 'debug' }, config)?.status).toBe('FAIL')
    expect(item('log-level', { ...GOOD_ENV, LOG_LEVEL: undefined }, config)?.status).toBe('PASS')
  })

  it('assumes the app serves /metrics (metrics: true): no token in production warns', () => {
    const env = { ...GOOD_ENV, METRICS_TOKEN: undefined }
    expect(item('metrics-token', env, GOOD_CONFIG)?.status).toBe('WARN')
    expect(item('metrics-token', env, { ...GOOD_CONFIG, metrics: false })?.status).toBe('PASS')
  })

  it('takes trustProxy from TRUST_PROXY, else false (no hop trusted)', () => {
    const { trustProxy: _trust, ...config } = GOOD_CONFIG
    expect(item('trust-proxy', { ...GOOD_ENV, TRUST_PROXY: undefined }, config)?.status).toBe(
      'PASS'
    )
    expect(item('trust-proxy', { ...GOOD_ENV, TRUST_PROXY: '0.0.0.0/0' }, config)?.status).toBe(
      'FAIL'
    )
  })

  it("treats NEXT_PUBLIC_ names as browser-visible, and no other (publicPrefixes ['NEXT_PUBLIC_'])", () => {
    const secret = 'sk-ant-api03-SECRETVALUE0123456789abcdefXYZ'
    expect(
      item('public-secrets', { ...GOOD_ENV, NEXT_PUBLIC_KEY: secret }, GOOD_CONFIG)
    ).toMatchObject({ status: 'FAIL' })
    expect(item('public-secrets', { ...GOOD_ENV, VITE_KEY: secret }, GOOD_CONFIG)).toMatchObject({
      status: 'PASS',
    })
  })
})
