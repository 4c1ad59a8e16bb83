import { BlockList, isIP } from 'node:net'
import {
  AikitError,
  errorBody,
  errorStatus,
  InvalidOptionsError,
  InvalidRequestError,
  isAikitError,
  UnsupportedMediaTypeError,
} from '@aikit/core'
import {
  combineHeader,
  createIpResolver,
  isJsonContentType,
  mergeVary,
  normalizeIp,
  parseJsonBody,
  splitCookies,
} from '@aikit/core/adapter'
import {
  adversarialBody,
  contentType,
  hop,
  JSON_TYPES,
  socketPeer,
  UTF8_CHARSETS,
  xff,
} from '@aikit/testing/fuzz'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assertJsonContentType } from '../src/json-body.js'

const enc = new TextEncoder()

// ---------------------------------------------------------------------------------------------
// Oracles shared by the properties
// ---------------------------------------------------------------------------------------------

/** Asserts the kit's JSON error shape: `{ error: { code, message, details? } }` and nothing else. */
function expectErrorShape(body: unknown): void {
  expect(typeof body).toBe('object')
  expect(body).not.toBeNull()
  expect(Object.keys(body as object)).toEqual(['error'])
  const error = (body as { error: Record<string, unknown> }).error
  expect(typeof error.code).toBe('string')
  expect(error.code).toMatch(/^[A-Z][A-Z_]*$/)
  expect(typeof error.message).toBe('string')
  for (const key of Object.keys(error)) expect(['code', 'message', 'details']).toContain(key)
}

/** Prototype keys JSON.parse can create as own keys, which the reader must refuse or strip. */
function hasForbiddenKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (Array.isArray(value)) return value.some(hasForbiddenKey)
  const obj = value as Record<string, unknown>
  if (Object.hasOwn(obj, '__proto__')) return true
  const ctor = Object.hasOwn(obj, 'constructor') ? obj.constructor : undefined
  if (typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) return true
  return Object.values(obj).some(hasForbiddenKey)
}

/** Nesting depth as the reader counts it: `1` is `[]` or `{}`, `2` is `[[]]`. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  const children = Array.isArray(value) ? value : Object.values(value)
  return 1 + children.reduce<number>((m, c) => Math.max(m, depthOf(c)), 0)
}

/** Number of object members in the whole value. */
function membersOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  if (Array.isArray(value)) return value.reduce<number>((n, c) => n + membersOf(c), 0)
  const values = Object.values(value)
  return values.length + values.reduce<number>((n, c) => n + membersOf(c), 0)
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: AikitError }

/** Runs the reader: a value, or a 400 INVALID_REQUEST in the error shape. Anything else fails. */
function read(bytes: Uint8Array, maxDepth: number, maxKeys = 10_000, remove = false): Outcome {
  const protoBefore = Object.getOwnPropertyNames(Object.prototype).length
  try {
    const value = parseJsonBody(bytes, maxDepth, {
      maxKeys,
      protoAction: remove ? 'remove' : 'error',
    })
    return { ok: true, value }
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError)
    const e = error as AikitError
    expect(e.status).toBe(400)
    expect(e.code).toBe('INVALID_REQUEST')
    expectErrorShape(errorBody(e))
    return { ok: false, error: e }
  } finally {
    // Whatever the input, nothing reached Object.prototype.
    expect(Object.getOwnPropertyNames(Object.prototype).length).toBe(protoBefore)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/** A JSON value tree whose depth and width we control, with proto-ish keys now and then. */
const key = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype') }
)
const tree = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', maxDepth: 6 },
    fc.jsonValue({ maxDepth: 0 }),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(key, tie('node'), { maxKeys: 4 })
  ),
})).node

// ---------------------------------------------------------------------------------------------
// JSON body reader
// ---------------------------------------------------------------------------------------------

