/**
 * An `AggregateError` given as a field of a line (`Promise.any`, Node's happy-eyeballs `connect`
 * failing once per address) is written with its inner `errors`, each as a `cause` is (type,
 * message, stack, own fields), redacted like the rest of the line; at most 10 are written (the rest
 * counted in `errorsOmitted`) and nested aggregates are followed only so deep. The same holds for
 * lines written straight to the stream and for lines going through winston's pipeline.
 */
import { Writable } from 'node:stream'
import { createLogger } from '@aikit/observability'
import { describe, expect, it } from 'vitest'
import winston from 'winston'

type Line = Record<string, unknown>

function sink() {
  const lines: Line[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l))
      cb()
    },
  })
  return { lines, stream }
}

/** Waits for the line batch (flushed at the end of the turn) and winston's pipeline. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20))

const KEY = 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij-XYZ'

function redisDown(): AggregateError {
  return new AggregateError(
    [
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:6379'), {
        code: 'ECONNREFUSED',
        address: '10.0.0.7',
      }),
      new TypeError(`connect ETIMEDOUT 10.0.0.8:6379 with ${KEY}`),
    ],
    'all redis nodes failed'
  )
}

describe('an AggregateError given as a field', () => {
  for (const [path, make] of [
    ['written straight to the stream', (stream: Writable) => createLogger({ stream })],
    [
      "through winston's pipeline",
      (stream: Writable) =>
        createLogger({ transports: [new winston.transports.Stream({ stream })] }),
    ],
  ] as const) {
    it(`writes its inner errors like a cause, redacted (${path})`, async () => {
      const { lines, stream } = sink()
      const logger = make(stream)
      logger.error('cache down', { err: redisDown() })
      await settle()
      const err = lines[0]?.err as Line
      expect(err).toMatchObject({ type: 'AggregateError', message: 'all redis nodes failed' })
      const inner = err.errors as Line[]
      expect(inner).toHaveLength(2)
      expect(inner[0]).toMatchObject({
        type: 'Error',
        message: 'connect ECONNREFUSED 10.0.0.7:6379',
        code: 'ECONNREFUSED',
        address: '10.0.0.7',
      })
      expect(inner[0]?.stack).toEqual(expect.stringContaining('ECONNREFUSED'))
      expect(inner[1]).toMatchObject({ type: 'TypeError' })
      expect(inner[1]?.message).toContain('connect ETIMEDOUT 10.0.0.8:6379')
      expect(err).not.toHaveProperty('errorsOmitted')
      expect(JSON.stringify(lines)).not.toContain(KEY)
    })
  }

  it('writes the first 10 inner errors and counts the rest', async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    const errors = Array.from({ length: 25 }, (_, i) => new Error(`address ${i} refused`))
    logger.error('all failed', { err: new AggregateError(errors, 'all failed') })
    await settle()
    const err = lines[0]?.err as Line
    const inner = err.errors as Line[]
    expect(inner.map((e) => e.message)).toEqual(errors.slice(0, 10).map((e) => e.message))
    expect(err.errorsOmitted).toBe(15)
  })

  it('follows nested aggregates (and a cycle) only so far', async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    const outer = new AggregateError([], 'outer')
    let current = outer
    for (let i = 0; i < 8; i++) {
      const next = new AggregateError([], `level ${i}`)
      ;(current.errors as unknown[]).push(next)
      current = next
    }
    // A cycle back to the top must not loop.
    ;(current.errors as unknown[]).push(outer)
    logger.error('nested', { err: outer })
    await settle()
    let depth = 0
    let e: unknown = lines[0]?.err
    while (typeof e === 'object' && e !== null) {
      depth++
      e = ((e as Line).errors as unknown[] | undefined)?.[0]
    }
    expect(depth).toBeGreaterThan(2)
    expect(depth).toBeLessThan(9)
    // The deepest one written is a string, as a cause past the depth limit is.
    expect(typeof e).toBe('string')
  })

  it("keeps an error's own enumerable `errors` field as it was", async () => {
    const { lines, stream } = sink()
    const logger = createLogger({ stream })
    const err = Object.assign(new Error('invalid body'), {
      errors: [{ path: 'name', message: 'required' }],
    })
    logger.error('bad request', { err })
    await settle()
    const written = lines[0]?.err as Line | undefined
    expect(written?.errors).toEqual([{ path: 'name', message: 'required' }])
    expect(written).not.toHaveProperty('errorsOmitted')
  })
})
