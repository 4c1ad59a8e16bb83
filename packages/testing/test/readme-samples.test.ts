/**
 * Type-checks the code samples of the READMEs (the root one and every `packages/* /README.md`)
 * against the packages' real sources, with the repo's strict compiler options: users copy these
 * samples, and a renamed option or entry point would otherwise only show up as a user's
 * `InvalidOptionsError` (factories refuse unknown keys) or a type error.
 *
 * Every ```ts / ```typescript / ```js block is its own module in ONE `ts.createProgram` over an
 * in-memory compiler host (a program per block would re-check the packages' sources each time).
 * `@aikit/*` imports resolve to `src` through the `@aikit/source` condition, as the repo's own
 * type check does; other imports (express, ioredis, the SDKs, zod) resolve from the README's
 * package, else from any workspace package that has them installed.
 *
 * Samples are fragments: they use names the reader's app has (`app`, `redis`, `userId`). An HTML
 * comment right before a block (invisible on GitHub and npm) says what the block assumes:
 *
 *   <!-- sample: declare const userId: string -->          declarations prepended to the block
 *   <!-- sample: skip (why it cannot be checked) -->        not checked; the reason is required
 *   <!-- sample: file aikit.config.mjs -->                  checked as that file beside the README,
 *                                                            so another block can import it
 *
 * and `<!-- samples: declare const redis: import('ioredis').Redis -->` anywhere in a README
 * prepends its declarations to every block of that README. Declarations may span lines and use
 * `import('…')` types. A diagnostic is reported as `README:line` of the block's own line.
 *
 * A few first samples that need no network beyond 127.0.0.1 also run (the root README's
 * middleware, core's, the CLI's configuration module): a sample can type-check and still be
 * refused at run time (a configuration key the doctor does not know).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer, type RequestListener } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { beforeAll, describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const LANGS: Record<string, '.ts' | '.mjs'> = { ts: '.ts', typescript: '.ts', js: '.mjs' }

interface Sample {
  /** README path relative to the repo root */
  readme: string
  /** 1-based line of the block's first code line in the README */
  line: number
  code: string
  /** declarations prepended (the README's `samples:` comments, then the block's `sample:`) */
  preamble: string
  skip?: string
  /** virtual file the block is checked as */
  file: string
}

function readmes(): string[] {
  const packages = readdirSync(join(ROOT, 'packages'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join('packages', entry.name, 'README.md'))
  return ['README.md', ...packages].filter((path) => existsSync(join(ROOT, path)))
}

const COMMENT = /<!--\s*(samples?):([\s\S]*?)-->/g

/** Splits one README into its checkable blocks; a malformed sample comment throws. */
function extractSamples(readme: string, text: string): Sample[] {
  const lines = text.split('\n')
  const shared: string[] = []
  for (const match of text.matchAll(COMMENT)) {
    if (match[1] === 'samples') shared.push(match[2]!.trim())
  }
  const samples: Sample[] = []
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)(`{3,})(\S*)\s*$/.exec(lines[i]!)
    if (!fence) continue
    const [, indent, ticks, lang] = fence
    let end = i + 1
    while (end < lines.length && lines[end]!.trim() !== ticks) end++
    if (end === lines.length) throw new Error(`${readme}:${i + 1}: code block never closed`)
    const ext = LANGS[lang!]
    if (ext) {
      const code = lines
        .slice(i + 1, end)
        .map((line) => (line.startsWith(indent!) ? line.slice(indent!.length) : line))
        .join('\n')
      const own = commentBefore(lines, i, readme)
      const sample: Sample = {
        readme,
        line: i + 2,
        code,
        preamble: [...shared, ...(own?.declarations ? [own.declarations] : [])].join('\n'),
        file: join(ROOT, dirname(readme), own?.file ?? `README.md.L${i + 2}${ext}`),
      }
      if (own?.skip) sample.skip = own.skip
      samples.push(sample)
    }
    i = end
  }
  return samples
}

/** The `<!-- sample: … -->` comment ending on the line just above the fence at `fence`. */
function commentBefore(
  lines: string[],
  fence: number,
  readme: string
): { skip?: string; file?: string; declarations?: string } | undefined {
  const last = fence - 1
  if (last < 0 || !lines[last]!.trimEnd().endsWith('-->')) return undefined
  let first = last
  while (first >= 0 && !lines[first]!.includes('<!--')) first--
  if (first < 0) return undefined
  const comment = lines.slice(first, last + 1).join('\n')
  const match = /^\s*<!--\s*sample:([\s\S]*)-->\s*$/.exec(comment)
  if (!match) return undefined
  const body = match[1]!.trim()
  if (body.startsWith('skip')) {
    const reason = /^skip\s*\((.+)\)$/s.exec(body)?.[1]?.trim()
    if (!reason) throw new Error(`${readme}:${first + 1}: \`sample: skip\` needs a (reason)`)
    return { skip: reason }
  }
  const file = /^file\s+(\S+)$/.exec(body)?.[1]
  if (file) {
    if (file.includes('/'))
      throw new Error(`${readme}:${first + 1}: \`sample: file\` takes a bare name`)
    return { file }
  }
  if (!body) throw new Error(`${readme}:${first + 1}: empty \`sample:\` comment`)
  return { declarations: body }
}

