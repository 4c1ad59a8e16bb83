import { describe, expect, it } from 'vitest'
import {
  assertJsonContentType,
  isJsonContentType,
  jsonDepthExceeds,
  parseJsonBody,
} from '../src/json-body.js'
import { TestContext } from './test-context.js'

const enc = new TextEncoder()
const bytes = (text: string): Uint8Array => enc.encode(text)

function errorOf(fn: () => unknown): { code?: string; status?: number; message?: string } {
  try {
    fn()
  } catch (e) {
    return e as { code?: string; status?: number }
  }
  throw new Error('expected a throw')
}

describe('JSON content type', () => {
  it.each([
    ['application/json', true],
    ['Application/JSON; charset=UTF-8', true],
    ['application/json; charset="utf-8"', true],
    ['application/json;charset=utf8', true],
    ['application/problem+json', true],
    ['application/json; charset=utf-16', false],
    ['application/json; charset=iso-8859-1', false],
    ['text/plain', false],
    ['application/x-www-form-urlencoded', false],
    ['multipart/form-data; boundary=x', false],
    ['text/json', false],
    ['', false],
  ])('%s → %s', (type, ok) => {
    expect(isJsonContentType(type)).toBe(ok)
    if (!ok) expect(errorOf(() => assertJsonContentType(type))).toMatchObject({ status: 415 })
  })

  it('a missing content type is 415', () => {
    expect(errorOf(() => assertJsonContentType(undefined))).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      status: 415,
    })
  })
})

describe('parseJsonBody hardening', () => {
  it('parses ordinary JSON, with or without a UTF-8 BOM', () => {
    expect(parseJsonBody(bytes('{"a":[1,2,{"b":"é"}]}'), 64)).toEqual({ a: [1, 2, { b: 'é' }] })
    expect(parseJsonBody(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('[1]')]), 64)).toEqual([1])
  })

  it('refuses invalid UTF-8 (overlong, lone continuation, surrogate halves) with 400', () => {
    for (const bad of [
      [0x22, 0xc0, 0xaf, 0x22],
      [0x22, 0x80, 0x22],
      [0x22, 0xed, 0xa0, 0x80, 0x22],
    ]) {
      expect(errorOf(() => parseJsonBody(new Uint8Array(bad), 64))).toMatchObject({
        code: 'INVALID_REQUEST',
        status: 400,
        message: 'Request body is not valid UTF-8',
      })
    }
  })

  it('refuses 100 000 levels of nesting with 400, not a RangeError', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000)
    expect(errorOf(() => parseJsonBody(bytes(deep), 64))).toMatchObject({
      code: 'INVALID_REQUEST',
      status: 400,
    })
    expect(jsonDepthExceeds('{"a":"[[[[[[[["}', 2)).toBe(false)
    expect(jsonDepthExceeds('[[[', 2)).toBe(true)
  })

  it('refuses more object members than maxKeys, counting every object', () => {
    const members = (n: number): string =>
      `[{${Array.from({ length: n }, (_, i) => `"k${i}":1`).join(',')}},{"x":{"y":":"}}]`
    expect(parseJsonBody(bytes(members(8)), 64, { maxKeys: 10 })).toBeInstanceOf(Array)
    expect(errorOf(() => parseJsonBody(bytes(members(9)), 64, { maxKeys: 10 }))).toMatchObject({
      code: 'INVALID_REQUEST',
      status: 400,
    })
  })

  it.each([
    '{"__proto__":{"isAdmin":true}}',
    '{"a":[{"b":{"__proto__":{"isAdmin":true}}}]}',
    '{"constructor":{"prototype":{"isAdmin":true}}}',
    '{"\\u005f_proto__":{"isAdmin":true}}',
    '{"constr\\u0075ctor":{"prot\\u006ftype":{"isAdmin":true}}}',
  ])('refuses prototype poisoning %s with 400', (text) => {
    expect(errorOf(() => parseJsonBody(bytes(text), 64))).toMatchObject({
      code: 'INVALID_REQUEST',
      status: 400,
    })
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined()
  })

  it('protoAction remove strips the keys and keeps the rest', () => {
    const out = parseJsonBody(
      bytes('{"ok":1,"__proto__":{"isAdmin":true},"constructor":{"prototype":{}}}'),
      64,
      { protoAction: 'remove' }
    ) as Record<string, unknown>
    expect(Object.keys(out)).toEqual(['ok'])
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
  })

  it('allows a harmless constructor member and the words in values', () => {
    expect(
      parseJsonBody(bytes('{"constructor":"Foo","text":"__proto__ and constructor.prototype"}'), 64)
    ).toEqual({ constructor: 'Foo', text: '__proto__ and constructor.prototype' })
  })

  it('empty and malformed bodies are 400 without the parser message', () => {
    expect(errorOf(() => parseJsonBody(bytes('  '), 64))).toMatchObject({
      message: 'Request body is empty',
    })
    const e = errorOf(() => parseJsonBody(bytes('{"a":'), 64))
    expect(e).toMatchObject({ status: 400, message: 'Request body is not valid JSON' })
  })
})

describe('ctx.json() through a context', () => {
  it('answers 415 for a JSON body sent as text/plain (simple-request CSRF trick)', async () => {
    const ctx = new TestContext({
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"a":1}',
    })
    await expect(ctx.json()).rejects.toMatchObject({ status: 415 })
  })

  it('answers 415 for charset=utf-16 and 400 for __proto__', async () => {
    const utf16 = new TestContext({
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-16' },
      body: '{}',
    })
    await expect(utf16.json()).rejects.toMatchObject({ status: 415 })
    const poisoned = new TestContext({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"__proto__":{"isAdmin":true}}',
    })
    await expect(poisoned.json()).rejects.toMatchObject({ code: 'INVALID_REQUEST', status: 400 })
  })
})

describe('ctx.json() default member limit', () => {
  it('refuses a body with more than 10 000 object members', async () => {
    const wide = `{${Array.from({ length: 10_001 }, (_, i) => `"k${i}":0`).join(',')}}`
    const ctx = new TestContext({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: wide,
    })
    await expect(ctx.json()).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      details: { maxKeys: 10_000 },
    })
  })
})
