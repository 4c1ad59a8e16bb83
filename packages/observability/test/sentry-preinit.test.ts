/**
 * The app called `Sentry.init` itself (its own instrument.mjs with @sentry/node v11's defaults:
 * collect everything, spans streamed), then `initSentry()`: the real SDK against a local DSN.
 */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ANTHROPIC_KEY,
  type DsnScenario,
  expectCleanFailingRequest,
  PROMPT,
  startScenario,
} from './sentry-dsn.js'

let scenario: DsnScenario

beforeAll(async () => {
  scenario = await startScenario()
  Sentry.init({
    dsn: scenario.dsn,
    tracesSampleRate: 1,
    // The app's own hook runs after initSentry's span scrubbing and adds secrets back: the last
    // check on every envelope must still catch them.
    beforeSendSpan: (span) => ({
      ...span,
      attributes: {
        ...span.attributes,
        'app.debug': `auth ${ANTHROPIC_KEY}`,
        'gen_ai.prompt': PROMPT,
      },
    }),
  })
  const appClient = Sentry.getClient()
  expect(appClient).toBeDefined()
  // It does not initialise twice: the app's client is returned and stays the current one.
  expect(initSentry({ dsn: scenario.dsn })).toBe(appClient)
  expect(Sentry.getClient()).toBe(appClient)
})

afterAll(async () => {
  await Sentry.close(2000)
  await scenario.close()
})

describe('initSentry after the app called Sentry.init (v11)', () => {
  it('no envelope item (streamed spans included) carries Authorization, a cookie, a provider key or prompt text', async () => {
    await expectCleanFailingRequest(scenario, Sentry, 'streamed')
  })

  it("locks the app's client data collection down", () => {
    expect(Sentry.getClient()?.getDataCollectionOptions()).toMatchObject({
      cookies: false,
      userInfo: false,
      httpBodies: [],
      genAI: { inputs: false, outputs: false },
    })
  })
})
