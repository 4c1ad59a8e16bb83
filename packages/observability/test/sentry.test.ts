/** `initSentry()` initialising @sentry/node v11 itself: the real SDK against a local DSN endpoint. */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DsnScenario, expectCleanFailingRequest, startScenario } from './sentry-dsn.js'

let scenario: DsnScenario

beforeAll(async () => {
  scenario = await startScenario()
  const client = initSentry({ dsn: scenario.dsn, tracesSampleRate: 1 })
  expect(client).toBeDefined()
  // Idempotent: a second call (hot reload) returns the same client and registers nothing again.
  expect(initSentry({ dsn: scenario.dsn, tracesSampleRate: 1 })).toBe(client)
})

afterAll(async () => {
  await Sentry.close(2000)
  await scenario.close()
})

describe('initSentry', () => {
  it('the events of a failing request reach the DSN without Authorization, cookie, provider key or prompt text', async () => {
    await expectCleanFailingRequest(scenario, Sentry, 'streamed')
  })

  // When the app already called Sentry.init: sentry-preinit.test.ts (v11), sentry-preinit-v10.test.ts.

  it('without a DSN it initialises nothing', () => {
    // The process-wide client from the first test is returned, whatever the options say.
    expect(initSentry({ dsn: undefined })).toBe(Sentry.getClient())
  })

  it.each([
    [{ dsn: 'not-a-dsn' }, 'dsn'],
    [{ dsn: undefined, tracesSampleRate: 2 }, 'tracesSampleRate'],
    [{ dsn: undefined, allowRequestBodies: 'yes' }, 'allowRequestBodies'],
    [{ dsn: undefined, redact: 1 }, 'redact'],
    [{ dsn: undefined, sentry: {} }, 'sentry'],
  ])('rejects invalid options %j naming %s', (options, field) => {
    expect(() => initSentry(options as never)).toThrow(expect.objectContaining({ field }))
  })
})
