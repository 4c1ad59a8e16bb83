import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// The main entry must stay edge-safe: source files import only @aikit/core (its main entry and the
// edge-safe adapter subpath, which core's own edge-safety test covers) and each other.
describe('edge safety', () => {
  it('src imports nothing but @aikit/core, @aikit/core/adapter and relative files', () => {
    const dir = join(import.meta.dirname, '..', 'src')
    const specifiers: string[] = []
    for (const file of readdirSync(dir, { recursive: true }).map(String)) {
      if (!file.endsWith('.ts')) continue
      const text = readFileSync(join(dir, file), 'utf8')
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        specifiers.push(m[1] as string)
      }
    }
    expect(specifiers.length).toBeGreaterThan(3)
    const allowed = new Set(['@aikit/core', '@aikit/core/adapter'])
    expect(specifiers.filter((s) => !allowed.has(s) && !s.startsWith('./'))).toEqual([])
  })
})
