/**
 * `sourceContext: 'drop'`: no source line of the app leaves the process, whatever it holds (the
 * real @sentry/node v11 against a local DSN endpoint); the option is validated.
 */
import { initSentry } from '@aikit/observability/sentry'
import { redact } from '@aikit/security'
import * as Sentry from '@sentry/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scrubEvent } from '../src/sentry/scrub.js'
import { FIXTURE_LINES, FIXTURE_SECRETS, startCapture } from './sentry-context-capture.js'

let capture: Awaited<ReturnType<typeof startCapture>>

beforeAll(async () => {
  capture = await startCapture()
  expect(initSentry({ dsn: capture.dsn, sourceContext: 'drop' })).toBe(Sentry.getClient())
})

afterAll(async () => {
  await Sentry.close(2000)
  await capture.close()
})

const SOURCE_FIELDS = ['pre_context', 'context_line', 'post_context']

describe("initSentry({ sourceContext: 'drop' })", () => {
  it('sends stack frames (file, line) without any line of source', async () => {
    const { raw, frames, frame } = await capture.capture(Sentry)
    expect(frame.lineno).toBeGreaterThan(0)
    expect(frames.length).toBeGreaterThan(1)
    for (const f of frames) for (const field of SOURCE_FIELDS) expect(f).not.toHaveProperty(field)
    for (const secret of FIXTURE_SECRETS) expect(raw).not.toContain(secret)
    expect(raw).not.toContain('a plain line with nothing secret in it')
  })

  it('drops them from thread stack traces too, and leaves frames without source context as they are', () => {
    const bare = { filename: 'node:internal/process/task_queues', lineno: 95 }
    const withSource = {
      filename: '/app/provider.js',
      lineno: 8,
      pre_context: FIXTURE_LINES.slice(4, 7),
      context_line: FIXTURE_LINES[7],
      post_context: FIXTURE_LINES.slice(8, 10),
    }
    const event = { threads: { values: [{ id: 1, stacktrace: { frames: [bare, withSource] } }] } }
    const policy = {
      redact,
      allowRequestBodies: false,
      allowGenAiContent: false,
      sourceContext: 'drop' as const,
    }
    const frames = scrubEvent(event, policy).threads.values[0]!.stacktrace.frames
    expect(frames).toEqual([bare, { filename: '/app/provider.js', lineno: 8 }])
    expect(frames[0]).toBe(bare)
    // The SDK's event is not mutated.
    expect(event.threads.values[0]!.stacktrace.frames[1]).toBe(withSource)
    expect(withSource.pre_context).toHaveLength(3)
  })

  it.each([['keep'], [false], [null]])(
    'rejects sourceContext %j naming the field',
    (sourceContext) => {
      expect(() => initSentry({ dsn: undefined, sourceContext: sourceContext as never })).toThrow(
        expect.objectContaining({ field: 'sourceContext' })
      )
    }
  )
})
