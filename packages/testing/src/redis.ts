/**
 * @module @aikit/testing/redis
 * Real `redis-server` processes for tests: one node (`startRedis`) or a 3-master Cluster
 * (`startRedisCluster`). Each runs on free loopback ports with no persistence, in a temp dir that is
 * removed on `stop()`. Processes are killed on `stop()` and when the test process ends, however it
 * ends (a normal exit, a signal, even SIGKILL: see `processes.ts`). Every wait is bounded (about
 * 10 s) and fails with a clear error that includes the last error seen and the server's last output.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'
import { removeTrackedDir, trackDir, trackProcess } from './processes.js'

const HOST = '127.0.0.1' as const
const REDIS_SERVER = process.env.AIKIT_REDIS_SERVER ?? 'redis-server'
const REDIS_CLI = process.env.AIKIT_REDIS_CLI ?? 'redis-cli'
const WAIT_MS = 10_000
// Cluster creation waits for gossip between the nodes, which is slow on a loaded 2-core machine.
const CLUSTER_WAIT_MS = 30_000

/** A running single redis-server. */
export interface RedisServer {
  readonly host: '127.0.0.1'
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** A new ioredis client for this server, disconnected on `stop()`. Errors are not logged. */
  client(options?: Omit<RedisOptions, 'replyMapping'>): Redis
  /** Disconnects clients, stops the server and removes its temp dir. Idempotent. */
  stop(): Promise<void>
  /** Kills the server with SIGKILL (for outage tests); clients keep trying to reconnect. */
  kill(): Promise<void>
  /** Starts the server again on the same port (after `kill()`, or stops it first) and waits for PING. */
  restart(): Promise<void>
}

