// Emits a package's type declarations with tsc, next to the JavaScript tsup wrote: one `.d.ts`
// per source file, at the source's path under dist/ (`src/redis/index.ts` -> `dist/redis/index.d.ts`,
// the path the exports map names). The root files are the entry points the exports map names under
// the `@aikit/source` condition. Only the declarations those entries reach through their own
// imports are written: a module the entries only import at run time (the CLI's Redis probe, whose
// types name ioredis, an optional peer) ships no declaration.
// Run from a package directory after tsup: `tsup && node ../../scripts/build-dts.mjs`.
//
// Why not tsup's `dts: true`: it bundles the declarations with rollup-plugin-dts at ~15 s of CPU
// per package (~150 s for the monorepo, most of CI's build time), and renames the types that two
// entries share to one-letter aliases (`C` for `Context`) that users then see in their editor.
// tsc type-checks and emits the same API in 1-4 s per package.
//
// The other AI Kit packages resolve to their BUILT declarations, as in a user's app (no
// `@aikit/source` condition; turbo builds a package's dependencies first). The type check of the
// sources themselves is `pnpm typecheck`; errors here fail the build as well.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import ts from 'typescript'

const root = resolve(import.meta.dirname, '..')
const dir = process.cwd()
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))

/** The `@aikit/source` targets of the exports map: the package's entry points in src/. */
function sourceEntries(exportsMap) {
  const entries = []
  for (const target of Object.values(exportsMap ?? {})) {
    const source =
      typeof target === 'object' && target !== null ? target['@aikit/source'] : undefined
    if (typeof source === 'string') entries.push(join(dir, source))
  }
  return entries
}

const entries = sourceEntries(pkg.exports)
if (entries.length === 0) {
  console.error(`${pkg.name}: no "@aikit/source" entry in the exports map: nothing to declare`)
  process.exit(1)
}

const base = ts.readConfigFile(join(root, 'tsconfig.base.json'), ts.sys.readFile)
if (base.error) throw new Error(ts.formatDiagnostic(base.error, host()))
const { options, errors } = ts.convertCompilerOptionsFromJson(
  {
    ...base.config.compilerOptions,
    types: ['node'],
    customConditions: [],
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    rootDir: 'src',
    outDir: 'dist',
  },
  dir
)
if (errors.length > 0) fail(errors)

const program = ts.createProgram(entries, options)
const diagnostics = ts.getPreEmitDiagnostics(program)
if (diagnostics.length > 0) fail(diagnostics)
const declarations = new Map()
const emitted = program.emit(
  undefined,
  (file, text) => declarations.set(resolve(file), text),
  undefined,
  true
)
if (emitted.emitSkipped || emitted.diagnostics.length > 0) fail(emitted.diagnostics)
for (const file of reachable(declarations)) {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, declarations.get(file))
}

/** The emitted declarations the entries' declarations import, directly or not (relative imports). */
function reachable(emittedFiles) {
  const outDir = join(dir, 'dist')
  const declarationOf = (source) =>
    join(outDir, source.slice(join(dir, 'src').length).replace(/\.ts$/, '.d.ts'))
  const found = new Set()
  const pending = entries.map(declarationOf)
  while (pending.length > 0) {
    const file = pending.pop()
    if (found.has(file)) continue
    const text = emittedFiles.get(file)
    if (text === undefined) throw new Error(`${pkg.name}: tsc emitted no ${file}`)
    found.add(file)
    const { importedFiles, referencedFiles } = ts.preProcessFile(text, true, true)
    for (const { fileName } of [...importedFiles, ...referencedFiles]) {
      if (fileName.startsWith('.'))
        pending.push(resolve(dirname(file), fileName.replace(/\.js$/, '.d.ts')))
    }
  }
  return found
}

function host() {
  return {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => dir,
    getNewLine: () => '\n',
  }
}

function fail(list) {
  console.error(ts.formatDiagnosticsWithColorAndContext(list, host()))
  console.error(`${pkg.name}: declarations not emitted`)
  // TS2307 on another AI Kit package: its dist/ is not built (a package built on its own).
  if (list.some((d) => d.code === 2307 && String(d.messageText).includes("'@aikit/"))) {
    console.error(
      'An @aikit/* dependency has no built declarations: run `pnpm build` at the repository root, which builds dependencies first.'
    )
  }
  process.exit(1)
}