function compilerOptions(): ts.CompilerOptions {
  const path = join(ROOT, 'tsconfig.base.json')
  const { config, error } = ts.readConfigFile(path, ts.sys.readFile)
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'))
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, path)
  return {
    ...parsed.options,
    types: ['node'],
    noEmit: true,
    // Every block is a module, even one without import or export (top-level await, own scope).
    moduleDetection: ts.ModuleDetectionKind.Force,
    allowJs: true,
    checkJs: true,
  }
}

/** Workspace folders whose node_modules a sample's bare import may come from, README's first. */
function resolutionDirs(readme: string): string[] {
  const dirs = ['packages', 'examples'].flatMap((group) =>
    readdirSync(join(ROOT, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(ROOT, group, entry.name))
  )
  const own = join(ROOT, dirname(readme))
  return [own, ...dirs.filter((dir) => dir !== own)]
}

interface Checked {
  sample: Sample
  diagnostics: string[]
}

function check(samples: Sample[]): { results: Checked[]; global: string[] } {
  const options = compilerOptions()
  const virtual = new Map<string, Sample>()
  const texts = new Map<string, string>()
  for (const sample of samples) {
    virtual.set(sample.file, sample)
    texts.set(sample.file, `${sample.preamble}\n${sample.code}\n`)
  }
  const host = ts.createCompilerHost(options, true)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const text = texts.get(fileName)
    if (text !== undefined) return ts.createSourceFile(fileName, text, languageVersion, true)
    return getSourceFile(fileName, languageVersion, onError, shouldCreate)
  }
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (fileName) => texts.has(fileName) || fileExists(fileName)
  const readFile = host.readFile.bind(host)
  host.readFile = (fileName) => texts.get(fileName) ?? readFile(fileName)
  const cache = ts.createModuleResolutionCache(ROOT, (name) => name, options)
  const dirsOf = new Map<string, string[]>()
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, opts) =>
    literals.map((literal) => {
      const sample = virtual.get(containingFile)
      if (!sample || literal.text.startsWith('.')) {
        return ts.resolveModuleName(literal.text, containingFile, opts, host, cache, redirected)
      }
      const dirs = dirsOf.get(sample.readme) ?? resolutionDirs(sample.readme)
      dirsOf.set(sample.readme, dirs)
      let first: ts.ResolvedModuleWithFailedLookupLocations | undefined
      for (const dir of dirs) {
        const from = join(dir, '__sample__.ts')
        const found = ts.resolveModuleName(literal.text, from, opts, host, cache, redirected)
        if (found.resolvedModule) return found
        first ??= found
      }
      return first!
    })
  const program = ts.createProgram({ rootNames: [...texts.keys()], options, host })
  const format = (d: ts.Diagnostic): string => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n  ')
    if (!d.file || d.start === undefined) return `TS${d.code}: ${message}`
    const { line } = d.file.getLineAndCharacterOfPosition(d.start)
    const sample = virtual.get(d.file.fileName)
    if (!sample) return `${relative(ROOT, d.file.fileName)}:${line + 1}: TS${d.code}: ${message}`
    const offset = sample.preamble.split('\n').length
    const where =
      line < offset
        ? `${sample.readme} (the sample comments of the block at line ${sample.line})`
        : `${sample.readme}:${sample.line + line - offset}`
    return `${where}: TS${d.code}: ${message}`
  }
  const results = samples.map((sample) => {
    const file = program.getSourceFile(sample.file)!
    const diagnostics = [
      ...program.getSyntacticDiagnostics(file),
      ...program.getSemanticDiagnostics(file),
    ].map(format)
    return { sample, diagnostics }
  })
  const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map(format)
  return { results, global }
}

