import { InvalidOptionsError, memoryStore } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { type DoctorStatus, runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

type Env = Record<string, string | undefined>
type Config = Record<string, unknown>

/** The items that are not PASS, as `{ id: status }`. */
function flagged(env: Env, config: Config | undefined): Record<string, DoctorStatus> {
  const { items } = runDoctor({ env, config })
  return Object.fromEntries(items.filter((i) => i.status !== 'PASS').map((i) => [i.id, i.status]))
}

const item = (env: Env, config: Config, id: string) =>
  runDoctor({ env, config }).items.find((i) => i.id === id)

const without = (o: Config, ...keys: string[]): Config =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)))

interface Row {
  name: string
  env?: Env
  config?: Config | undefined
  expected: Record<string, DoctorStatus>
}

const rows: Row[] = [
  // CORS
  {
    name: "wildcard CORS origin '*' with credentials",
    config: { ...GOOD_CONFIG, cors: { origin: '*', credentials: true } },
    expected: { cors: 'FAIL' },
  },
  {
    name: 'reflect-all CORS origin (true) with credentials',
    config: { ...GOOD_CONFIG, cors: { origin: true, credentials: true } },
    expected: { cors: 'FAIL' },
  },
  {
    name: "'*' inside an origin list with credentials",
    config: { ...GOOD_CONFIG, cors: { origin: ['https://a.example', '*'], credentials: true } },
    expected: { cors: 'FAIL' },
  },
  {
    name: "CORS origin 'null'",
    config: { ...GOOD_CONFIG, cors: { origin: ['null'] } },
    expected: { cors: 'FAIL' },
  },
  {
    name: 'wildcard CORS without credentials in production',
    config: { ...GOOD_CONFIG, cors: { origin: '*' } },
    expected: { cors: 'WARN' },
  },
  {
    name: 'wildcard CORS_ORIGIN from the environment',
    env: { ...GOOD_ENV, CORS_ORIGIN: '*' },
    config: without(GOOD_CONFIG, 'cors'),
    expected: { cors: 'WARN' },
  },
  {
    name: 'a RegExp CORS origin that matches every site, with credentials',
    config: { ...GOOD_CONFIG, cors: { origin: /https?:\/\/.*/, credentials: true } },
    expected: { cors: 'FAIL' },
  },
  {
    name: 'an any-site RegExp inside an origin list, with credentials',
    config: {
      ...GOOD_CONFIG,
      cors: { origin: ['https://app.example.com', /https:\/\/.+/], credentials: true },
    },
    expected: { cors: 'FAIL' },
  },
  {
    name: 'an any-site RegExp without credentials in production (like *)',
    config: { ...GOOD_CONFIG, cors: { origin: /https:\/\/.+/ } },
    expected: { cors: 'WARN' },
  },
  {
    name: 'a RegExp CORS origin that matches `null` (cors() refuses it at startup)',
    config: { ...GOOD_CONFIG, cors: { origin: /.*/ } },
    expected: { cors: 'FAIL' },
  },
  {
    name: 'plain-http CORS origin in production',
    config: { ...GOOD_CONFIG, cors: { origin: ['http://app.example.com'] } },
    expected: { cors: 'WARN' },
  },
  {
    name: 'plain-http CORS origin with an upper-case scheme in production',
    config: { ...GOOD_CONFIG, cors: { origin: ['HTTP://App.Example.com'] } },
    expected: { cors: 'WARN' },
  },
  {
    name: 'plain-http CORS_ORIGIN with an upper-case scheme in production',
    env: { ...GOOD_ENV, CORS_ORIGIN: 'https://app.example.com, Http://admin.example.com' },
    config: without(GOOD_CONFIG, 'cors'),
    expected: { cors: 'WARN' },
  },
  // rate limit
  {
    name: 'no rate limit in production',
    config: without(GOOD_CONFIG, 'rateLimit'),
    expected: { 'rate-limit': 'FAIL' },
  },
  {
    name: 'rate limit switched off in production',
    config: { ...GOOD_CONFIG, rateLimit: false },
    expected: { 'rate-limit': 'FAIL' },
  },
  {
    name: 'no rate limit outside production',
    env: { ...GOOD_ENV, NODE_ENV: 'development' },
    config: without(GOOD_CONFIG, 'rateLimit'),
    expected: { 'node-env': 'WARN', 'rate-limit': 'WARN' },
  },
  {
    name: 'rate limit in dry-run mode in production',
    config: { ...GOOD_CONFIG, rateLimit: { ...GOOD_CONFIG.rateLimit, dryRun: true } },
    expected: { 'rate-limit': 'WARN' },
  },
  // logging
  {
    name: 'LOG_LEVEL=debug in production',
    env: { ...GOOD_ENV, LOG_LEVEL: 'debug' },
    config: without(GOOD_CONFIG, 'logLevel'),
    expected: { 'log-level': 'FAIL' },
  },
  {
    name: 'LOG_LEVEL that is not a level (aikitEnv and the logger refuse it)',
    env: { ...GOOD_ENV, LOG_LEVEL: 'loud' },
    config: without(GOOD_CONFIG, 'logLevel'),
    expected: { env: 'FAIL', 'log-level': 'FAIL' },
  },
  {
    name: "config logLevel 'silly' in production",
    config: { ...GOOD_CONFIG, logLevel: 'silly' },
    expected: { 'log-level': 'FAIL' },
  },
  // error tracking
  {
    name: 'SENTRY_DSN unset in production',
    env: { ...GOOD_ENV, SENTRY_DSN: undefined },
    expected: { 'error-tracking': 'WARN' },
  },
  // secrets in NEXT_PUBLIC_*
  {
    name: 'an OpenAI key under NEXT_PUBLIC_',
    env: { ...GOOD_ENV, NEXT_PUBLIC_OPENAI_KEY: 'sk-proj-AbCdEfGhIjKlMnOpQrStUv0123' },
    expected: { 'public-secrets': 'FAIL' },
  },
  {
    name: 'a database URL with a password under NEXT_PUBLIC_',
    env: { ...GOOD_ENV, NEXT_PUBLIC_DB_URL: 'postgres://app:hunter2@db.example.com/app' },
    expected: { 'public-secrets': 'FAIL' },
  },
  {
    name: 'a secret-sounding name under NEXT_PUBLIC_',
    env: { ...GOOD_ENV, NEXT_PUBLIC_API_TOKEN: 'abc' },
    expected: { 'public-secrets': 'WARN' },
  },
  // trusted proxies
  {
    name: 'TRUST_PROXY=true',
    env: { ...GOOD_ENV, TRUST_PROXY: 'true' },
    config: without(GOOD_CONFIG, 'trustProxy'),
    expected: { env: 'FAIL', 'trust-proxy': 'FAIL' },
  },
  {
    name: 'config trustProxy: true',
    config: { ...GOOD_CONFIG, trustProxy: true },
    expected: { 'trust-proxy': 'FAIL' },
  },
  {
    name: 'trusting 0.0.0.0/0',
    config: { ...GOOD_CONFIG, trustProxy: ['10.0.0.0/8', '0.0.0.0/0'] },
    expected: { 'trust-proxy': 'FAIL' },
  },
  {
    // aikitEnv refuses it (env item) and the app does not start with it (trust-proxy item).
    name: 'TRUST_PROXY above the 32 hops the adapters accept',
    env: { ...GOOD_ENV, TRUST_PROXY: '33' },
    config: without(GOOD_CONFIG, 'trustProxy'),
    expected: { env: 'FAIL', 'trust-proxy': 'FAIL' },
  },
  {
    name: "config trustProxy: '10.1' (shorthand IPv4: the adapters refuse it)",
    config: { ...GOOD_CONFIG, trustProxy: '10.1' },
    expected: { 'trust-proxy': 'FAIL' },
  },
  {
    name: 'a malformed proxy CIDR in the config',
    config: { ...GOOD_CONFIG, trustProxy: ['10.0.0.0/33'] },
    expected: { 'trust-proxy': 'FAIL' },
  },
  {
    name: 'a proxy list that is not an address',
    config: { ...GOOD_CONFIG, trustProxy: ['my-load-balancer'] },
    expected: { 'trust-proxy': 'FAIL' },
  },
  // NODE_ENV
  {
    name: 'NODE_ENV unset',
    env: { ...GOOD_ENV, NODE_ENV: undefined },
    expected: { 'node-env': 'WARN' },
  },
  // Redis topology and connection
  {
    name: 'several instances, REDIS_URL unset, memory stores',
    env: { ...GOOD_ENV, REDIS_URL: undefined },
    config: {
      ...GOOD_CONFIG,
      rateLimit: { limits: [{ limit: 60, window: '1m' }] },
      budget: { limits: [{ period: 'day', usd: 5 }] },
      cache: {},
    },
    expected: { 'redis-topology': 'WARN' },
  },
  {
    name: 'a Redis store declared with REDIS_URL unset',
    env: { ...GOOD_ENV, REDIS_URL: undefined },
    expected: { 'redis-topology': 'FAIL' },
  },
  {
    name: 'several instances with one memory store',
    config: { ...GOOD_CONFIG, cache: { store: memoryStore() } },
    expected: { 'redis-topology': 'WARN' },
  },
  {
    name: 'Redis without TLS or password in production',
    env: { ...GOOD_ENV, REDIS_URL: 'redis://redis.example.com:6379' },
    expected: { 'redis-security': 'WARN' },
  },
  // metrics
  {
    name: 'METRICS_TOKEN unset in production',
    env: { ...GOOD_ENV, METRICS_TOKEN: undefined },
    expected: { 'metrics-token': 'WARN' },
  },
  {
    name: 'METRICS_TOKEN too short',
    env: { ...GOOD_ENV, METRICS_TOKEN: 'short' },
    // aikitEnv refuses it too (the app's defineEnv would not start), as metricsHandler does.
    expected: { env: 'FAIL', 'metrics-token': 'FAIL' },
  },
  {
    name: 'METRICS_TOKEN with a trailing space (no scraper can send it)',
    env: { ...GOOD_ENV, METRICS_TOKEN: 'metrics-token-0123456789 ' },
    expected: { env: 'FAIL', 'metrics-token': 'FAIL' },
  },
  // budget
  {
    name: 'no budget',
    config: without(GOOD_CONFIG, 'budget'),
    expected: { budget: 'WARN' },
  },
  {
    name: 'soft budget',
    config: { ...GOOD_CONFIG, budget: { ...GOOD_CONFIG.budget, mode: 'soft' } },
    expected: { budget: 'WARN' },
  },
  // the environment and the configuration themselves
  {
    name: 'malformed PORT',
    env: { ...GOOD_ENV, PORT: 'eighty' },
    expected: { env: 'FAIL' },
  },
  {
    name: 'REDIS_URL that is not a URL',
    env: { ...GOOD_ENV, REDIS_URL: 'redis-host-only' },
    expected: { env: 'FAIL', 'redis-security': 'FAIL' },
  },
  {
    name: 'a config field of the wrong type',
    config: { ...GOOD_CONFIG, cors: { origin: ['https://app.example.com'], credentials: 'yes' } },
    expected: { config: 'FAIL', cors: 'FAIL' },
  },
  {
    name: 'a misspelt config section',
    config: { ...without(GOOD_CONFIG, 'rateLimit'), ratelimit: GOOD_CONFIG.rateLimit },
    expected: { config: 'FAIL', 'rate-limit': 'FAIL' },
  },
  {
    name: 'no configuration at all',
    config: undefined,
    expected: { config: 'WARN', 'rate-limit': 'FAIL', budget: 'WARN' },
  },
]

