/**
 * The storage envelope's decoder reads the header in one scan on the hot path and hands anything
 * outside the plain form `encodeEnvelope` writes to a general parser. These properties pin that the
 * two agree: every encoded entry decodes to exactly what was written (tags with `|`, newlines or
 * NUL included, back to back with other tags), other number forms decode as before, and malformed
 * or foreign headers are a miss.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeEnvelope, type EntryMeta, encodeEnvelope } from '../src/envelope.js'

const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
const tags = fc.option(fc.array(fc.string({ unit: 'binary', minLength: 1 }), { maxLength: 4 }), {
  nil: undefined,
})
const meta = fc.record<EntryMeta>({ createdAt: time, freshUntil: time, staleUntil: time, tags })

describe('envelope', () => {
  it('decodes every encoded entry to what was written, whatever the tags and payload', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(meta, fc.constantFrom('json' as const, 'gz' as const), fc.string()), {
          minLength: 1,
          maxLength: 5,
        }),
        (entries) => {
          // Several in a row: a decode never reuses the previous entry's tags wrongly.
          for (const [m, encoding, payload] of entries) {
            const decoded = decodeEnvelope(encodeEnvelope(m, encoding, payload))
            expect(decoded).toEqual({
              createdAt: m.createdAt,
              freshUntil: m.freshUntil,
              staleUntil: m.staleUntil,
              tags: m.tags === undefined || m.tags.length === 0 ? undefined : m.tags,
              encoding,
              payload,
            })
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  it('reads other number forms like Number() does, and refuses non-finite ones', () => {
    expect(decodeEnvelope('aikit1|1e3|2000.5|+7|json|\n{}')).toMatchObject({
      freshUntil: 1000,
      staleUntil: 2000.5,
      createdAt: 7,
      payload: '{}',
    })
    // More digits than the scan reads exactly: the general parser, as Number() reads them.
    expect(decodeEnvelope('aikit1|1234567890123456789|1|1|json|\nx')?.freshUntil).toBe(
      Number('1234567890123456789')
    )
    expect(decodeEnvelope('aikit1|Infinity|1|1|json|\nx')).toBeUndefined()
    expect(decodeEnvelope('aikit1|abc|1|1|json|\nx')).toBeUndefined()
  })

  it('treats a foreign version or a malformed header as a miss', () => {
    // Right after a good entry with tags ["a"], a header whose tags only start like them is still bad.
    expect(decodeEnvelope('aikit1|1|1|1|json|["a"]\n{}')?.tags).toEqual(['a'])
    expect(decodeEnvelope('aikit1|1|1|1|json|["a"]]\n{}')).toBeUndefined()
    for (const text of [
      '',
      'aikit1|',
      'aikit9|1|1|1|json|\n{}',
      'aikit1|1|1|1|json|',
      'aikit1|1|1|1|json\n{}',
      'aikit1|1|1|1|xml|\n{}',
      'aikit1|1|1|json|\n{}',
      'aikit1|1|1|1|json|[1]\n{}',
      'aikit1|1|1|1|json|["a"\n{}',
    ]) {
      expect(decodeEnvelope(text), JSON.stringify(text)).toBeUndefined()
    }
  })
})
