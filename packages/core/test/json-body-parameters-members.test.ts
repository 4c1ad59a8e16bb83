/**
 * The JSON body's `Content-Type` charset is the parameter named exactly `charset` (a parameter
 * whose name ends in it, or `charset=` inside another parameter's quoted value, answered 415 for a
 * UTF-8 body); and the object-member cap (10 000 by default, all objects together) is an adapter
 * option, `maxJsonKeys`, and a `ctx.json({ maxKeys })` limit: a long chat history within the byte
 * limit had no way past it.
 */
import { isJsonContentType } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

describe('the charset parameter of a JSON content type', () => {
  it('is read only from the parameter named charset', () => {
    expect(isJsonContentType('application/json; xcharset=utf-16')).toBe(true)
    expect(isJsonContentType('application/json; profile="a;charset=latin1"; charset=utf-8')).toBe(
      true
    )
    expect(isJsonContentType('application/json; profile="x"; charset=utf-16')).toBe(false)
  })

  it('still refuses a charset other than UTF-8, in any case, quoted or not', () => {
    expect(isJsonContentType('application/json; charset=utf-16')).toBe(false)
    expect(isJsonContentType('application/json;CHARSET="UTF-8"')).toBe(true)
    expect(isJsonContentType('application/json; Charset = latin1')).toBe(false)
  })
})

describe('the object-member cap', () => {
  // 2 600 messages of 4 fields: 10 401 members in about 250 KB.
  const history = JSON.stringify({
    messages: Array.from({ length: 2600 }, (_, i) => ({
      id: `m${i}`,
      role: i % 2 === 0 ? 'user' : 'assistant',
      content: 'hello there',
      ts: i,
    })),
  })
  const request = (options?: { maxJsonKeys: number }) =>
    new TestContext({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: history,
      ...(options === undefined ? {} : { options }),
    })

  it('refuses more than 10 000 members by default, with a 400 naming the limit', async () => {
    const error = (await request()
      .json()
      .catch((e: unknown) => e)) as { status?: number; details?: unknown }
    expect(error.status).toBe(400)
    expect(error.details).toEqual({ maxKeys: 10_000 })
  })

  it('takes more with the adapter option maxJsonKeys', async () => {
    const parsed = (await request({ maxJsonKeys: 20_000 }).json()) as { messages: unknown[] }
    expect(parsed.messages).toHaveLength(2600)
  })

  it('takes more for one call with ctx.json({ maxKeys })', async () => {
    const parsed = (await request().json({ maxKeys: 20_000 })) as { messages: unknown[] }
    expect(parsed.messages).toHaveLength(2600)
  })

  it('refuses a maxJsonKeys that is not a positive integer, naming it', () => {
    expect(() => request({ maxJsonKeys: 0 })).toThrow(/maxJsonKeys/)
  })
})
