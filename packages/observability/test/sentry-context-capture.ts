/**
 * Throws from test/sentry-context-fixture.ts (a fake Anthropic key and a Bearer token written on
 * the lines around the throw), captures it with the real @sentry/node (v11 or v10) against a local
 * DSN endpoint, and returns the event as sent.
 */
import { readFileSync } from 'node:fs'
import { redact } from '@aikit/security'
import { expect } from 'vitest'
import { callProvider } from './sentry-context-fixture.js'
import { startDsn } from './sentry-dsn.js'

const FIXTURE = 'sentry-context-fixture.ts'
/** The fixture's source lines (line n at index n - 1). */
export const FIXTURE_LINES = readFileSync(new URL(`./${FIXTURE}`, import.meta.url), 'utf8').split(
  '\n'
)
const lineOf = (needle: string): number => FIXTURE_LINES.findIndex((l) => l.includes(needle)) + 1
const KEY_LINE = lineOf('sk-ant-')
const BEARER_LINE = lineOf('Bearer ')
const THROW_LINE = lineOf('throw new Error')
/** The secrets, read from the fixture (so this file's own source lines never hold them). */
const ANTHROPIC_KEY = /sk-ant-[\w-]+/.exec(FIXTURE_LINES[KEY_LINE - 1]!)![0]
const BEARER_TOKEN = /Bearer (\w+)/.exec(FIXTURE_LINES[BEARER_LINE - 1]!)![1]!
export const FIXTURE_SECRETS = [ANTHROPIC_KEY, BEARER_TOKEN, ANTHROPIC_KEY.slice(13, 30)]

/** A stack frame as sent. */
export interface SentFrame {
  filename?: string
  lineno?: number
  pre_context?: string[]
  context_line?: string
  post_context?: string[]
}

export interface CapturedError {
  /** The whole envelope item of the error event, as sent. */
  raw: string
  /** Every frame of the event's exceptions. */
  frames: SentFrame[]
  /** The frame of the throw in the fixture. */
  frame: SentFrame
}

/** The parts of @sentry/node (v10 or v11) used here. */
export interface CaptureApi {
  captureException(error: unknown): string
  flush(timeout?: number): PromiseLike<boolean>
}

/** A local DSN endpoint to pass to `Sentry.init` / `initSentry` before calling `capture`. */
export async function startCapture(): Promise<{
  dsn: string
  capture(sentry: CaptureApi): Promise<CapturedError>
  close(): Promise<void>
}> {
  const dsn = await startDsn()
  return {
    dsn: dsn.dsn,
    close: dsn.close,
    async capture(sentry) {
      try {
        callProvider(true)
      } catch (error) {
        sentry.captureException(error)
      }
      await sentry.flush(5000)
      const item = dsn.items().find((i) => i.type === 'event')
      expect(item, 'the error event reached the DSN').toBeDefined()
      const event = item!.payload as {
        exception?: { values?: { stacktrace?: { frames?: SentFrame[] } }[] }
      }
      const frames = (event.exception?.values ?? []).flatMap((v) => v.stacktrace?.frames ?? [])
      const frame = frames.find((f) => f.filename?.endsWith(FIXTURE) === true)
      expect(frame?.lineno, 'the frame of the throw in the fixture').toBe(THROW_LINE)
      return { raw: item!.raw, frames, frame: frame! }
    },
  }
}

/**
 * The frame's source context is the fixture's lines, in order and complete, except that the lines
 * of the key and the token are as the default redactor of `@aikit/security` gives them (censored:
 * its exact marker text is that package's business); and no secret is anywhere in the event.
 */
export function expectScrubbedSourceContext({ raw, frame }: CapturedError): void {
  const pre = frame.pre_context ?? []
  const post = frame.post_context ?? []
  const first = THROW_LINE - pre.length
  // Not vacuous: both secret lines are inside the context Sentry sent.
  expect(first).toBeLessThanOrEqual(KEY_LINE)
  expect(THROW_LINE + post.length).toBeGreaterThanOrEqual(BEARER_LINE)
  const expected = FIXTURE_LINES.slice(first - 1, THROW_LINE + post.length).map((line, i) => {
    if (first + i !== KEY_LINE && first + i !== BEARER_LINE) return line
    const censored = redact(line) as string
    expect(censored).toContain('[redacted]')
    return censored
  })
  expect([...pre, frame.context_line, ...post]).toEqual(expected)
  // A plain line arrives unchanged.
  expect(pre).toContain("  const plain = 'a plain line with nothing secret in it'")
  expect(frame.context_line).toBe(FIXTURE_LINES[THROW_LINE - 1])
  for (const secret of FIXTURE_SECRETS) expect(raw).not.toContain(secret)
}
