/**
 * Source lines Sentry attaches to stack frames (contextLines integration, on by default) go through
 * the redaction: `initSentry()` initialising @sentry/node v11 itself.
 */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectScrubbedSourceContext, startCapture } from './sentry-context-capture.js'

let capture: Awaited<ReturnType<typeof startCapture>>

beforeAll(async () => {
  capture = await startCapture()
  expect(initSentry({ dsn: capture.dsn })).toBe(Sentry.getClient())
})

afterAll(async () => {
  await Sentry.close(2000)
  await capture.close()
})

describe('initSentry: stack frame source context (v11)', () => {
  it('a key and a Bearer token written near a throw reach Sentry redacted, plain lines unchanged', async () => {
    expectScrubbedSourceContext(await capture.capture(Sentry))
  })
})
