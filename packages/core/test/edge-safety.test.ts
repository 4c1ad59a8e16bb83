import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const IMPORT = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** Every module specifier reachable from `entry` through relative imports. */
function reachableSpecifiers(entry: string): { files: string[]; external: Set<string> } {
  const seen = new Set<string>()
  const external = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    const source = readFileSync(file, 'utf8')
    for (const m of source.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
      else external.add(spec)
    }
  }
  visit(entry)
  return { files: [...seen], external }
}

describe('edge safety', () => {
  it('the main entry reaches no node: module and only edge-safe packages', () => {
    const { files, external } = reachableSpecifiers(resolve(here, '../src/index.ts'))
    expect(files.length).toBeGreaterThan(3)
    const allowed = new Set(['ipaddr.js', 'lru-cache'])
    const bad = [...external].filter((s) => !allowed.has(s))
    expect(bad).toEqual([])
    for (const f of files) expect(readFileSync(f, 'utf8')).not.toMatch(/require\(/)
  })

  it('the adapter entry is edge-safe too (the Next adapter builds on it)', () => {
    const { external } = reachableSpecifiers(resolve(here, '../src/adapter.ts'))
    expect([...external].filter((s) => s.startsWith('node:'))).toEqual([])
  })
})
