/**
 * Starts `fixtures/app.mjs` as a child process (the built packages, as a user's app runs them) and
 * talks to it over 127.0.0.1. Every child is tracked and killed by `stopAllApps()` (afterAll) and,
 * as a last resort, when the test process exits.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const APP = fileURLToPath(new URL('../fixtures/app.mjs', import.meta.url))
const START_TIMEOUT_MS = 20_000

/** A running app child process. */
export interface AppProcess {
  readonly url: string
  readonly child: ChildProcess
  /** The child's stdout + stderr tail, for failure messages. */
  output(): string
  /** SIGKILL (no cleanup, like a crash) and wait for the exit. */
  kill(): Promise<void>
  /** SIGTERM (graceful), SIGKILL after 3 s; waits for the exit. Idempotent. */
  stop(): Promise<void>
}

/** What the app answers on `GET /_events`. */
export interface AppEvents {
  events: { source: 'store' | 'cache'; type: 'degraded' | 'recovered'; at: number }[]
  fetches: number
  /** `cache.stats().storeErrors`: store calls the cache absorbed (memory + fetcher instead). */
  cacheStoreErrors: number
  /** `limiter.stats().degraded`: decisions taken on the memory fallback. */
  limiterDegraded: number
}

const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/** Starts one app with these environment variables and waits for the port it prints. */
export async function startApp(env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(process.execPath, [APP], {
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  let tail = ''
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child)
      resolve()
    })
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`app did not start within ${START_TIMEOUT_MS} ms:\n${tail}`)),
      START_TIMEOUT_MS
    )
    const onData = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000)
      const match = /\{"port":(\d+)\}/.exec(tail)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`app exited with ${code} before listening:\n${tail}`))
    })
  })
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  }
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => tail,
    kill: () => stopWith('SIGKILL'),
    stop: () => stopWith('SIGTERM'),
  }
}

/** Stops every app still running (afterAll). */
export async function stopAllApps(apps: readonly (AppProcess | undefined)[]): Promise<void> {
  await Promise.all(apps.map((app) => app?.stop()))
}

/** One HTTP answer: status and parsed JSON body (undefined when not JSON). */
export interface Answer<T = Record<string, unknown>> {
  status: number
  body: T
}

/** GET or POST (with a JSON body) and read the JSON answer. */
export async function call<T = Record<string, unknown>>(
  url: string,
  init: { body?: unknown; headers?: Record<string, string> } = {}
): Promise<Answer<T>> {
  const res = await fetch(url, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
  const text = await res.text()
  let body: T
  try {
    body = JSON.parse(text) as T
  } catch {
    body = { raw: text } as T
  }
  return { status: res.status, body }
}

/** The budget status the app reads from the shared store. */
export interface BudgetStatus {
  limits: { limitMicros: number; spentMicros: number; heldMicros: number }[]
}

/** Polls `check` every 50 ms until it returns true or `maxTries` ran out; returns the try count. */
export async function pollUntil(
  check: () => Promise<boolean>,
  maxTries: number
): Promise<number | undefined> {
  for (let i = 1; i <= maxTries; i++) {
    if (await check().catch(() => false)) return i
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return undefined
}
