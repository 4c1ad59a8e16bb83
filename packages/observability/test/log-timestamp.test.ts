import { redact } from '@aikit/security'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isoNow } from '../src/logger/create-logger.js'

const YEAR_10000 = 253402300800000

describe('log line timestamps', () => {
  // First in this file: isoNow's cache starts empty, and a first call at 0 must not read it as hit.
  it('the very first call formats its instant, even the epoch (0)', () => {
    expect(isoNow(0)).toBe('1970-01-01T00:00:00.000Z')
  })

  it('isoNow prints exactly what toISOString prints, in any order of calls, in and out of 1970-9999', () => {
    const instant = fc.oneof(
      fc.integer({ min: 0, max: YEAR_10000 - 1 }),
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      fc.constantFrom(0, 999, 1000, YEAR_10000 - 1, YEAR_10000, -1, -1000, -1001)
    )
    fc.assert(
      fc.property(
        fc.array(fc.tuple(instant, fc.integer({ min: 0, max: 2500 })), { minLength: 1 }),
        (steps) => {
          for (const [ms, later] of steps) {
            // The same second again, the next one, and back: the per-second prefix must follow.
            for (const t of [ms, ms + later, ms]) {
              if (Math.abs(t) > 8.64e15) continue
              expect(isoNow(t)).toBe(new Date(t).toISOString())
            }
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  it('the default redactor leaves every timestamp as is (the request line skips redacting it)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: YEAR_10000 - 1 }), (ms) => {
        const iso = new Date(ms).toISOString()
        expect(redact(iso)).toBe(iso)
        expect(JSON.stringify(iso)).toBe(`"${iso}"`)
      }),
      { numRuns: 2000 }
    )
  })
})