const all = readmes().flatMap((readme) =>
  extractSamples(readme, readFileSync(join(ROOT, readme), 'utf8'))
)

// A README of the harness's own, checked in the same program: its diagnostic must come back at
// the README line of the faulty statement, past a multi-line sample comment.
const PROBE = extractSamples(
  'packages/testing/README.md',
  [
    '# probe',
    '',
    '<!-- sample:',
    'declare const n: number',
    '-->',
    '```ts',
    '',
    'const s: string = n',
    '```',
  ].join('\n')
)

describe('README code samples type-check against the packages', () => {
  let checked: Map<string, string[]>
  let global: string[]
  beforeAll(() => {
    const run = check([...PROBE, ...all.filter((sample) => !sample.skip)])
    checked = new Map(run.results.map((r) => [r.sample.file, r.diagnostics]))
    global = run.global
  }, 120_000)

  it('the compiler options and global types have no errors', () => {
    expect(global).toEqual([])
  })

  it('a diagnostic names the README and the line of the statement', () => {
    expect(checked.get(PROBE[0]!.file)).toEqual([
      "packages/testing/README.md:8: TS2322: Type 'number' is not assignable to type 'string'.",
    ])
  })

  for (const sample of all) {
    const name = `${sample.readme}:${sample.line}`
    it.skipIf(sample.skip !== undefined)(
      sample.skip ? `${name} (not checked: ${sample.skip})` : name,
      () => {
        expect(checked.get(sample.file)).toEqual([])
      }
    )
  }
})

describe('sample comments', () => {
  const block = (comment: string) => `${comment}\n\`\`\`ts\nlet x = 1\n\`\`\`\n`
  it('a skip must say why', () => {
    expect(() => extractSamples('R.md', block('<!-- sample: skip -->'))).toThrow(
      /needs a \(reason\)/
    )
    expect(extractSamples('R.md', block('<!-- sample: skip (pseudo-code) -->'))[0]!.skip).toBe(
      'pseudo-code'
    )
  })

  it('a README-wide comment applies to every block, a block comment to its block only', () => {
    const text = `<!-- samples: declare const a: 1 -->\n${block('<!-- sample: declare const b: 2 -->')}${block('')}`
    expect(extractSamples('R.md', text).map((s) => s.preamble)).toEqual([
      'declare const a: 1\ndeclare const b: 2',
      'declare const a: 1',
    ])
  })

  it('`file` names the block after a bare file name beside the README', () => {
    expect(extractSamples('packages/x/R.md', block('<!-- sample: file a.mjs -->'))[0]!.file).toBe(
      join(ROOT, 'packages/x/a.mjs')
    )
    expect(() => extractSamples('R.md', block('<!-- sample: file ../a.mjs -->'))).toThrow(
      /bare name/
    )
  })
})

/**
 * Runs a sample's code (as CommonJS) with its imports taken from `modules`; returns its exports
 * and its top-level bindings named in `locals`.
 */
function run(
  sample: Sample,
  modules: Record<string, unknown>,
  locals: string[] = []
): Record<string, unknown> {
  const { outputText } = ts.transpileModule(sample.code, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  })
  const exports: Record<string, unknown> = {}
  const require = (id: string): unknown => {
    if (!(id in modules)) throw new Error(`${sample.readme}:${sample.line} imports ${id}`)
    return modules[id]
  }
  const body = `${outputText}\nreturn { ${locals.join(', ')} }`
  const bindings = new Function('exports', 'require', body)(exports, require)
  return { ...exports, ...bindings }
}

