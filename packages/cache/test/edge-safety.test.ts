import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// The main entry must stay edge-safe: source files import only @aikit/core, lru-cache (edge-safe,
// no Node built-ins) and each other.
describe('edge safety', () => {
  it('src imports nothing but @aikit/core (main and adapter entries), lru-cache and relative files', () => {
    const dir = join(import.meta.dirname, '..', 'src')
    const specifiers: string[] = []
    for (const file of readdirSync(dir, { recursive: true }).map(String)) {
      if (!file.endsWith('.ts')) continue
      const text = readFileSync(join(dir, file), 'utf8')
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        specifiers.push(m[1] as string)
      }
    }
    expect(specifiers.length).toBeGreaterThan(10)
    const allowed = (s: string) =>
      // core's adapter entry is held edge-safe by core's own edge-safety test (sha256Hex is there).
      s === '@aikit/core' ||
      s === '@aikit/core/adapter' ||
      s === 'lru-cache' ||
      s.startsWith('./') ||
      s.startsWith('../')
    expect(specifiers.filter((s) => !allowed(s))).toEqual([])
  })
})
