/**
 * Edge safety of the headers/CSP/CORS/CSRF half of the package: its sources import only
 * `@aikit/core` (and its edge-safe `/adapter` entry) and each other (no `node:` module, no Node-only package), so they run in an Edge
 * `middleware.ts`; nonces and CSRF tokens use Web Crypto only.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const OWN = /^(headers|csp|cors|csrf|errors)(-[a-z-]+)?\.ts$/

describe('edge safety of headers, csp, cors, csrf', () => {
  it('imports nothing but @aikit/core and relative files, and uses no Node globals', () => {
    const dir = join(import.meta.dirname, '..', 'src')
    const files = readdirSync(dir).filter((f) => OWN.test(f))
    expect(files.length).toBeGreaterThanOrEqual(14)
    const specifiers: string[] = []
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8')
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        specifiers.push(m[1] as string)
      }
      expect(text).not.toMatch(/\bBuffer\.|\bprocess\.|require\(/)
    }
    // `@aikit/core/adapter` is edge-safe as well (core's edge-safety test; the Next adapter uses it).
    const allowed = new Set(['@aikit/core', '@aikit/core/adapter'])
    expect(specifiers.filter((s) => !allowed.has(s) && !s.startsWith('./'))).toEqual([])
  })
})
