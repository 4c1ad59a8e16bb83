/**
 * Errors whose message is not an own property of the error:
 * - a `DOMException` (an `AbortError`, a `TimeoutError` from `AbortSignal.timeout`) keeps its
 *   name and message in internal slots read by prototype getters. A plain object built on its
 *   prototype is no DOMException: reading its `message`, or inspecting it, throws, so a logger
 *   handed the redacted copy crashed. The copy is a real DOMException;
 * - an error class that computes its message in a getter: loggers read `err.message` (pino's
 *   error serializer does) and got the secret. The copy holds the redacted message as its own.
 */
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { redact } from '../src/redact.js'

const KEY = `sk-ant-api03-${'a1B2c3D4e5'.repeat(9)}xyzAA`

describe('redact: errors whose message lives on the prototype', () => {
  it('returns a DOMException a logger can read and inspect, its message redacted', () => {
    const err = new DOMException(`request with ${KEY} aborted`, 'AbortError')
    const out = redact({ err }) as { err: DOMException }
    expect(out.err).toBeInstanceOf(DOMException)
    expect(out.err.name).toBe('AbortError')
    expect(out.err.message).toBe('request with sk-ant-[redacted] aborted')
    expect(out.err.code).toBe(DOMException.ABORT_ERR)
    const printed = inspect(out, { depth: 4 })
    expect(printed).toContain('sk-ant-[redacted]')
    expect(printed).not.toContain('a1B2c3D4e5')
    expect(err.message).toBe(`request with ${KEY} aborted`)
  })

  it('returns a DOMException without a secret as the same object', () => {
    const err = new DOMException('The operation was aborted.', 'AbortError')
    expect(redact(err)).toBe(err)
  })

  it('redacts a message computed by a getter, as loggers read err.message', () => {
    // The key is held out of sight of the own properties (a WeakMap, as a private field would).
    const keys = new WeakMap<object, string>()
    class UpstreamError extends Error {
      constructor(key: string) {
        super()
        keys.set(this, key)
      }
      override get message(): string {
        return `upstream refused ${keys.get(this)}`
      }
    }
    const out = redact({ err: new UpstreamError(KEY) }) as { err: UpstreamError }
    expect(out.err).toBeInstanceOf(UpstreamError)
    expect(out.err.message).toBe('upstream refused sk-ant-[redacted]')
    expect(inspect(out, { depth: 4 })).not.toContain('a1B2c3D4e5')
  })
})
