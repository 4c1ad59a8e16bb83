/**
 * Credentials kept out of what `initSentry()` sends with the real @sentry/node SDK (a local
 * endpoint posing as the DSN, as sentry.test.ts does): URL passwords and Digest credentials in
 * exception messages, credential headers attached as extra data.
 */
import { initSentry, SENSITIVE_HEADERS } from '@aikit/observability/sentry'
import { SENSITIVE_HEADERS as REDACTED_HEADERS } from '@aikit/security'
import * as Sentry from '@sentry/node'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startDsn } from './sentry-dsn.js'

// Built at run time so the source lines Sentry attaches to stack frames never hold them.
const rev = (s: string): string => s.split('').reverse().join('')
const SECRET = rev('x9eulaVt3rceS7qZ')
const GOOGLE_HEADER_VALUE = rev('0987654321-yek-eht-si-siht')
const DIGEST_RESPONSE = rev('1fe4c7058799054e79393a94eaf9266')

let dsn: Awaited<ReturnType<typeof startDsn>>

beforeAll(async () => {
  dsn = await startDsn()
  expect(initSentry({ dsn: dsn.dsn })).toBeDefined()
})

afterAll(async () => {
  await Sentry.close(2000)
  await dsn.close()
})

async function capture(fn: () => void): Promise<string> {
  const before = dsn.items().length
  fn()
  await Sentry.flush(5000)
  const events = dsn
    .items()
    .slice(before)
    .filter((i) => i.type === 'event')
  expect(events.length).toBeGreaterThan(0) // the event really reached the DSN
  return events.map((e) => e.raw).join('\n')
}

it('keeps a Redis URL password in an exception message out of the event sent to Sentry', async () => {
  const raw = await capture(() => {
    Sentry.captureException(
      new Error(`cache tier down: connect to rediss://default:${SECRET}@cache.internal:6380 failed`)
    )
  })
  expect(raw).toContain('cache tier down')
  expect(raw).not.toContain(SECRET)
})

it('keeps a Digest Authorization response in an exception message out of the event', async () => {
  const raw = await capture(() => {
    Sentry.captureException(
      new Error(
        `upstream 401 for Authorization: Digest username="alice", realm="api", nonce="abc123", response="${DIGEST_RESPONSE}"`
      )
    )
  })
  expect(raw).toContain('upstream 401')
  expect(raw).not.toContain(DIGEST_RESPONSE)
})

it('censors x-goog-api-key in headers attached as extra data', async () => {
  const raw = await capture(() => {
    Sentry.withScope((scope) => {
      scope.setExtra('upstreamRequestHeaders', {
        'content-type': 'application/json',
        'x-goog-api-key': GOOGLE_HEADER_VALUE,
      })
      Sentry.captureException(new Error('gemini call failed'))
    })
  })
  expect(raw).toContain('gemini call failed')
  expect(raw).not.toContain(GOOGLE_HEADER_VALUE)
})

it("drops the credential headers the redactor censors: one list, @aikit/security's", () => {
  expect(SENSITIVE_HEADERS).toBe(REDACTED_HEADERS)
  expect(SENSITIVE_HEADERS).toContain('x-goog-api-key')
})