describe('runDoctor flags each unsafe setting with the right item', () => {
  it('passes every item on the good production set-up', () => {
    const result = runDoctor({ env: GOOD_ENV, config: GOOD_CONFIG })
    expect(result.items.filter((i) => i.status !== 'PASS')).toEqual([])
    expect(result.ok).toBe(true)
  })

  it.each(rows)('$name', (row) => {
    const config = 'config' in row ? row.config : GOOD_CONFIG
    const expected = row.expected
    expect(flagged(row.env ?? GOOD_ENV, config)).toEqual(expected)
    const result = runDoctor({ env: row.env ?? GOOD_ENV, config })
    expect(result.ok).toBe(!Object.values(expected).includes('FAIL'))
    for (const item of result.items.filter((i) => i.status !== 'PASS')) {
      expect(item.fix, item.id).toMatch(/\S/)
      expect(item.fix, item.id).not.toContain('\n')
    }
  })
})

describe('runDoctor reports', () => {
  it('names every bad config field, nested ones by path', () => {
    const { items } = runDoctor({
      env: GOOD_ENV,
      config: {
        ...GOOD_CONFIG,
        rateLimit: { limits: [{ limit: 0, window: '1m' }] },
        budget: { limits: [{ period: 'week', usd: 5 }] },
        instances: 0,
        typo: 1,
      },
    })
    const detail = items.find((i) => i.id === 'config')!.detail
    expect(detail).toContain('rateLimit.limits.0.limit: too small')
    expect(detail).toContain('budget.limits.0.period: expected one of')
    expect(detail).toContain('instances: too small')
    expect(detail).toContain('typo: unknown field')
  })

  it('every missing and malformed variable in the env item, by name', () => {
    const { items } = runDoctor({
      env: { NODE_ENV: 'staging', PORT: '99999', LOG_LEVEL: 'loud' },
      config: GOOD_CONFIG,
    })
    const detail = items.find((i) => i.id === 'env')!.detail
    expect(detail).toMatch(/NODE_ENV is invalid/)
    expect(detail).toMatch(/PORT is invalid/)
    expect(detail).toMatch(/LOG_LEVEL is invalid/)
    expect(detail).not.toContain('staging')
    expect(detail).not.toContain('loud')
  })

  it('never the value of a variable, even one it flags', () => {
    const secrets = {
      NEXT_PUBLIC_ANTHROPIC_KEY: 'sk-ant-api03-LEAKEDLEAKEDLEAKED0123456789',
      REDIS_URL: 'redis://:PlainRedisPassword99@redis.example.com:6379',
      METRICS_TOKEN: 'tiny-tok',
      ANTHROPIC_API_KEY: 'sk-ant-api03-SERVERSIDE0123456789abcdef',
    }
    const result = runDoctor({ env: { ...GOOD_ENV, ...secrets }, config: GOOD_CONFIG })
    const text = JSON.stringify(result)
    for (const value of Object.values(secrets)) expect(text).not.toContain(value)
    expect(text).not.toContain('PlainRedisPassword99')
    expect(result.ok).toBe(false)
  })

  it('never quotes a malformed LOG_LEVEL (here a pasted token): "not a known level"', () => {
    const pasted = 'ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'
    const config = without(GOOD_CONFIG, 'logLevel')
    const result = runDoctor({ env: { ...GOOD_ENV, LOG_LEVEL: pasted }, config })
    expect(result.items.find((i) => i.id === 'env')?.status).toBe('FAIL')
    expect(result.items.find((i) => i.id === 'log-level')).toMatchObject({
      status: 'FAIL',
      detail: expect.stringContaining('LOG_LEVEL is not a known level'),
    })
    expect(JSON.stringify(result).toLowerCase()).not.toContain(pasted.toLowerCase())
  })

  it('prints a known LOG_LEVEL as aikitEnv reads it (trimmed, lower-case)', () => {
    const config = without(GOOD_CONFIG, 'logLevel')
    expect(item({ ...GOOD_ENV, LOG_LEVEL: ' WARN ' }, config, 'log-level')).toMatchObject({
      status: 'PASS',
      detail: "'warn'",
    })
  })

  it('warns on a plain-http origin whatever its case, as cors() compares origins', async () => {
    const { cors } = await import('../../security/src/index.js')
    for (const origin of ['HTTP://app.example.com', 'hTtP://APP.example.com:8080']) {
      expect(() => cors({ origin: [origin] })).not.toThrow()
      const found = item(GOOD_ENV, { ...GOOD_CONFIG, cors: { origin: [origin] } }, 'cors')
      expect(found, origin).toMatchObject({ status: 'WARN' })
    }
    // Loopback stays allowed, whatever its case.
    const local = item(
      GOOD_ENV,
      { ...GOOD_CONFIG, cors: { origin: ['HTTP://LOCALHOST:3000'] } },
      'cors'
    )
    expect(local?.status).toBe('PASS')
  })

  it('passes the IPv6 loopback http://[::1]:3000 as it passes localhost and 127.0.0.1', () => {
    const corsItem = (origin: string) =>
      item(
        GOOD_ENV,
        {
          ...GOOD_CONFIG,
          cors: { origin: ['https://app.example.com', origin], credentials: true },
        },
        'cors'
      )
    for (const origin of [
      'http://localhost:3000',
      'http://127.0.0.1:3000',
      'http://[::1]:3000',
      'http://[::1]',
      'HTTP://[0:0:0:0:0:0:0:1]:3000',
    ]) {
      expect(corsItem(origin)?.status, origin).toBe('PASS')
    }
    // A non-loopback IPv6 literal is still plain http.
    expect(corsItem('http://[2001:db8::1]:3000')?.status).toBe('WARN')
  })

  it('respects publicPrefixes and allowPublic from the config', () => {
    const env = { ...GOOD_ENV, VITE_STRIPE_SECRET: 'sk_live_abcdefghijklmnop' }
    expect(flagged(env, GOOD_CONFIG)).toEqual({})
    expect(flagged(env, { ...GOOD_CONFIG, publicPrefixes: ['VITE_'] })).toEqual({
      'public-secrets': 'FAIL',
    })
    const analytics = { ...GOOD_ENV, NEXT_PUBLIC_ANALYTICS_ID: 'Zq8xP2mK9vL4nR7tW1yB5cF3hJ6dG0sA' }
    expect(flagged(analytics, GOOD_CONFIG)).toEqual({ 'public-secrets': 'FAIL' })
    expect(
      flagged(analytics, { ...GOOD_CONFIG, allowPublic: ['NEXT_PUBLIC_ANALYTICS_ID'] })
    ).toEqual({})
  })

  it('a subdomain RegExp with credentials passes the cors item', () => {
    const origin = /https:\/\/(?:app|admin)\.example\.com/
    const cors = item(GOOD_ENV, { ...GOOD_CONFIG, cors: { origin, credentials: true } }, 'cors')
    expect(cors).toMatchObject({ status: 'PASS', detail: '1 allowed origin(s), with credentials' })
  })

  it('names the RegExp that matches any site or `null`, as cors() compiles it', async () => {
    const anySite = item(
      GOOD_ENV,
      { ...GOOD_CONFIG, cors: { origin: [/https?:\/\/.*/g], credentials: true } },
      'cors'
    )
    expect(anySite?.detail).toContain('/https?:\\/\\/.*/g matches any site')
    // The same verdicts as cors() itself: it refuses a RegExp that matches `null` at startup...
    const { cors } = await import('../../security/src/index.js')
    for (const origin of [/.*/, /null|https:\/\/a\.example/, /[a-z]+/]) {
      expect(() => cors({ origin })).toThrow(/null/)
      expect(item(GOOD_ENV, { ...GOOD_CONFIG, cors: { origin } }, 'cors')?.status).toBe('FAIL')
    }
    // ...and accepts one anchored to its own sites (the doctor's anchoring is cors()'s).
    for (const origin of [/https:\/\/app\.example\.com/, /nul/, /https:\/\/.*\.example\.com/]) {
      expect(() => cors({ origin })).not.toThrow()
      expect(item(GOOD_ENV, { ...GOOD_CONFIG, cors: { origin } }, 'cors')?.status).toBe('PASS')
    }
  })

  it.each([
    ['2', '2 hop(s) trusted'],
    [' 3 ', '3 hop(s) trusted'],
    ['10.0.0.0/8, 192.168.1.1', '2 proxy address range(s) trusted'],
  ])('reads TRUST_PROXY=%j as the adapters get it from aikitEnv', (value, detail) => {
    const { trustProxy: _, ...config } = GOOD_CONFIG
    const tp = item({ ...GOOD_ENV, TRUST_PROXY: value }, config, 'trust-proxy')
    expect(tp).toMatchObject({ status: 'PASS', detail })
  })

  it('reports a configured hop count as hops, given as a number or a string of digits', () => {
    for (const trustProxy of [2, '2', ' 2 ']) {
      expect(item(GOOD_ENV, { ...GOOD_CONFIG, trustProxy }, 'trust-proxy')).toMatchObject({
        status: 'PASS',
        detail: '2 hop(s) trusted',
      })
    }
  })

  it('accepts sentry: false as a deliberate choice', () => {
    const env = { ...GOOD_ENV, SENTRY_DSN: undefined }
    expect(flagged(env, { ...GOOD_CONFIG, sentry: false })).toEqual({})
  })

  it('refuses input of the wrong shape with InvalidOptionsError naming the field', () => {
    expect(() => runDoctor(null as never)).toThrow(InvalidOptionsError)
    expect(() => runDoctor({ env: 'NODE_ENV=production' as never })).toThrow(/env/)
    expect(() => runDoctor({ env: { PORT: 3000 as never } })).toThrow(
      expect.objectContaining({ field: 'env.PORT' })
    )
  })
})
