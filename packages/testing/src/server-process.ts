/**
 * @module server-process
 * Internal (no subpath export): a spawned `redis-server` (plain or sentinel) with its output tail,
 * bounded waits, and the check that the server answering on a port is the one we spawned.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { trackProcess } from './processes.js'
import { rawCommand } from './raw-command.js'

/**
 * The `redis-server` binary (`AIKIT_REDIS_SERVER`, default `redis-server` on the PATH). A wrapper
 * script must `exec` it: the server's `process_id` has to be the pid spawned here.
 */
export const REDIS_SERVER = process.env.AIKIT_REDIS_SERVER ?? 'redis-server'
/** Default bound of every wait, in ms. */
export const WAIT_MS = 10_000

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** One redis-server process with its output tail, for error messages. */
export class ServerProcess {
  readonly child: ChildProcess
  output = ''
  exited = false
  readonly exit: Promise<void>

  constructor(args: string[]) {
    this.child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    trackProcess(this.child)
    const append = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000)
    }
    this.child.stdout?.on('data', append)
    this.child.stderr?.on('data', append)
    this.exit = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.exited = true
        resolve()
      })
      this.child.once('error', (error) => {
        append(Buffer.from(String(error)))
        this.exited = true
        resolve()
      })
    })
  }

  /** Sends `signal` and waits for exit (SIGKILL after 3 s if SIGTERM is ignored). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.exited) return
    this.child.kill(signal)
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000)
    await this.exit
    clearTimeout(timer)
  }
}

/**
 * Why a wait failed. `portLost`: the server exited (e.g. its port was taken) or another process
 * answers on its port, so a fresh port may help; otherwise the time ran out.
 */
export class WaitError extends Error {
  constructor(
    message: string,
    readonly portLost: boolean
  ) {
    super(message)
    this.name = 'WaitError'
  }
}

/**
 * Polls `check` until it returns true; throws after `waitMs` or as soon as a server exits. A
 * `WaitError` thrown by `check` ends the wait at once; the timeout error names the last other
 * error `check` threw (an error reply such as `-NOAUTH`, a refused connection).
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  servers: readonly ServerProcess[] = [],
  waitMs = WAIT_MS
): Promise<void> {
  const deadline = Date.now() + waitMs
  let lastError: unknown
  for (;;) {
    const dead = servers.find((s) => s.exited)
    if (dead) {
      throw new WaitError(`redis-server exited while waiting for ${what}:\n${dead.output}`, true)
    }
    let ok = false
    try {
      ok = await check()
    } catch (error) {
      if (error instanceof WaitError) throw error
      lastError = error
    }
    if (ok) return
    if (Date.now() > deadline) {
      const output = servers.map((s) => s.output).join('\n---\n')
      const last =
        lastError === undefined
          ? ''
          : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`
      throw new WaitError(
        `timed out after ${waitMs / 1000} s waiting for ${what}${last}\n${output}`,
        false
      )
    }
    await sleep(25)
  }
}

/**
 * Resolves once the server answering on `port` is `server` (its `INFO server` `process_id` is the
 * spawned pid). Throws a `WaitError` with `portLost` when another process answers there: the port
 * was taken between picking it and the server binding it, and `server` will fail to bind.
 */
export async function assertOwnServer(port: number, server: ServerProcess): Promise<void> {
  const info = await rawCommand(port, ['INFO', 'server'], 500)
  const pid = /^process_id:(\d+)/m.exec(info)?.[1]
  if (pid !== undefined && Number(pid) === server.child.pid) return
  throw new WaitError(
    `port ${port} is answered by another process (process_id ${pid ?? 'unknown'}), ` +
      `not by the redis-server started on it (pid ${server.child.pid})`,
    true
  )
}
