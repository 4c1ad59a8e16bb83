/**
 * Path redaction lower-cases each object key once and memoises it, for keys up to 256 characters
 * only: keys come from request bodies, so a memo of any length (4,096 entries, kept for good) let
 * a client pin megabytes per entry. A longer key is lower-cased on each visit, and matched by
 * path rules case-insensitively all the same.
 */
import { createRedactor } from '@aikit/security'
import { heapAfterGc } from '@aikit/testing/heap'
import { describe, expect, it } from 'vitest'

describe('path redaction: the lower-cased key memo is bounded in key length', () => {
  it('keeps no copy of long object keys it has seen', () => {
    // An app redacts request bodies for its logs with a path rule (documented: `*.password`).
    const redactor = createRedactor({ paths: ['*.password'] })
    const before = heapAfterGc()
    // 300 bodies, each with one JSON key of 64 KiB (well inside a 1 MB body limit): ~19 MB of
    // keys if each were kept (in the memo, as key and lower-cased copy alike).
    for (let i = 0; i < 300; i++) {
      const body = JSON.parse(`{"${'k'.repeat(65_536)}${i}":{"a":1}}`) as Record<string, unknown>
      redactor(body)
    }
    expect(heapAfterGc() - before).toBeLessThan(5 * 1024 * 1024)
  })

  it('matches long keys case-insensitively on every visit', () => {
    const long = 'Ab'.repeat(200)
    const redactor = createRedactor({ paths: [`${long.toLowerCase()}.x`, '*.password'] })
    for (let i = 0; i < 3; i++) {
      expect(redactor({ [long]: { x: 'v', password: 'p', y: 1 } })).toEqual({
        [long]: { x: '[redacted]', password: '[redacted]', y: 1 },
      })
    }
  })
})