/** The `n`-th checked block of `readme` (0-based). */
function sampleOf(readme: string, n: number): Sample {
  const sample = all.filter((s) => s.readme === readme)[n]
  if (!sample) throw new Error(`${readme} has no sample ${n}`)
  return sample
}

const source = (path: string): Promise<Record<string, unknown>> => import(join(ROOT, path))

async function serve(listener: RequestListener, requests: (url: string) => Promise<void>) {
  const server = createServer(listener)
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  try {
    await requests(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    server.closeAllConnections()
    await new Promise((done) => server.close(done))
  }
}

describe('README first samples run', () => {
  it('README.md: the `timing` middleware sets its headers on node:http', async () => {
    const core = await source('packages/core/src/index.ts')
    const { toNodeHandler } = await source('packages/adapters/src/node/index.ts')
    const { timing } = run(sampleOf('README.md', 0), { '@aikit/core': core })
    const listener = (toNodeHandler as (...args: unknown[]) => RequestListener)(timing, {
      handler: (_req: unknown, res: { end(body: string): void }) => res.end('ok'),
    })
    await serve(listener, async (url) => {
      const response = await fetch(url)
      expect(response.status).toBe(200)
      expect(await response.text()).toBe('ok')
      expect(response.headers.get('x-powered-by-kit')).toBe('aikit')
      expect(response.headers.get('server-timing')).toMatch(/^app;dur=\d/)
    })
  })

  it('packages/core/README.md: `chat` refuses a body without a question, passes one with it', async () => {
    const core = await source('packages/core/src/index.ts')
    const { toNodeHandler } = await source('packages/adapters/src/node/index.ts')
    const { chat } = run(sampleOf('packages/core/README.md', 0), { '@aikit/core': core })
    const listener = (toNodeHandler as (...args: unknown[]) => RequestListener)(chat, {
      handler: (_req: unknown, res: { end(body: string): void }) => res.end('answer'),
    })
    await serve(listener, async (url) => {
      const post = (body: unknown) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      const refused = await post({ question: 42 })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({ error: { code: 'INVALID_REQUEST' } })
      const passed = await post({ question: 'why?' })
      expect(passed.status).toBe(200)
      expect(await passed.text()).toBe('answer')
      expect(passed.headers.get('x-final-status')).toBe('200')
    })
  })

  it('packages/security/README.md: the Express app sends the headers and the CSP nonce', async () => {
    const express = createRequire(join(ROOT, 'packages/security/package.json'))('express')
    const { app } = run(
      sampleOf('packages/security/README.md', 0),
      {
        express,
        '@aikit/adapters/express': await source('packages/adapters/src/express/index.ts'),
        '@aikit/security': await source('packages/security/src/index.ts'),
      },
      ['app']
    )
    await serve(app as RequestListener, async (url) => {
      const response = await fetch(url, { headers: { origin: 'https://pr-7.preview.example.com' } })
      expect(response.status).toBe(200)
      const nonce = /'nonce-([^']+)'/.exec(response.headers.get('content-security-policy') ?? '')
      expect(await response.text()).toBe(`<script nonce="${nonce?.[1]}">…</script>`)
      expect(response.headers.get('access-control-allow-origin')).toBe(
        'https://pr-7.preview.example.com'
      )
      expect(response.headers.get('permissions-policy')).not.toBeNull()
    })
  })

  it("packages/cli/README.md: aikit.config.mjs passes the doctor's config item", async () => {
    const { runDoctor } = await source('packages/cli/src/index.ts')
    const sample = all.find((s) => s.file.endsWith('/packages/cli/aikit.config.mjs'))!
    const config = run(sample, {}).default
    const result = (runDoctor as (input: unknown) => { items: { id: string; status: string }[] })({
      env: { NODE_ENV: 'production', REDIS_URL: 'rediss://:pw@redis.example.com' },
      config,
    })
    expect(result.items.find((item) => item.id === 'config')).toMatchObject({ status: 'PASS' })
    expect(result.items.find((item) => item.id === 'cors')).toMatchObject({ status: 'PASS' })
  })
})
