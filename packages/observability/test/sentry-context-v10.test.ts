/**
 * Source lines Sentry attaches to stack frames go through the redaction: `initSentry()`
 * initialising @sentry/node v10 itself.
 */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node-v10'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectScrubbedSourceContext, startCapture } from './sentry-context-capture.js'

let capture: Awaited<ReturnType<typeof startCapture>>

beforeAll(async () => {
  capture = await startCapture()
  expect(Sentry.SDK_VERSION).toMatch(/^10\./)
  expect(initSentry({ dsn: capture.dsn, sentry: Sentry as never })).toBe(Sentry.getClient())
})

afterAll(async () => {
  await Sentry.close(2000)
  await capture.close()
})

describe('initSentry: stack frame source context (v10)', () => {
  it('a key and a Bearer token written near a throw reach Sentry redacted, plain lines unchanged', async () => {
    expectScrubbedSourceContext(await capture.capture(Sentry))
  })
})
