/**
 * Source lines Sentry attaches to stack frames go through the redaction when the app called
 * `Sentry.init` itself (@sentry/node v11 defaults), then `initSentry()`: the guard path.
 */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectScrubbedSourceContext, startCapture } from './sentry-context-capture.js'

let capture: Awaited<ReturnType<typeof startCapture>>

beforeAll(async () => {
  capture = await startCapture()
  Sentry.init({ dsn: capture.dsn })
  const appClient = Sentry.getClient()
  expect(appClient).toBeDefined()
  expect(initSentry({ dsn: capture.dsn })).toBe(appClient)
})

afterAll(async () => {
  await Sentry.close(2000)
  await capture.close()
})

describe('initSentry after the app called Sentry.init: stack frame source context (v11)', () => {
  it('a key and a Bearer token written near a throw reach Sentry redacted, plain lines unchanged', async () => {
    expectScrubbedSourceContext(await capture.capture(Sentry))
  })
})
