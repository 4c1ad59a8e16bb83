import { memoryStore } from '@aikit/core'
import { createRateLimiter, parseWindow } from '@aikit/ratelimit'
import { invalidField, rejectedField } from '@aikit/testing/invalid-field'
import { describe, expect, it } from 'vitest'

describe('parseWindow', () => {
  it.each([
    [1, 1],
    [250, 250],
    ['500ms', 500],
    ['10s', 10_000],
    ['1m', 60_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['30d', 2_592_000_000],
  ] as const)('%s → %i ms', (input, ms) => {
    expect(parseWindow(input, 'w')).toBe(ms)
  })

  it.each([
    0,
    -5,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    '10',
    '0s',
    '-1s',
    '1.5s',
    '1 s',
    '1w',
    '1S',
    ' 1s',
    '01s',
    null,
    undefined,
    {},
    [],
    true,
  ])('rejects %j naming the field', (input) => {
    expect(invalidField(() => parseWindow(input, 'limits[3].window'))).toBe('limits[3].window')
  })
})

describe('createRateLimiter options', () => {
  const ok = { limit: 10, window: '1m' } as const

  it.each([
    ['limits', {}],
    ['limits', { limits: [] }],
    ['limits', { limits: 'nope' }],
    ['limits[0]', { limits: [null] }],
    ['limits[0].limit', { limits: [{ limit: 0, window: '1s' }] }],
    ['limits[0].limit', { limits: [{ limit: -3, window: '1s' }] }],
    ['limits[0].limit', { limits: [{ limit: 2.5, window: '1s' }] }],
    ['limits[0].limit', { limits: [{ limit: '10', window: '1s' }] }],
    ['limits[0].limit', { limits: [{ window: '1s' }] }],
    ['limits[1].algorithm', { limits: [ok, { algorithm: 'leaky', limit: 1, window: '1s' }] }],
    ['limits[1].algorithm', { limits: [ok, { algorithm: 42, limit: 1, window: '1s' }] }],
    ['limits[0].window', { limits: [{ limit: 1, window: '1 minute' }] }],
    ['limits[0].window', { limits: [{ limit: 1 }] }],
    ['limits[0].window', { limits: [{ limit: 1, window: 0 }] }],
    // limit × window beyond 2^52 would make the integer arithmetic inexact
    ['limits[0].limit', { limits: [{ limit: 2_000_000_000, window: '30d' }] }],
    ['limits[1]', { limits: [ok, { algorithm: 'gcra', limit: 10, window: 60_000 }] }],
    ['prefix', { limits: [ok], prefix: '' }],
    ['prefix', { limits: [ok], prefix: 'a{b}' }],
    ['store', { limits: [ok], store: {} }],
    ['options', null],
  ])('%s', (field, options) => {
    expect(invalidField(() => createRateLimiter(options as never))).toBe(field)
  })

  it('resolves defaults: gcra, windows in ms', () => {
    const limiter = createRateLimiter({
      limits: [ok, { algorithm: 'token-bucket', limit: 5, window: 1500 }],
    })
    expect(limiter.limits).toEqual([
      { algorithm: 'gcra', limit: 10, windowMs: 60_000 },
      { algorithm: 'token-bucket', limit: 5, windowMs: 1500 },
    ])
    expect(limiter.store.kind).toBe('memory')
  })

  it('validates key and cost on check', async () => {
    const limiter = createRateLimiter({ limits: [ok] })
    expect(await rejectedField(limiter.check(''))).toBe('key')
    expect(await rejectedField(limiter.check(42 as never))).toBe('key')
    expect(await rejectedField(limiter.check('u', { cost: -1 }))).toBe('cost')
    expect(await rejectedField(limiter.check('u', { cost: 1.5 }))).toBe('cost')
    expect(await rejectedField(limiter.check('u', { cost: Number.NaN }))).toBe('cost')
    expect(await rejectedField(limiter.check('u', { cost: '1' as never }))).toBe('cost')
    // Nothing was consumed by the invalid calls.
    expect((await limiter.check('u', { cost: 0 })).remaining).toBe(10)
  })

  it('on: only degraded / recovered / decision, with a function listener', () => {
    const limiter = createRateLimiter({ limits: [ok] })
    expect(invalidField(() => limiter.on('degraded', 42 as never))).toBe('listener')
    expect(invalidField(() => limiter.on('recovered', undefined as never))).toBe('listener')
    expect(invalidField(() => limiter.on('decision', 'f' as never))).toBe('listener')
    expect(invalidField(() => limiter.on('decisions' as never, () => {}))).toBe('event')
    expect(invalidField(() => limiter.on('error' as never, () => {}))).toBe('event')
    expect(invalidField(() => limiter.on(42 as never, () => {}))).toBe('event')
    for (const event of ['degraded', 'recovered', 'decision'] as const) {
      const off = limiter.on(event as 'decision', () => {})
      expect(typeof off).toBe('function')
      off()
    }
  })

  it('keys are per user and per limiter prefix; user keys may contain braces', async () => {
    const store = memoryStore()
    const a = createRateLimiter({ store, limits: [{ limit: 1, window: '1h' }] })
    const b = createRateLimiter({ store, limits: [{ limit: 1, window: '1h' }], prefix: 'other' })
    expect((await a.check('{u}')).allowed).toBe(true)
    expect((await a.check('{u}')).allowed).toBe(false)
    expect((await a.check('u')).allowed).toBe(true)
    expect((await b.check('{u}')).allowed).toBe(true)
  })
})
