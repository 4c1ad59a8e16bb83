import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// The main entry must stay edge-safe: source files import only @aikit/core (its main entry and the
// edge-safe adapter subpath, which core's own edge-safety test covers), gpt-tokenizer's o200k_base
// encoding module (pure TypeScript) and each other; no `node:` module, no SDK.
describe('edge safety', () => {
  it('src imports nothing but @aikit/core, @aikit/core/adapter, the o200k_base encoding and relative files', () => {
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
    expect(
      specifiers.filter(
        (s) =>
          s !== '@aikit/core' &&
          s !== '@aikit/core/adapter' &&
          !s.startsWith('./') &&
          s !== 'gpt-tokenizer/encoding/o200k_base'
      )
    ).toEqual([])
  })
})
