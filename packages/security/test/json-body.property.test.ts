/**
 * Property tests for the hardened JSON body parser of `ctx.json()` (@aikit/core json-body): any
 * bytes either parse to what `JSON.parse` gives, or fail with a 400 `INVALID_REQUEST` in the kit's
 * JSON error shape. Never another exception (no RangeError from deep nesting, no TypeError), and
 * never a hang (deep or wide inputs are refused by the linear pre-scan).
 */
import { withAikit } from '@aikit/adapters/next'
import { errorBody, isAikitError } from '@aikit/core'
import { isJsonContentType, parseJsonBody } from '@aikit/core/adapter'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

const enc = new TextEncoder()
const MAX_DEPTH = 64

/** Parses, returning the value or the error body; any other throw fails the property. */
function outcome(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false; body: unknown } {
  try {
    return { ok: true, value: parseJsonBody(bytes, MAX_DEPTH, { maxKeys: 500 }) }
  } catch (error) {
    expect(isAikitError(error)).toBe(true)
    const body = errorBody(error)
    expect(body.error.code).toBe('INVALID_REQUEST')
    expect((error as { status: number }).status).toBe(400)
    expect(Object.keys(body.error).sort()).toEqual(
      'details' in body.error ? ['code', 'details', 'message'] : ['code', 'message']
    )
    return { ok: false, body }
  }
}

/** The keys that the parser refuses (prototype poisoning). */
function hasForbiddenKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (Array.isArray(value)) return value.some(hasForbiddenKey)
  const obj = value as Record<string, unknown>
  if (Object.hasOwn(obj, '__proto__')) return true
  const ctor = Object.hasOwn(obj, 'constructor') ? obj.constructor : undefined
  if (typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) return true
  return Object.values(obj).some(hasForbiddenKey)
}

function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  const children = Array.isArray(value) ? value : Object.values(value)
  return 1 + children.reduce<number>((m, c) => Math.max(m, depthOf(c)), 0)
}

describe('parseJsonBody properties', () => {
  it('any bytes: a value or a 400 INVALID_REQUEST, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        outcome(bytes)
      }),
      { numRuns: 2000 }
    )
  })

  it('valid JSON text: exactly JSON.parse, unless too deep, too wide or poisoned', () => {
    const key = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom('__proto__', 'constructor', 'prototype')
    )
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 })
      ),
    })).node
    fc.assert(
      fc.property(value, (v) => {
        const text = JSON.stringify(v)
        const parsed = JSON.parse(text)
        const result = outcome(enc.encode(text))
        const keys = (text.match(/":/g) ?? []).length
        if (result.ok) expect(result.value).toEqual(parsed)
        else expect(hasForbiddenKey(parsed) || depthOf(parsed) > MAX_DEPTH || keys > 500).toBe(true)
      }),
      { numRuns: 1000 }
    )
  })

  it('JSON text with random edits (insertions, deletions, flips) never escapes the error shape', () => {
    const edit = fc.record({
      at: fc.nat(),
      op: fc.constantFrom('insert', 'delete', 'replace'),
      ch: fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }),
    })
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), fc.array(edit, { maxLength: 6 }), (json, edits) => {
        let text = json
        for (const e of edits) {
          const at = text.length === 0 ? 0 : e.at % text.length
          if (e.op === 'insert') text = text.slice(0, at) + e.ch + text.slice(at)
          else if (e.op === 'delete') text = text.slice(0, at) + text.slice(at + 1)
          else text = text.slice(0, at) + e.ch + text.slice(at + 1)
        }
        outcome(enc.encode(text))
      }),
      { numRuns: 800 }
    )
  })

  it('nesting up to 200 000 levels: parsed within the limit, 400 beyond, never a stack overflow', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200_000 }),
        fc.constantFrom('[', '{"a":'),
        fc.boolean(),
        (depth, open, closed) => {
          const close = open === '[' ? ']' : '}'
          const text =
            open.repeat(depth) + (open === '[' ? '' : '1') + (closed ? close.repeat(depth) : '')
          const result = outcome(enc.encode(text))
          expect(result.ok).toBe(closed && depth <= MAX_DEPTH)
        }
      ),
      { numRuns: 200 }
    )
  })

  it('isJsonContentType never throws on any header value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (type) => {
        expect(typeof isJsonContentType(type)).toBe('boolean')
      }),
      { numRuns: 2000 }
    )
  })
})

describe('ctx.json() through the Next adapter, any body', () => {
  const route = withAikit(
    async (req: Request) => {
      void req
      return Response.json({ ok: true })
    },
    async (ctx, next) => {
      await ctx.json()
      await next()
    }
  )

  it('answers 200 or a JSON 400/415 error, never 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 256 }),
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'text/plain',
          'application/json; charset=utf-16'
        ),
        async (bytes, type) => {
          const res = await route(
            new Request('http://app.test/api', {
              method: 'POST',
              headers: { 'content-type': type },
              body: bytes,
            }),
            {}
          )
          expect([200, 400, 415]).toContain(res.status)
          const body = await res.json()
          if (res.status !== 200) expect(typeof body.error.code).toBe('string')
          if (res.status === 415) expect(isJsonContentType(type)).toBe(false)
        }
      ),
      { numRuns: 300 }
    )
  })
})
