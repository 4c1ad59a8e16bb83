/** The app called `Sentry.init` itself with @sentry/node v10's defaults, then `initSentry()`. */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node-v10'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DsnScenario, expectCleanFailingRequest, startScenario } from './sentry-dsn.js'

let scenario: DsnScenario

beforeAll(async () => {
  scenario = await startScenario()
  expect(Sentry.SDK_VERSION).toMatch(/^10\./)
  Sentry.init({ dsn: scenario.dsn, tracesSampleRate: 1, sendDefaultPii: true })
  const appClient = Sentry.getClient()
  expect(appClient).toBeDefined()
  expect(initSentry({ dsn: scenario.dsn, sentry: Sentry as never })).toBe(appClient)
  expect(Sentry.getClient()).toBe(appClient)
})

afterAll(async () => {
  await Sentry.close(2000)
  await scenario.close()
})

describe('initSentry after the app called Sentry.init (v10)', () => {
  it('no envelope item carries Authorization, a cookie, a provider key or prompt text', async () => {
    await expectCleanFailingRequest(scenario, Sentry, 'any')
  })
})
