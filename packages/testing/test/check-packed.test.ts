/**
 * scripts/check-packed.mjs (run by `pnpm check:pkg`) packs a package and checks the tarball: these
 * tests run its functions on small fixture packages written to a temp dir: one with an undeclared
 * import and missing export/bin targets, one correct; then publint and attw on a tarball, for a
 * package that breaks each and one that passes both.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

type Result = { name: string; errors: string[]; notes: string[]; imports: string[] }
// A non-literal specifier: the script is plain JavaScript without declarations.
const script = new URL('../../../scripts/check-packed.mjs', import.meta.url).href
const { checkPackage, lintTarball, pack } = (await import(script)) as {
  checkPackage: (dir: string) => Result
  lintTarball: (tarball: string) => Promise<string[]>
  pack: (dir: string, dest: string) => string
}

const root = mkdtempSync(join(tmpdir(), 'check-packed-test-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

function fixture(name: string, pkg: Record<string, unknown>, files: Record<string, string>) {
  const dir = join(root, name)
  for (const [path, text] of Object.entries({ ...files, 'package.json': JSON.stringify(pkg) })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

// Specifiers in comments and plain strings, builtins and a self-reference: none may be reported.
const harmless = [
  "import { readFile } from 'node:fs/promises'",
  "import path from 'path'",
  "import { self } from 'fixture/sub'",
  "// import gone from 'in-line-comment'",
  "/* require('in-block-comment') */",
  "const hint = \"import x from 'in-a-string'; require('also-in-a-string')\"",
  "export const docs = `see import('in-a-template')`",
].join('\n')

const manifest = {
  name: 'fixture',
  version: '1.0.0',
  type: 'module',
  files: ['dist'],
  exports: {
    '.': { types: './dist/index.d.ts', default: './dist/index.js' },
    './extra': { types: './dist/extra.d.ts', default: './dist/extra.js' },
  },
  bin: { fixture: './dist/cli.js' },
}

describe('check-packed', () => {
  it('fails a package that imports an undeclared module and misses export and bin targets', () => {
    const dir = fixture(
      'bad',
      { ...manifest, devDependencies: { 'left-pad': '^1.3.0' }, peerDependencies: { zod: '^4' } },
      {
        'dist/index.js': `${harmless}\nimport pad from 'left-pad'\nexport const load = () => import("hoisted-only/sub")\n`,
        'dist/index.d.ts': "export type { Options } from 'untyped-dep'\n",
        'dist/cli.d.ts': '',
      }
    )
    const result = checkPackage(dir)
    expect(result.errors.sort()).toEqual([
      'bin["fixture"] -> ./dist/cli.js is not in the tarball',
      "dist/index.d.ts types import 'untyped-dep', but untyped-dep is not declared",
      "dist/index.js imports 'hoisted-only/sub', but hoisted-only is not declared",
      "dist/index.js imports 'left-pad', but left-pad is not declared (only a devDependency)",
      'exports["./extra"]["default"] -> ./dist/extra.js is not in the tarball',
      'exports["./extra"]["types"] -> ./dist/extra.d.ts is not in the tarball',
    ])
  })

  it('passes a package whose imports are declared and whose targets are all packed', () => {
    const dir = fixture(
      'good',
      {
        ...manifest,
        dependencies: { 'left-pad': '^1.3.0' },
        peerDependencies: { 'hoisted-only': '^1' },
        optionalDependencies: { 'opt-dep': '^1' },
        devDependencies: { '@types/untyped-dep': '^1' },
        peerDependenciesMeta: { 'hoisted-only': { optional: true } },
      },
      {
        'dist/index.js': `${harmless}\nimport pad from 'left-pad'\nexport const load = () => import("hoisted-only/sub")\n`,
        'dist/index.d.ts':
          "import type { IncomingMessage } from 'node:http'\nexport type X = IncomingMessage\n",
        'dist/extra.js': "const { a } = require('opt-dep')\nexport * from './index.js'\n",
        'dist/extra.d.ts': "export * from './index.js'\n",
        'dist/cli.js': "#!/usr/bin/env node\nimport './index.js'\n",
      }
    )
    const result = checkPackage(dir)
    expect(result.errors).toEqual([])
    expect(result.imports).toEqual(['hoisted-only', 'left-pad', 'opt-dep'])
    // Node builtins in the types are a note, not a failure (the users of a Node package have @types/node).
    expect(result.notes).toEqual([expect.stringContaining('types use Node builtins (node:http)')])
  })
})

describe('check-packed: publint and attw on the tarball', () => {
  const esm = (extra: Record<string, unknown>) => ({
    name: 'lint-fixture',
    version: '1.0.0',
    type: 'module',
    files: ['dist'],
    ...extra,
  })
  const lint = (name: string, pkg: Record<string, unknown>, files: Record<string, string>) => {
    const dir = fixture(name, pkg, files)
    return lintTarball(pack(dir, mkdtempSync(join(root, `${name}-tgz-`))))
  }

  it('passes an ESM package whose exports each have their types first', async () => {
    const errors = await lint(
      'lint-good',
      esm({ exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } }),
      {
        'dist/index.js': 'export const x = 1\n',
        'dist/index.d.ts': 'export declare const x: number\n',
      }
    )
    expect(errors).toEqual([])
  })

  it('reports publint (types condition after default) and attw (an entry without types)', async () => {
    const errors = await lint(
      'lint-bad',
      esm({
        exports: {
          '.': { default: './dist/index.js', types: './dist/index.d.ts' },
          './extra': './dist/extra.js',
        },
      }),
      {
        'dist/index.js': 'export const x = 1\n',
        'dist/index.d.ts': 'export declare const x: number\n',
        'dist/extra.js': 'export const y = 2\n',
      }
    )
    expect(errors.filter((e) => e.startsWith('publint: '))).toEqual([
      'publint: pkg.exports["."].types should be the first in the object as conditions are order-sensitive so it can be resolved by TypeScript.',
      'publint: pkg.exports["."].default should be the last in the object so it doesn\'t take precedence over the keys following it.',
    ])
    // The untyped ./extra, for the two resolutions an ESM-only package is checked with.
    expect(errors.filter((e) => e.startsWith('attw: ')).sort()).toEqual([
      'attw: UntypedResolution (./extra, bundler)',
      'attw: UntypedResolution (./extra, node16-esm)',
    ])
  })
})
