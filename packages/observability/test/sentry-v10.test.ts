/** `initSentry()` with @sentry/node v10 (spans inside transactions): the real SDK against a local DSN. */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node-v10'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DsnScenario, expectCleanFailingRequest, startScenario } from './sentry-dsn.js'

let scenario: DsnScenario

beforeAll(async () => {
  scenario = await startScenario()
  expect(Sentry.SDK_VERSION).toMatch(/^10\./)
  const client = initSentry({ dsn: scenario.dsn, tracesSampleRate: 1, sentry: Sentry as never })
  expect(client).toBe(Sentry.getClient())
})

afterAll(async () => {
  await Sentry.close(2000)
  await scenario.close()
})

describe('initSentry with @sentry/node v10', () => {
  it('the events of a failing request reach the DSN without Authorization, cookie, provider key or prompt text', async () => {
    await expectCleanFailingRequest(scenario, Sentry, 'any')
  })
})