/** Options of `startRedis`. */
export interface StartRedisOptions {
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '1mb']`. Default none. */
  args?: string[]
  /**
   * How long `startRedis()` and `restart()` wait for the server to answer PING, in ms. Default
   * 10 000. On a timeout the server is killed and the error names the last reply or error seen
   * (e.g. `NOAUTH Authentication required.`).
   */
  timeoutMs?: number
}

/** A running 3-master Redis Cluster. */
export interface RedisClusterHandle {
  readonly nodes: { host: '127.0.0.1'; port: number }[]
  /** A new ioredis Cluster client, disconnected on `stop()`. Errors are not logged. */
  cluster(options?: ClusterOptions): Cluster
  /** Disconnects clients, stops every node and removes the temp dir. Idempotent. */
  stop(): Promise<void>
}

function makeTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aikit-redis-'))
  trackDir(dir)
  return dir
}

/** A port that was free a moment ago (listen on port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))))
    })
  })
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** One redis-server process with its output tail, for error messages. */
class ServerProcess {
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
 * Sends one command over a fresh TCP connection and returns the reply as text (simple strings,
 * integers and bulk strings only). Rejects on an error reply, a connection error or after `ms`.
 */
export function rawCommand(port: number, args: string[], ms = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port })
    let buffer = ''
    const done = (error: Error | undefined, value?: string) => {
      clearTimeout(timer)
      socket.destroy()
      if (error) reject(error)
      else resolve(value ?? '')
    }
    const timer = setTimeout(() => done(new Error(`no reply within ${ms} ms`)), ms)
    socket.once('error', (error) => done(error))
    socket.on('data', (chunk) => {
      buffer += chunk.toString()
      const lineEnd = buffer.indexOf('\r\n')
      if (lineEnd === -1) return
      const type = buffer[0]
      const line = buffer.slice(1, lineEnd)
      if (type === '-') return done(new Error(line))
      if (type !== '$') return done(undefined, line)
      const length = Number(line)
      if (length < 0) return done(undefined, '')
      if (buffer.length >= lineEnd + 2 + length + 2) {
        done(undefined, buffer.slice(lineEnd + 2, lineEnd + 2 + length))
      }
    })
    const body = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')
    socket.write(`*${args.length}\r\n${body}`)
  })
}

/** Why a wait failed: the server exited (e.g. its port was taken) or the time ran out. */
class WaitError extends Error {
  constructor(
    message: string,
    readonly serverExited: boolean
  ) {
    super(message)
    this.name = 'WaitError'
  }
}

/**
 * Polls `check` until it returns true; throws after `waitMs` or as soon as a server exits. The
 * timeout error names the last error `check` threw (an error reply such as `-NOAUTH`, a refused
 * connection).
 */
async function waitUntil(
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
    const ok = await check().catch((error: unknown) => {
      lastError = error
      return false
    })
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

function baseArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'].concat([
    '--dir',
    dir,
    '--daemonize',
    'no',
  ])
}

/**
 * Spawns a redis-server and waits until it answers PING. On failure the process is killed
 * (SIGKILL) before the error is thrown: a server that never became usable must not keep running.
 */
async function launch(port: number, args: string[], waitMs = WAIT_MS): Promise<ServerProcess> {
  const server = new ServerProcess(args)
  try {
    await waitUntil(
      `PING on port ${port}`,
      async () => (await rawCommand(port, ['PING'], 500)) === 'PONG',
      [server],
      waitMs
    )
  } catch (error) {
    await server.stop('SIGKILL')
    throw error
  }
  return server
}

/** The last error each tracked client emitted, for `whenReady`'s error message. */
const lastErrors = new WeakMap<Redis | Cluster, unknown>()

/** Tracks clients so `stop()` can disconnect them; swallows (and remembers) their error events. */
function clientTracker() {
  const clients = new Set<Redis | Cluster>()
  return {
    track<T extends Redis | Cluster>(client: T): T {
      client.on('error', (error: unknown) => lastErrors.set(client, error))
      clients.add(client)
      return client
    },
    disconnectAll(): void {
      for (const c of clients) c.disconnect()
      clients.clear()
    },
  }
}

/** Starts one redis-server on a free loopback port and waits until it answers PING. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const dir = makeTempDir()
  const extra = options.args ?? []
  const waitMs = options.timeoutMs ?? WAIT_MS
  let port = 0
  let server: ServerProcess | undefined
  try {
    for (let attempt = 1; !server; attempt++) {
      port = await freePort()
      try {
        server = await launch(port, [...baseArgs(port, dir), ...extra], waitMs)
      } catch (error) {
        // The port may have been taken in between (the server then exits at once): retry on a
        // fresh port. A server that ran but never answered PING would time out again: give up.
        if (attempt >= 3 || !(error instanceof WaitError && error.serverExited)) throw error
      }
    }
  } catch (error) {
    removeTrackedDir(dir)
    throw error
  }
  const clients = clientTracker()
  let current: ServerProcess = server
  let stopped = false
  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    client(clientOptions?: Omit<RedisOptions, 'replyMapping'>) {
      return clients.track(new Redis({ host: HOST, port, ...clientOptions }))
    },
    async kill() {
      await current.stop('SIGKILL')
    },
    async restart() {
      if (stopped) throw new Error('restart() after stop()')
      await current.stop('SIGTERM')
      current = await launch(port, [...baseArgs(port, dir), ...extra], waitMs)
    },
    async stop() {
      if (stopped) return
      stopped = true
      clients.disconnectAll()
      await current.stop('SIGTERM')
      removeTrackedDir(dir)
    },
  }
}

function runCli(args: string[], timeoutMs = WAIT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(REDIS_CLI, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error)
        reject(
          new Error(`redis-cli ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`)
        )
      else resolve(stdout)
    })
  })
}

/**
 * Starts a Redis Cluster of 3 masters (no replicas) on free loopback ports, creates it with
 * `redis-cli --cluster create` and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(): Promise<RedisClusterHandle> {
  // One retry with fresh ports: a port picked as free can be taken by a parallel test before the
  // node binds it, and gossip can stall on a loaded machine.
  try {
    return await startRedisClusterOnce()
  } catch {
    return await startRedisClusterOnce()
  }
}

async function startRedisClusterOnce(): Promise<RedisClusterHandle> {
  const dir = makeTempDir()
  const servers: ServerProcess[] = []
  const ports: number[] = []
  const stopAll = async () => {
    await Promise.all(servers.map((s) => s.stop('SIGTERM')))
  }
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const busPort = await freePort()
      const args = [
        ...baseArgs(port, dir),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-port',
        String(busPort),
        '--cluster-node-timeout',
        '5000',
      ]
      servers.push(await launch(port, args))
      ports.push(port)
    }
    await runCli(
      [
        '--cluster',
        'create',
        ...ports.map((p) => `${HOST}:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      CLUSTER_WAIT_MS
    )
    await waitUntil(
      'cluster_state:ok on all nodes',
      async () => {
        const infos = await Promise.all(ports.map((p) => rawCommand(p, ['CLUSTER', 'INFO'])))
        return infos.every((info) => info.includes('cluster_state:ok'))
      },
      servers,
      CLUSTER_WAIT_MS
    )
  } catch (error) {
    await stopAll()
    removeTrackedDir(dir)
    throw error
  }
  const clients = clientTracker()
  const nodes = ports.map((port) => ({ host: HOST, port }))
  let stopped = false
  return {
    nodes,
    cluster(options?: ClusterOptions) {
      return clients.track(new Cluster(nodes, options as ConstructorParameters<typeof Cluster>[1]))
    },
    async stop() {
      if (stopped) return
      stopped = true
      clients.disconnectAll()
      await stopAll()
      removeTrackedDir(dir)
    },
  }
}

/**
 * Resolves once an ioredis client (single node or Cluster) is ready. Rejects if it ends first, or
 * after `timeoutMs` (default 10 000), with the client's status and the last error it emitted.
 */
export async function whenReady(client: Redis | Cluster, timeoutMs = WAIT_MS): Promise<void> {
  if (client.status === 'ready') return
  if (client.status === 'end') throw new Error('client ended before ready (status end)')
  let lastError: unknown = lastErrors.get(client)
  const onError = (error: unknown) => {
    lastError = error
  }
  let onReady = () => {}
  let onEnd = () => {}
  let timer: NodeJS.Timeout | undefined
  const state = () => {
    const last =
      lastError === undefined
        ? 'no error'
        : `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
    return `status ${client.status}, ${last}`
  }
  try {
    await new Promise<void>((resolve, reject) => {
      onReady = () => resolve()
      onEnd = () => reject(new Error(`client ended before ready (${state()})`))
      client.on('error', onError)
      client.once('ready', onReady)
      client.once('end', onEnd)
      timer = setTimeout(
        () => reject(new Error(`client not ready after ${timeoutMs} ms (${state()})`)),
        timeoutMs
      )
    })
  } finally {
    clearTimeout(timer)
    client.off('error', onError)
    client.off('ready', onReady)
    client.off('end', onEnd)
  }
}
