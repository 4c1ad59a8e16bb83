// A consumer compiled the way a user's app is: `tsc` with Node's module resolution and no
// `@aikit/source` condition, so it reads each package's BUILT declarations (dist/*.d.ts). It
// imports every runtime export of every public entry point by name, all in one program: a
// declaration bundle that broke another package's types (e.g. a `declare module '@aikit/core'`
// emitted as a script, which replaces the module instead of augmenting it) fails here.
// `skipLibCheck` is off, unlike most apps: the declarations themselves are checked, so one that
// imports a file the build did not ship (scripts/build-dts.mjs writes only those the entries
// reach) or a type that no longer exists fails here instead of turning into `any` for users.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const require = createRequire(join(root, 'package.json'))
const PACKAGES = Object.keys(
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies as object
).filter((name) => name.startsWith('@aikit/'))

/** Public entry points of a package (`.` and subpaths), from its exports map. */
function entryPoints(name: string): string[] {
  const pkgJson = require.resolve(`${name}/package.json`)
  const exportsMap = JSON.parse(readFileSync(pkgJson, 'utf8')).exports as Record<string, unknown>
  return Object.keys(exportsMap)
    .filter((sub) => sub !== './package.json')
    .map((sub) => (sub === '.' ? name : `${name}/${sub.slice(2)}`))
}

const dir = mkdtempSync(join(root, '.consumer-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('built type declarations, as a consumer compiles them', () => {
  it('every runtime export of every entry point type-checks together in one program', async () => {
    const lines: string[] = []
    let n = 0
    for (const name of PACKAGES) {
      for (const entry of entryPoints(name)) {
        // The built module (dist), as Node loads it: its runtime exports are what the types must name.
        const url = pathToFileURL(require.resolve(entry)).href
        const names = Object.keys(await import(url)).filter((k) => k !== 'default')
        if (names.length === 0) continue
        const alias = names.map((k) => `${k} as e${n}_${k}`)
        lines.push(`import { ${alias.join(', ')} } from '${entry}'`)
        lines.push(`export const used${n} = [${names.map((k) => `e${n}_${k}`).join(', ')}]`)
        n++
      }
    }
    expect(n).toBeGreaterThan(15)
    writeFileSync(join(dir, 'consumer.ts'), `${lines.join('\n')}\n`)
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['consumer.ts'],
      })
    )
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }')
    const tsc = require.resolve('typescript/bin/tsc')
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', dir], {
      cwd: dir,
    }).then(
      () => ({ code: 0, out: '' }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code, out: error.stdout })
    )
    expect(result.out).toBe('')
    expect(result.code).toBe(0)
  }, 120_000)
})
