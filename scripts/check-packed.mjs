// Checks every publishable package AS PUBLISHED: packs it once with `pnpm pack` (which rewrites the
// `workspace:` ranges, like `pnpm publish`), then, in the tarball,
//  - every target of exports / main / module / types / typesVersions / bin must be a packed file;
//  - every bare specifier the packed JavaScript imports must be a Node builtin, the package itself
//    or declared in dependencies / peerDependencies / optionalDependencies: inside the monorepo a
//    devDependency or a module pnpm hoisted resolves fine, in a user's app it does not;
//  - the same for the packages the packed .d.ts files import (a missing one breaks the users' type
//    check). Node builtins in the types are reported as a note only: these are Node server
//    packages, their users have @types/node, and pinning it as a peer would force its version;
//  - publint, strict (a warning fails), and Are the Types Wrong with the `esm-only` profile (the
//    packages ship ESM only: the node10 and CJS-importer resolutions are not checked), both on
//    the same tarball. Run here through their APIs rather than as `publint --strict` and
//    `attw --pack` per package, which packed each package twice more and started TypeScript once
//    per package (~35 s of CI's ~55 s for these checks).
// Usage: `node scripts/check-packed.mjs` after `pnpm build`; exits 1 on any failure.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const builtins = new Set(builtinModules)

