/**
 * `meterStream` calls `onDone(result)` exactly once however the stream ends, including when the
 * consumer closes it before its first read (`return()` on cleanup, a client gone before the first
 * chunk was forwarded, `throw()`): the provider stream was opened, so the request is billed, and
 * the report then carries the input estimate. Closing it early also closes the source's iterator;
 * a later `next()` is done at once.
 */
import { meterStream, type StreamUsageResult } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const EVENTS = [
  {
    type: 'message_start',
    message: { model: 'claude-haiku-4-5', usage: { input_tokens: 1000, output_tokens: 1 } },
  },
  { type: 'content_block_delta', delta: { type: 'text_delta', text: 'hello' } },
]

/** A source whose iterator records whether it was returned (closed). */
function source() {
  const state = { returned: 0, read: 0 }
  const iterable: AsyncIterable<Record<string, unknown>> = {
    [Symbol.asyncIterator]() {
      let i = 0
      return {
        async next() {
          state.read++
          const value = EVENTS[i++]
          return value === undefined ? { done: true, value: undefined } : { done: false, value }
        },
        async return() {
          state.returned++
          return { done: true, value: undefined }
        },
      }
    },
  }
  return { iterable, state }
}

const meter = (stream: AsyncIterable<Record<string, unknown>>, calls: StreamUsageResult[]) =>
  meterStream(stream, {
    api: 'anthropic',
    model: 'claude-haiku-4-5',
    inputTokens: 1000,
    onDone: (r) => calls.push(r),
  })

describe('meterStream closed before its first read', () => {
  it('return(): onDone once with the input estimate, the source closed, later reads done', async () => {
    const { iterable, state } = source()
    const calls: StreamUsageResult[] = []
    const metered = meter(iterable, calls)
    expect(await metered.return(undefined)).toEqual({ done: true, value: undefined })
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({
      complete: false,
      usage: { inputTokens: 1000, estimated: true },
    })
    expect(state.returned).toBe(1)
    expect(await metered.next()).toEqual({ done: true, value: undefined })
    await metered.return(undefined)
    expect(calls).toHaveLength(1)
    expect(state.read).toBe(0)
  })

  it('throw(): rejects with the error, onDone once', async () => {
    const { iterable, state } = source()
    const calls: StreamUsageResult[] = []
    const metered = meter(iterable, calls)
    const boom = new Error('client gone')
    await expect(metered.throw(boom)).rejects.toBe(boom)
    expect(calls).toHaveLength(1)
    expect(state.returned).toBe(1)
    expect(await metered.next()).toEqual({ done: true, value: undefined })
    expect(calls).toHaveLength(1)
  })

  it('a provider stream that is an async generator: return() before the first read reports once', async () => {
    async function* provider() {
      yield* EVENTS
    }
    const calls: StreamUsageResult[] = []
    await meter(provider(), calls).return(undefined)
    expect(calls).toHaveLength(1)
  })
})

describe('meterStream once started', () => {
  it('is still an async generator: iterates itself, tagged AsyncGenerator', () => {
    const metered = meter(source().iterable, [])
    expect(metered[Symbol.asyncIterator]()).toBe(metered)
    expect(Object.prototype.toString.call(metered)).toBe('[object AsyncGenerator]')
  })

  it('read to the end, then return(): onDone once with the final usage', async () => {
    const { iterable } = source()
    const calls: StreamUsageResult[] = []
    const metered = meter(iterable, calls)
    const seen: unknown[] = []
    for await (const e of metered) seen.push(e)
    await metered.return(undefined)
    expect(seen).toHaveLength(2)
    expect(calls).toHaveLength(1)
  })

  it('break after the first event: onDone once, the source closed', async () => {
    const { iterable, state } = source()
    const calls: StreamUsageResult[] = []
    for await (const _ of meter(iterable, calls)) break
    expect(calls).toHaveLength(1)
    expect(state.returned).toBe(1)
  })
})