describe('JSON body reader, fuzzed', () => {
  it('any adversarial bytes: exactly JSON.parse of the UTF-8 text, or a 400 in the error shape', () => {
    const strict = new TextDecoder('utf-8', { fatal: true })
    fc.assert(
      fc.property(adversarialBody, fc.integer({ min: 1, max: 80 }), (bytes, maxDepth) => {
        const result = read(bytes, maxDepth)
        if (!result.ok) return
        // Only valid UTF-8 parses (a UTF-8 BOM is stripped, as body-parser does).
        const text = strict.decode(bytes)
        expect(result.value).toEqual(JSON.parse(text))
        expect(hasForbiddenKey(result.value)).toBe(false)
        expect(depthOf(result.value)).toBeLessThanOrEqual(maxDepth)
      }),
      { numRuns: 1500 }
    )
  })

  it('valid JSON: accepted exactly when within depth, member count and without proto keys', () => {
    fc.assert(
      fc.property(
        tree,
        fc.integer({ min: 0, max: 70 }),
        fc.integer({ min: 1, max: 72 }),
        fc.integer({ min: 1, max: 40 }),
        (inner, wrap, maxDepth, maxKeys) => {
          let value: unknown = inner
          for (let i = 0; i < wrap; i++) value = i % 2 === 0 ? [value] : { w: value }
          const text = JSON.stringify(value) ?? 'null'
          const parsed: unknown = JSON.parse(text)
          const expectOk =
            depthOf(parsed) <= maxDepth && membersOf(parsed) <= maxKeys && !hasForbiddenKey(parsed)
          const result = read(enc.encode(text), maxDepth, maxKeys)
          expect(result.ok).toBe(expectOk)
          if (result.ok) expect(result.value).toEqual(parsed)
        }
      ),
      { numRuns: 800 }
    )
  })

  it("protoAction 'remove': never returns a proto key, never pollutes, keeps everything else", () => {
    fc.assert(
      fc.property(tree, (value) => {
        const text = JSON.stringify(value) ?? 'null'
        const result = read(enc.encode(text), 64, 10_000, true)
        expect(result.ok).toBe(true)
        if (result.ok) expect(hasForbiddenKey(result.value)).toBe(false)
      }),
      { numRuns: 500 }
    )
  })

  it('escaped spellings of __proto__ / constructor.prototype are refused like plain ones', () => {
    const spell = (word: string, mask: number[]): string =>
      [...word]
        .map((c, i) =>
          mask[i % mask.length]! % 2 === 1
            ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
            : c
        )
        .join('')
    fc.assert(
      fc.property(
        fc.array(fc.nat(3), { minLength: 1, maxLength: 9 }),
        fc.constantFrom('proto', 'ctor'),
        fc.json({ maxDepth: 2 }),
        (mask, kind, filler) => {
          const poison =
            kind === 'proto'
              ? `{"${spell('__proto__', mask)}":{"polluted":1}}`
              : `{"${spell('constructor', mask)}":{"${spell('prototype', mask)}":{"polluted":1}}}`
          const text = `{"filler":${filler},"x":[${poison}]}`
          const result = read(enc.encode(text), 64)
          expect(result.ok).toBe(false)
        }
      ),
      { numRuns: 300 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Content-Type
// ---------------------------------------------------------------------------------------------

describe('Content-Type check, fuzzed', () => {
  it('accepts JSON media types in UTF-8 only; refuses the rest with 415 in the error shape', () => {
    fc.assert(
      fc.property(contentType, (ct) => {
        const expected =
          JSON_TYPES.includes(ct.media) &&
          (ct.charset === undefined || UTF8_CHARSETS.includes(ct.charset))
        expect(isJsonContentType(ct.header)).toBe(expected)
        try {
          assertJsonContentType(ct.header)
          expect(expected).toBe(true)
        } catch (error) {
          expect(expected).toBe(false)
          expect(error).toBeInstanceOf(UnsupportedMediaTypeError)
          expect((error as AikitError).status).toBe(415)
          expectErrorShape(errorBody(error))
        }
      }),
      { numRuns: 1000 }
    )
  })

  it('never throws anything but a 415 on arbitrary header values', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: 'binary', maxLength: 120 })), (value) => {
        const v = value ?? undefined
        try {
          assertJsonContentType(v)
          expect(isJsonContentType(v)).toBe(true)
        } catch (error) {
          expect(error).toBeInstanceOf(UnsupportedMediaTypeError)
        }
      }),
      { numRuns: 600 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Client IP resolution (trustProxy)
// ---------------------------------------------------------------------------------------------

/** A CIDR list entry: named ranges, CIDRs (valid or not), plain IPs, junk. */
const cidrEntry = fc.oneof(
  fc.constantFrom('loopback', 'linklocal', 'uniquelocal'),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 40 })).map(([ip, bits]) => `${ip}/${bits}`),
  fc
    .tuple(
      fc.constantFrom('2001:db8::', 'fe80::', 'fc00::', '::1'),
      fc.integer({ min: 8, max: 140 })
    )
    .map(([ip, bits]) => `${ip}/${bits}`),
  fc.ipV4(),
  fc.constantFrom('::1', '2001:db8::1', '10.0.0.0/8', 'nope', '', '1.2.3.4/x', '/8', '*')
)

const NAMED: Record<string, [string, number][]> = {
  loopback: [
    ['127.0.0.0', 8],
    ['::1', 128],
  ],
  linklocal: [
    ['169.254.0.0', 16],
    ['fe80::', 10],
  ],
  uniquelocal: [
    ['10.0.0.0', 8],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['fc00::', 7],
  ],
}

/**
 * An independent matcher for a CIDR list, on node:net's BlockList (one per family, as the kit never
 * matches an IPv4 address against an IPv6 range), or undefined when the list is invalid.
 */
function referenceMatcher(list: readonly string[]): ((ip: string) => boolean) | undefined {
  const v4 = new BlockList()
  const v6 = new BlockList()
  for (const entry of list) {
    const ranges: [string, number][] = []
    if (NAMED[entry]) ranges.push(...NAMED[entry])
    else {
      const slash = entry.indexOf('/')
      const addr = slash === -1 ? entry : entry.slice(0, slash)
      const family = isIP(addr)
      if (family === 0) return undefined
      const bitsText = slash === -1 ? String(family === 4 ? 32 : 128) : entry.slice(slash + 1)
      if (!/^\d+$/.test(bitsText)) return undefined
      const bits = Number(bitsText)
      if (bits > (family === 4 ? 32 : 128)) return undefined
      ranges.push([addr, bits])
    }
    for (const [addr, bits] of ranges) {
      if (isIP(addr) === 4) v4.addSubnet(addr, bits, 'ipv4')
      else v6.addSubnet(addr, bits, 'ipv6')
    }
  }
  return (ip) => (isIP(ip) === 4 ? v4.check(ip, 'ipv4') : v6.check(ip, 'ipv6'))
}

/** [socket peer, nearest forwarded hop, …, farthest], normalised (undefined for junk). */
function chainOf(remote: string, header: string | undefined): (string | undefined)[] {
  const hops = header === undefined || header === '' ? [] : header.split(',').reverse()
  return [remote, ...hops].map((h) => normalizeIp(h))
}

describe('client IP resolution, fuzzed', () => {
  it('normalizeIp returns a syntactically valid IP or undefined, never the raw junk', () => {
    fc.assert(
      fc.property(fc.oneof(hop, fc.string({ unit: 'binary', maxLength: 50 })), (raw) => {
        const ip = normalizeIp(raw)
        if (ip !== undefined) {
          expect(isIP(ip)).not.toBe(0)
          expect(ip).not.toMatch(/^::ffff:\d/i) // IPv4-mapped addresses come back as IPv4
        }
      }),
      { numRuns: 1000 }
    )
  })

  it('default (no trustProxy): the socket address, whatever X-Forwarded-For says', () => {
    const resolve = createIpResolver(false)
    fc.assert(
      fc.property(socketPeer, xff, (remote, header) => {
        expect(resolve(remote, header)).toBe(normalizeIp(remote))
      }),
      { numRuns: 500 }
    )
  })

  it('hop count: a valid IP at most n hops out, the nearest valid one at or before hop n', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 32 }), fc.constantFrom(-1, 33, 1.5, Number.NaN)),
        socketPeer,
        xff,
        (hops, remote, header) => {
          let resolve: ReturnType<typeof createIpResolver>
          try {
            resolve = createIpResolver(hops)
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidOptionsError)
            expect(Number.isInteger(hops) && hops >= 0 && hops <= 32).toBe(false)
            return
          }
          const chain = chainOf(remote, header)
          const ip = resolve(remote, header)
          expect(ip).toBeDefined()
          expect(isIP(ip as string)).not.toBe(0)
          const target = Math.min(hops, chain.length - 1)
          const at = chain.lastIndexOf(ip, target)
          expect(at).toBeGreaterThanOrEqual(0)
          // Every hop between the returned one and hop n is junk (not an IP).
          for (let j = at + 1; j <= target; j++) expect(chain[j]).toBeUndefined()
        }
      ),
      { numRuns: 1000 }
    )
  })

  it('CIDR lists: InvalidOptionsError at construction, or never an address past the first untrusted hop', () => {
    const seen = { refused: 0, socket: 0, forwarded: 0 }
    fc.assert(
      fc.property(
        fc.array(cidrEntry, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.array(fc.tuple(socketPeer, xff), { minLength: 1, maxLength: 8 }),
        (list, asString, requests) => {
          // A string is a comma list whose blank items are skipped; naming nothing, it is `false`.
          const given = asString ? list.map((e) => e.trim()).filter((e) => e !== '') : list
          if (given.length === 0) {
            const none = createIpResolver(list.join(','))
            for (const [remote, header] of requests) {
              expect(none(remote, header)).toBe(chainOf(remote, undefined)[0])
            }
            return
          }
          const reference = referenceMatcher(given)
          let resolve: ReturnType<typeof createIpResolver>
          try {
            resolve = createIpResolver(asString ? list.join(',') : list)
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidOptionsError)
            expect((error as InvalidOptionsError).field).toMatch(/^trustProxy(\[\d+\])?$/)
            expect(reference).toBeUndefined()
            seen.refused++
            return
          }
          expect(reference).toBeDefined()
          const trusted = reference!
          for (const [remote, header] of requests) {
            const ip = resolve(remote, header)
            const chain = chainOf(remote, header)
            // The walk: from the socket outwards, through trusted proxies only.
            let expected: string | undefined
            for (const h of chain) {
              if (h === undefined) break // junk written by a trusted proxy: stop at that proxy
              expected = h
              if (!trusted(h)) break // the first untrusted hop is the client
            }
            expect(ip).toBe(expected)
            seen[ip === chain[0] ? 'socket' : 'forwarded']++
            expect(ip).toBeDefined()
            expect(isIP(ip as string)).not.toBe(0)
            // Never a hop past (to the left of) the first untrusted one: that one is spoofable.
            const firstUntrusted = chain.findIndex((h) => h === undefined || !trusted(h))
            if (firstUntrusted !== -1) {
              expect(chain.slice(0, firstUntrusted + 1)).toContain(ip)
            }
          }
        }
      ),
      { numRuns: 800 }
    )
    // Both invalid configurations and real walks through forwarded hops were exercised.
    expect(seen.refused).toBeGreaterThan(20)
    expect(seen.socket).toBeGreaterThan(20)
    expect(seen.forwarded).toBeGreaterThan(20)
  })
})

