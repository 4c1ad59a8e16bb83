/**
 * A built Next.js fixture app for tests: builds it once (`next build --webpack`, skipped when no
 * input changed, serialised across vitest workers with a lock directory) and serves it in the test
 * process with `next({ dev: false })` behind `node:http` on 127.0.0.1, port 0. Route modules are
 * loaded by Next's own module loader; they share `globalThis` (and the AsyncLocalStorage of
 * `@aikit/core`) with the test process.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import path from 'node:path'

const BUILD_TIMEOUT_MS = 240_000

/** Appends every file under `dir` (build outputs, node_modules and lock folders left out). */
export function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (
      entry.name === '.next' ||
      entry.name === 'node_modules' ||
      entry.name.startsWith('.build')
    ) {
      continue
    }
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) walk(p, out)
    else if (entry.name !== 'next-env.d.ts') out.push(p)
  }
}

/** A fingerprint of every file the build reads from the workspace. */
function inputsFingerprint(dir: string, config: string, inputs: () => string[]): string {
  const files: string[] = [config]
  walk(dir, files)
  files.push(...inputs())
  const hash = createHash('sha256')
  for (const f of files.sort()) {
    const s = statSync(f)
    hash.update(`${f}\0${s.size}\0${s.mtimeMs}\n`)
  }
  return hash.digest('hex')
}

const stampOf = (dir: string): string => path.join(dir, '.next', 'aikit-inputs.txt')

function upToDate(dir: string, fingerprint: string): boolean {
  const stamp = stampOf(dir)
  return (
    existsSync(path.join(dir, '.next', 'BUILD_ID')) &&
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8') === fingerprint
  )
}

function runBuild(dir: string, bin: string, args: readonly string[]): Promise<{ ms: number }> {
  const started = Date.now()
  // A Next server loaded earlier in this process sets TURBOPACK=auto, which `--webpack` refuses.
  const { TURBOPACK: _bundler, ...env } = process.env
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve({ ms: Date.now() - started })
      else reject(new Error(`next build failed (${code ?? signal}):\n${output.slice(-4000)}`))
    })
  })
}

async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const LOCK = path.join(dir, '.build-lock')
  const deadline = Date.now() + BUILD_TIMEOUT_MS + 30_000
  for (;;) {
    try {
      mkdirSync(LOCK)
      break
    } catch {
      // Another worker is building. A lock older than the build timeout is stale.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > BUILD_TIMEOUT_MS + 10_000)
          rmSync(LOCK, { recursive: true, force: true })
      } catch {
        // vanished meanwhile
      }
      if (Date.now() > deadline)
        throw new Error('timed out waiting for the Next fixture build lock')
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}

/** Next's request handler. */
export type Handle = (req: IncomingMessage, res: ServerResponse) => Promise<void>

interface NextApp {
  prepare(): Promise<void>
  getRequestHandler(): Handle
  close?: () => Promise<void>
}

/** Where a fixture lives and what its build reads. */
export interface NextFixtureOptions {
  /** The fixture folder (next.config.mjs, app/, proxy.ts...). */
  dir: string
  /** The folder of the package.json whose dependencies provide `next`. */
  packageDir: string
  /** Files outside `dir` that the build reads (workspace sources it imports), for the fingerprint. */
  inputs: () => string[]
  /** The next.config.mjs shared by nested variants. @default `${dir}/next.config.mjs` */
  config?: string
  /**
   * The folder of the Next.js package that builds and serves the fixture (another major than the
   * workspace's, e.g. an aliased `next-v15`). @default `next` as `packageDir` resolves it
   */
  nextDir?: string
  /** The `next` CLI arguments of the build. @default `['build', '--webpack']` (Next 16) */
  buildArgs?: readonly string[]
  /** Runs before each build check, inside the build lock (e.g. to link `node_modules/next`). */
  prepare?: () => void
}

/** The build and load steps of one fixture (the `dir` argument selects a nested variant). */
export function nextFixture(options: NextFixtureOptions): {
  buildFixture(dir?: string): Promise<{ ms: number; built: boolean }>
  loadNext(dir?: string): Promise<{ handle: Handle; close: () => Promise<void> }>
} {
  const require = createRequire(path.join(options.packageDir, 'package.json'))
  const config = options.config ?? path.join(options.dir, 'next.config.mjs')
  const nextDir = options.nextDir ?? path.dirname(require.resolve('next/package.json'))
  const buildArgs = options.buildArgs ?? ['build', '--webpack']
  return {
    /** Builds the fixture unless its inputs are unchanged. Resolves with the build time (0 if skipped). */
    buildFixture(dir = options.dir) {
      return withLock(dir, async () => {
        options.prepare?.()
        const fingerprint = inputsFingerprint(dir, config, options.inputs)
        if (upToDate(dir, fingerprint)) return { ms: 0, built: false }
        const { ms } = await runBuild(dir, path.join(nextDir, 'dist/bin/next'), buildArgs)
        writeFileSync(stampOf(dir), fingerprint)
        return { ms, built: true }
      })
    },
    /** Loads the built fixture in this process. */
    async loadNext(dir = options.dir) {
      process.env.NEXT_TELEMETRY_DISABLED = '1'
      const next = require(nextDir) as (o: {
        dir: string
        dev: boolean
        hostname: string
        port: number
      }) => NextApp
      const app = next({ dir, dev: false, hostname: '127.0.0.1', port: 0 })
      await app.prepare()
      return { handle: app.getRequestHandler(), close: async () => app.close?.() }
    },
  }
}

export interface FixtureServer {
  url: string
  close(): Promise<void>
}

/**
 * Serves Next on 127.0.0.1 (port 0). `headers` are forced onto every incoming request, replacing
 * what the client sent; names are case-insensitive (stored lower-cased, as Node stores them).
 */
export async function serve(
  handle: Handle,
  headers: Record<string, string> = {}
): Promise<FixtureServer> {
  const server = createServer((req, res) => {
    for (const [name, value] of Object.entries(headers)) req.headers[name.toLowerCase()] = value
    handle(req, res).catch(() => {
      if (!res.headersSent) res.statusCode = 500
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
