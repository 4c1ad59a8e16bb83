/** A production set-up every doctor item passes; the tests break one thing at a time. */
export const GOOD_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  PORT: '8080',
  LOG_LEVEL: 'info',
  REDIS_URL: 'rediss://app:Redis-Pa55-word-7f3a@redis.example.com:6380',
  ANTHROPIC_API_KEY: 'sk-ant-api03-SECRETVALUE0123456789abcdefXYZ',
  SENTRY_DSN: 'https://abc123@o1.ingest.sentry.io/42',
  METRICS_TOKEN: 'metrics-token-SECRET-0123456789abcdef',
  TRUST_PROXY: '1',
}

export const GOOD_CONFIG = {
  cors: { origin: ['https://app.example.com'], credentials: true },
  rateLimit: { limits: [{ limit: 60, window: '1m' }], store: 'redis' },
  budget: { limits: [{ period: 'day', usd: 5 }], store: 'redis' },
  cache: { store: 'redis' },
  logLevel: 'info',
  trustProxy: 1,
  instances: 3,
} as const

/** Values that must never be printed. */
export const SECRET_VALUES = [
  'Redis-Pa55-word-7f3a',
  'SECRETVALUE0123456789',
  'metrics-token-SECRET',
] as const
