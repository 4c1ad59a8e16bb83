/**
 * Guarantees that `createLogger()` reads `LOG_LEVEL` as `aikitEnv.LOG_LEVEL` (core's `logLevel()`)
 * and `aikit doctor` read it: trimmed and in any case (`INFO`, `Warn`, ` info `). A value the
 * environment check and the pre-launch check both accept never stops the app at start-up. An
 * empty variable is unset ('info'); a value aikitEnv refuses is still refused, naming `LOG_LEVEL`.
 */
import { Writable } from 'node:stream'
import { aikitEnv, defineEnv } from '@aikit/core/env'
import { createLogger } from '@aikit/observability'
import { describe, expect, it } from 'vitest'

const sink = () => new Writable({ write: (_c, _e, cb) => cb() })

function withLogLevel<T>(value: string, f: () => T): T {
  const before = process.env.LOG_LEVEL
  process.env.LOG_LEVEL = value
  try {
    return f()
  } finally {
    if (before === undefined) delete process.env.LOG_LEVEL
    else process.env.LOG_LEVEL = before
  }
}

const envLevel = (value: string) =>
  defineEnv({ LOG_LEVEL: aikitEnv.LOG_LEVEL }, { env: { LOG_LEVEL: value } }).LOG_LEVEL

describe('createLogger reads LOG_LEVEL as aikitEnv does', () => {
  for (const value of ['INFO', 'Warn', ' info ', 'debug\n']) {
    it(`LOG_LEVEL=${JSON.stringify(value)}: the level aikitEnv reads`, () => {
      const expected = value.trim().toLowerCase()
      expect(envLevel(value)).toBe(expected)
      const logger = withLogLevel(value, () => createLogger({ stream: sink() }))
      expect(logger.level).toBe(expected)
    })
  }

  it("an empty LOG_LEVEL is unset: 'info'", () => {
    expect(withLogLevel('', () => createLogger({ stream: sink() })).level).toBe('info')
  })

  for (const value of ['loud', '   ']) {
    it(`LOG_LEVEL=${JSON.stringify(value)}: refused, as aikitEnv refuses it`, () => {
      expect(() => envLevel(value)).toThrow()
      expect(() => withLogLevel(value, () => createLogger({ stream: sink() }))).toThrow(/LOG_LEVEL/)
    })
  }
})
