/**
 * Builds the example once (`next build`, skipped when the build is newer than every input: the
 * app's sources, the chat kit and the built @aikit packages it bundles) and runs `next start` on a
 * free 127.0.0.1 port as a child process, the way the app runs in production.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_ROOT = path.resolve(APP_DIR, '../..')
const NEXT_BIN = path.join(APP_DIR, 'node_modules/next/dist/bin/next')
/** The @aikit packages whose dist/ the app bundles. */
const KIT_PACKAGES = [
  'adapters',
  'cache',
  'core',
  'cost',
  'llm',
  'observability',
  'ratelimit',
  'security',
]
const SKIP = new Set(['.next', 'node_modules', 'test', 'next-env.d.ts', '.turbo'])

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name) || entry.name.endsWith('.md')) continue
    const p = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)
  }
  return newest
}

/** The newest modification time among the files the build reads from the workspace. */
function inputsMtime(): number {
  const dirs = [APP_DIR, path.join(REPO_ROOT, 'examples/chat-kit')]
  for (const name of KIT_PACKAGES) dirs.push(path.join(REPO_ROOT, 'packages', name, 'dist'))
  return Math.max(...dirs.filter((d) => existsSync(d)).map(newestMtime))
}

/** True when `.next` holds a complete build made after the last change of any input. */
export function buildIsFresh(): boolean {
  const id = path.join(APP_DIR, '.next', 'BUILD_ID')
  return existsSync(id) && statSync(id).mtimeMs > inputsMtime()
}

/** Runs `node <next> <args>` in the app directory; rejects with the output's tail on failure. */
function runNext(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NEXT_BIN, ...args], {
      cwd: APP_DIR,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new Error(`next ${args.join(' ')} failed (${code ?? signal}):\n${output}`))
    })
  })
}

/** Builds the app unless `.next` is fresh. Resolves with whether it built. */
export async function buildApp(timeoutMs: number): Promise<boolean> {
  if (buildIsFresh()) return false
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
    // Types are checked by `pnpm typecheck`; skipping Next's check saves ~15 s here.
    NEXT_CHAT_SKIP_TYPECHECK: '1',
    // File tracing (the .nft.json files a deployment copies) is not needed to run `next start`.
    NEXT_CHAT_SKIP_TRACING: '1',
  }
  await runNext(['build', '--webpack'], env, timeoutMs)
  return true
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface RunningApp {
  url: string
  /** The server's recent output, for failure messages. */
  output(): string
  stop(): Promise<void>
}

/**
 * Starts `next start` with `env` layered over a clean environment (no API key, no Redis: the
 * fake model and memory stores) and waits until /api/health answers.
 */
export async function startApp(
  env: Record<string, string>,
  timeoutMs: number
): Promise<RunningApp> {
  const port = await freePort()
  const base: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ['ANTHROPIC_API_KEY', 'REDIS_URL', 'METRICS_TOKEN', 'TRUST_PROXY', 'VITEST']) {
    delete base[name]
  }
  const child: ChildProcess = spawn(
    process.execPath,
    [NEXT_BIN, 'start', '--hostname', '127.0.0.1', '--port', String(port)],
    {
      cwd: APP_DIR,
      env: { ...base, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }
  )
  let output = ''
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let running = true
  void exited.then(() => {
    running = false
  })

  const stop = async () => {
    if (!running) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!running) throw new Error(`next start exited early:\n${output}`)
    try {
      const res = await fetch(`${url}/api/health`)
      await res.arrayBuffer()
      if (res.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`next start did not become healthy in ${timeoutMs} ms:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return { url, output: () => output, stop }
}