/** The package a bare specifier names (`@s/p/sub` -> `@s/p`, `p/sub` -> `p`), or null if relative. */
export function packageName(specifier) {
  if (/^[./#]/.test(specifier)) return null // relative, absolute or a subpath import (#x)
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

const isBuiltin = (specifier) =>
  specifier.startsWith('node:') || builtins.has(specifier) || builtins.has(packageName(specifier))

// Comments are dropped and every string literal becomes an opaque `"#n"` token, so an import in a
// comment or inside a string (an error message, a code sample) is never matched below. A regex
// literal holding a quote can still confuse this; the current dist has none that matters.
const tokens =
  /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\/[^\n]*|\/\*[\s\S]*?\*\//g
const importForms = [
  // import x from "m", import "m", export * from "m", import type { X } from "m", export { a } from "m"
  /(?<![\w$.])(?:import|export)\s*(?:[\w$\s{},*]*?\bfrom\s*)?"#(\d+)"/g,
  // import("m") (also in .d.ts: `import("m").Type`), require("m"), esbuild's __require("m")
  /(?<![\w$.])(?:import|require|__require)\s*\(\s*"#(\d+)"\s*\)/g,
  // .d.ts module augmentation: declare module "m" { ... }
  /(?<![\w$.])declare\s+module\s*"#(\d+)"/g,
]

/** The module specifiers a JavaScript or declaration file imports. */
export function importSpecifiers(source) {
  const strings = []
  const code = source.replace(tokens, (_match, string) => {
    if (string === undefined) return ' '
    strings.push(string.slice(1, -1))
    return `"#${strings.length - 1}"`
  })
  const found = new Set()
  for (const form of importForms) {
    for (const m of code.matchAll(form)) {
      const s = strings[Number(m[1])]
      if (!s.includes('${')) found.add(s) // a template with substitutions is not a literal
    }
  }
  // /// <reference types="node" /> is a comment, but a dependency of the types all the same.
  for (const m of source.matchAll(/^\/\/\/\s*<reference\s+types\s*=\s*["']([^"']+)["']/gm)) {
    found.add(m[1] === 'node' ? 'node:' : m[1])
  }
  return [...found]
}

/** Every file path a manifest points at (exports with all conditions, main, bin, ...). */
function manifestTargets(pkg) {
  const targets = []
  const walk = (field, value) => {
    if (typeof value === 'string') targets.push({ field, path: value })
    else if (Array.isArray(value)) for (const v of value) walk(field, v)
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) walk(`${field}[${JSON.stringify(key)}]`, v)
    }
  }
  for (const field of ['exports', 'main', 'module', 'types', 'typings', 'bin']) {
    walk(field, pkg[field])
  }
  // typesVersions: { "<range>": { "<pattern>": ["<target>", ...] } }
  for (const [range, map] of Object.entries(pkg.typesVersions ?? {})) {
    walk(`typesVersions[${JSON.stringify(range)}]`, map)
  }
  return targets
}

/** Whether a manifest target (`./dist/x.js`, `./dist/*.js`, a `main` without extension) is packed. */
function isPacked(files, field, target) {
  const path = target.replace(/^\.\//, '')
  if (path.includes('*')) {
    const escaped = path.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    const pattern = new RegExp(`^${escaped.join('.+')}$`)
    return [...files].some((f) => pattern.test(f))
  }
  // Node resolves `main` like a require: with an added extension or as a folder's index.
  const candidates = field === 'main' ? ['', '.js', '.json', '/index.js'] : ['']
  return candidates.some((ext) => files.has(path + ext))
}

/** Packs the package in `pkgDir` into `dest` as publishing would; returns the tarball's path. */
export function pack(pkgDir, dest) {
  execFileSync('pnpm', ['pack', '--pack-destination', dest], {
    cwd: pkgDir,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  return join(
    dest,
    readdirSync(dest).find((f) => f.endsWith('.tgz'))
  )
}

/**
 * Packs the package in `pkgDir` as publishing would (or takes its `tarball`, packed by `pack`)
 * and checks the tarball's files and imports.
 * @returns {{ name: string, files: number, errors: string[], notes: string[], imports: string[] }}
 */
export function checkPackage(pkgDir, tarball = undefined) {
  const tmp = mkdtempSync(join(tmpdir(), 'check-packed-'))
  try {
    tarball ??= pack(pkgDir, tmp)
    const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    const files = new Set(
      list
        .split('\n')
        .filter((f) => f && !f.endsWith('/'))
        .map((f) => f.replace(/^package\//, ''))
    )
    execFileSync('tar', ['-xzf', tarball, '-C', tmp])
    const root = join(tmp, 'package')
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    const errors = []
    const notes = []

    for (const { field, path } of manifestTargets(pkg)) {
      if (!isPacked(files, field, path)) errors.push(`${field} -> ${path} is not in the tarball`)
    }

    const declared = new Set(
      ['dependencies', 'peerDependencies', 'optionalDependencies'].flatMap((f) =>
        Object.keys(pkg[f] ?? {})
      )
    )
    const dev = new Set(Object.keys(pkg.devDependencies ?? {}))
    const why = (name) => (dev.has(name) ? ' (only a devDependency)' : '')
    const imports = new Set()
    const nodeInTypes = new Set()
    for (const file of [...files].sort()) {
      const isTypes = /\.d\.[cm]?ts$/.test(file)
      if (!isTypes && !/\.[cm]?js$/.test(file)) continue
      for (const specifier of importSpecifiers(readFileSync(join(root, file), 'utf8'))) {
        const name = packageName(specifier)
        if (name === null || name === pkg.name) continue
        if (isBuiltin(specifier)) {
          if (isTypes && !declared.has('@types/node')) nodeInTypes.add(specifier)
          continue
        }
        imports.add(name)
        // Types of an untyped package come from @types/<name> (@types/scope__name for @scope/name).
        const typesName = `@types/${name.replace(/^@/, '').replace('/', '__')}`
        if (declared.has(name) || (isTypes && declared.has(typesName))) continue
        const kind = isTypes ? 'types import' : 'imports'
        errors.push(`${file} ${kind} '${specifier}', but ${name} is not declared${why(name)}`)
      }
    }
    if (nodeInTypes.size > 0) {
      notes.push(
        `types use Node builtins (${[...nodeInTypes].sort().join(', ')}): users need @types/node, ` +
          'which a Node server app has; not declared on purpose'
      )
    }
    return { name: pkg.name, files: files.size, errors, notes, imports: [...imports].sort() }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** The problems publint (strict) and Are the Types Wrong (`esm-only`) find in `tarball`. */
export async function lintTarball(tarball) {
  const [{ publint }, { formatMessage }, attw] = await Promise.all([
    import('publint'),
    import('publint/utils'),
    import('@arethetypeswrong/core'),
  ])
  const data = readFileSync(tarball)
  const bytes = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
  const errors = []
  const lint = await publint({ pack: { tarball: bytes }, strict: true, level: 'warning' })
  for (const message of lint.messages) {
    if (message.type === 'error')
      errors.push(`publint: ${formatMessage(message, lint.pkg, { color: false })}`)
  }
  const analysis = await attw.checkPackage(attw.createPackageFromTarballData(new Uint8Array(data)))
  if (analysis.types) {
    for (const problem of analysis.problems) {
      if (IGNORED_RESOLUTIONS.has(problem.resolutionKind)) continue
      errors.push(`attw: ${describeProblem(problem)}`)
    }
  }
  return errors
}

/** attw's `esm-only` profile: an ESM-only package is not checked for node10 or a CJS importer. */
const IGNORED_RESOLUTIONS = new Set(['node10', 'node16-cjs'])

function describeProblem(problem) {
  const where = [problem.entrypoint, problem.resolutionKind].filter(Boolean).join(', ')
  const file = problem.fileName ?? problem.typesFileName ?? problem.implementationFileName
  return `${problem.kind}${where ? ` (${where})` : ''}${file ? ` in ${file}` : ''}`
}

async function main() {
  const packagesDir = fileURLToPath(new URL('../packages/', import.meta.url))
  let failed = 0
  for (const dir of readdirSync(packagesDir).sort()) {
    const pkgDir = join(packagesDir, dir)
    let manifest
    try {
      manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
    } catch {
      continue // not a package
    }
    if (manifest.private) continue
    const tmp = mkdtempSync(join(tmpdir(), 'check-packed-'))
    let r
    try {
      const tarball = pack(pkgDir, tmp)
      r = checkPackage(pkgDir, tarball)
      r.errors.push(...(await lintTarball(tarball)))
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
    const deps = r.imports.length > 0 ? r.imports.join(', ') : 'none'
    console.log(
      `${r.errors.length ? 'FAIL' : 'ok  '} ${r.name} (${r.files} files; imports ${deps})`
    )
    for (const e of r.errors) console.log(`       x ${e}`)
    for (const n of r.notes) console.log(`       note: ${n}`)
    if (r.errors.length) failed++
  }
  if (failed) {
    console.log(`\n${failed} package(s) would break for users who install them (see above).`)
    console.log('A missing dist file? Run `pnpm build` first.')
    process.exit(1)
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main()
