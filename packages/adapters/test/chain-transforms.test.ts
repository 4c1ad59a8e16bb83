/**
 * Several body transforms on one response: the innermost (registered last) sees the head and the
 * bytes first, each earlier one takes its output; sync and async transforms mix; abort reaches all.
 */
import type { BodyTransform, BodyTransformFactory, ResponseHead } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'
import { chainFactories } from '../src/shared/chain-transforms.js'

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const bytes = (s: string) => new TextEncoder().encode(s)

function head(): ResponseHead & { headers: Map<string, string> } {
  const headers = new Map<string, string>()
  return {
    status: 200,
    headers,
    getHeader: (name) => headers.get(name),
    setHeader: (name, value) => void headers.set(name, value),
    removeHeader: (name) => void headers.delete(name),
  }
}

/** Wraps each chunk in `tag(...)`, sync or async; records what it saw and whether it aborted. */
function tagger(tag: string, log: string[], async = false): BodyTransformFactory {
  return (h) => {
    log.push(`${tag} sees x-seen=${h.getHeader('x-seen') ?? '-'}`)
    h.setHeader('x-seen', tag)
    const wrap = (chunk?: Uint8Array) => bytes(chunk ? `${tag}(${text(chunk)})` : '')
    const out = (chunk?: Uint8Array) => (async ? Promise.resolve(wrap(chunk)) : wrap(chunk))
    const transform: BodyTransform = {
      write: (chunk) => out(chunk),
      end: (last) => out(last),
      abort: () => void log.push(`${tag} aborted`),
    }
    return transform
  }
}

describe('chainFactories', () => {
  it('the inner transform sees the head and each chunk first, the outer takes its output', async () => {
    const log: string[] = []
    const factory = chainFactories(tagger('outer', log), tagger('inner', log, true))
    const h = head()
    const t = factory(h) as BodyTransform
    expect(log).toEqual(['inner sees x-seen=-', 'outer sees x-seen=inner'])
    expect(text(await t.write(bytes('a')))).toBe('outer(inner(a))')
    expect(text(await t.end(bytes('b')))).toBe('outer(inner(b))')
    t.abort()
    expect(log.slice(2)).toEqual(['inner aborted', 'outer aborted'])
  })

  it('a factory that declines leaves the other alone; three chain in nesting order', async () => {
    const log: string[] = []
    const none: BodyTransformFactory = () => undefined
    expect(chainFactories(none, none)(head())).toBeUndefined()
    const only = chainFactories(none, tagger('inner', log)) as BodyTransformFactory
    expect(text(await (only(head()) as BodyTransform).write(bytes('x')))).toBe('inner(x)')
    const three = chainFactories(
      chainFactories(tagger('a', log), tagger('b', log)),
      tagger('c', log, true)
    )
    expect(text(await (three(head()) as BodyTransform).write(bytes('x')))).toBe('a(b(c(x)))')
  })

  it('an outer factory that throws aborts the inner transform it already started', () => {
    const log: string[] = []
    const boom: BodyTransformFactory = () => {
      throw new Error('boom')
    }
    expect(() => chainFactories(boom, tagger('inner', log))(head())).toThrow('boom')
    expect(log).toContain('inner aborted')
  })
})