// ---------------------------------------------------------------------------------------------
// Header merge helpers
// ---------------------------------------------------------------------------------------------

const varyToken = fc.oneof(
  fc.constantFrom('Origin', 'origin', 'ORIGIN', 'Accept-Encoding', 'Cookie', '*', '', ' ', 'X-A'),
  fc.string({ maxLength: 8 }).filter((s) => !s.includes(','))
)
const varyList = fc
  .tuple(fc.array(varyToken, { maxLength: 5 }), fc.constantFrom(',', ', ', ' ,'))
  .map(([tokens, sep]) => tokens.join(sep))
const tokensOf = (list: string): string[] =>
  list
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')

describe('header merge helpers, fuzzed', () => {
  it('mergeVary: the case-insensitive union, first spelling kept, `*` absorbs, idempotent', () => {
    fc.assert(
      fc.property(varyList, varyList, (route, ours) => {
        const merged = mergeVary(route, ours)
        const input = [...tokensOf(route), ...tokensOf(ours)]
        if (input.includes('*')) {
          expect(merged).toBe('*')
          return
        }
        const out = tokensOf(merged)
        const lower = out.map((t) => t.toLowerCase())
        expect(new Set(lower).size).toBe(lower.length)
        expect(new Set(lower)).toEqual(new Set(input.map((t) => t.toLowerCase())))
        for (const t of out) expect(input).toContain(t)
        expect(mergeVary(merged, ours)).toBe(merged)
        expect(mergeVary(merged, '')).toBe(merged)
      }),
      { numRuns: 1000 }
    )
  })

  it('combineHeader: Set-Cookie keeps every cookie of both sides, Vary merges, others keep the route', () => {
    const cookie = fc.string({ minLength: 1, maxLength: 20 }).filter((c) => !c.includes('\n'))
    const route = fc.oneof(
      fc.constant(undefined),
      cookie,
      fc.integer(),
      fc.array(cookie, { minLength: 1, maxLength: 3 })
    )
    fc.assert(
      fc.property(
        fc.constantFrom('set-cookie', 'vary', 'cache-control', 'x-request-id', 'content-type'),
        route,
        fc.array(cookie, { minLength: 1, maxLength: 3 }),
        (lower, routeValue, oursList) => {
          const ours = oursList.join('\n')
          expect(splitCookies(ours)).toEqual(oursList)
          const out = combineHeader(lower, routeValue, ours)
          const routeList =
            routeValue === undefined
              ? []
              : Array.isArray(routeValue)
                ? routeValue
                : [String(routeValue)]
          if (lower === 'set-cookie') {
            // Ours first: the route's cookie of the same name is the one a browser keeps.
            expect(out).toEqual([...oursList, ...routeList])
          } else if (lower === 'vary') {
            expect(out).toBe(
              routeValue === undefined ? ours : mergeVary(routeList.join(', '), ours)
            )
          } else {
            expect(out).toBe(routeValue === undefined ? ours : undefined)
          }
        }
      ),
      { numRuns: 1000 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// errorBody
// ---------------------------------------------------------------------------------------------

describe('errorBody, fuzzed', () => {
  it('any thrown non-kit value: INTERNAL with a fixed message, nothing of the value leaks', () => {
    const thrown = fc.oneof(
      fc.anything({ withBigInt: true, withMap: true, withSet: true, withNullPrototype: true }),
      fc.string({ minLength: 4 }).map((m) => new Error(`secret ${m}`)),
      fc.string({ minLength: 4 }).map((m) => new TypeError(m)),
      // Look-alikes: kit-ish fields but not an Error, or a status out of range.
      fc.record({
        code: fc.string(),
        status: fc.integer(),
        name: fc.string(),
        message: fc.string(),
      })
    )
    fc.assert(
      fc.property(thrown, (value) => {
        const body = errorBody(value)
        expectErrorShape(body)
        expect(body).toEqual({ error: { code: 'INTERNAL', message: 'Internal server error' } })
        expect(errorStatus(value)).toBe(500)
      }),
      { numRuns: 1000 }
    )
  })

  it('any AikitError: its code, message and details, and a JSON-serialisable body', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Z][A-Z_]{0,20}$/),
        fc.integer({ min: 400, max: 599 }),
        fc.string({ maxLength: 40 }),
        fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
        (code, status, message, details) => {
          const error = new AikitError(code, status, message, { details })
          expect(isAikitError(error)).toBe(true)
          const body = errorBody(error)
          expectErrorShape(body)
          expect(body.error.code).toBe(code)
          expect(body.error.message).toBe(message)
          expect('details' in body.error).toBe(details !== undefined)
          expect(errorStatus(error)).toBe(status)
          expect(JSON.parse(JSON.stringify(error))).toEqual(JSON.parse(JSON.stringify(body)))
          expect(JSON.stringify(body)).not.toContain('    at ')
        }
      ),
      { numRuns: 500 }
    )
  })
})
