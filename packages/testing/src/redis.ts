/**
 * @module @aikit/testing/redis
 * Real `redis-server` processes for tests: one node (`startRedis`) or a 3-master Cluster
 * (`startRedisCluster`). Each runs on free loopback ports with no persistence, in a temp dir that is
 * removed on `stop()`. Processes are killed on `stop()` and when the test process ends, however it
 * ends (a normal exit, a signal, even SIGKILL: see `processes.ts`). Every wait is bounded (about
 * 10 s) and fails with a clear error that includes the last error seen and the server's last output.
 * A handle is only ever given on a server this process spawned: when another server took the
 * picked port first, the launch moves to a fresh port.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'
import { removeTrackedDir, trackDir } from './processes.js'
import { rawCommand } from './raw-command.js'
import { assertOwnServer, ServerProcess, WAIT_MS, WaitError, waitUntil } from './server-process.js'

export { rawCommand }

const HOST = '127.0.0.1' as const
const REDIS_CLI = process.env.AIKIT_REDIS_CLI ?? 'redis-cli'
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
  /**
   * Starts the server again on the same port (after `kill()`, or stops it first) and waits for
   * PING. Rejects (and kills the new server) when another process took the port meanwhile.
   */
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
  /**
   * Kills the master `nodes[index]` with SIGKILL (for outage tests). Its cluster config file stays,
   * so `restartNode(index)` brings back the same node with the same slots.
   */
  killNode(index: number): Promise<void>
  /**
   * Starts `nodes[index]` again on the same ports with its cluster config (after `killNode`, or
   * stops it first) and waits for PING: not for the other nodes to clear their FAIL flag on it,
   * which takes up to twice the node timeout (5 s here).
   */
  restartNode(index: number): Promise<void>
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

function baseArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'].concat([
    '--dir',
    dir,
    '--daemonize',
    'no',
  ])
}

/**
 * Spawns a redis-server and waits until it answers PING, then checks that the server answering is
 * the one spawned (another process may have taken the port meanwhile: `WaitError` with
 * `portLost`). On failure the process is killed (SIGKILL) before the error is thrown: a server
 * that never became usable must not keep running.
 */
async function launch(port: number, args: string[], waitMs = WAIT_MS): Promise<ServerProcess> {
  const server = new ServerProcess(args)
  try {
    await waitUntil(
      `PING on port ${port}`,
      async () => {
        if ((await rawCommand(port, ['PING'], 500)) !== 'PONG') return false
        await assertOwnServer(port, server)
        return true
      },
      [server],
      waitMs
    )
  } catch (error) {
    await server.stop('SIGKILL')
    throw error
  }
  return server
}

/** Launch attempts, each on a fresh port, when the picked port turns out to be taken. */
const ATTEMPTS = 3

/**
 * Launches a server on a port picked by `freePort()`, with the arguments `argsFor(port)` gives.
 * The port may have been taken in between (the server then exits at once, or another server
 * answers there): retry on a fresh port, up to 3 attempts. A server that ran but never answered
 * PING would time out again: give up at once.
 */
async function launchOnFreshPort(
  argsFor: (port: number) => Promise<string[]>,
  waitMs = WAIT_MS
): Promise<{ port: number; server: ServerProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    try {
      return { port, server: await launch(port, await argsFor(port), waitMs) }
    } catch (error) {
      if (attempt >= ATTEMPTS || !(error instanceof WaitError && error.portLost)) throw error
    }
  }
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
  let launched: { port: number; server: ServerProcess }
  try {
    launched = await launchOnFreshPort(async (p) => [...baseArgs(p, dir), ...extra], waitMs)
  } catch (error) {
    removeTrackedDir(dir)
    throw error
  }
  const { port } = launched
  const clients = clientTracker()
  let current: ServerProcess = launched.server
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
  // Each node already moves to a fresh port when its port is taken before it binds; one more try
  // of the whole set-up for gossip that stalls on a loaded machine.
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
  // Each node's arguments, to restart it as the same node.
  const nodeArgs: string[][] = []
  try {
    for (let i = 0; i < 3; i++) {
      let args: string[] = []
      const { port, server } = await launchOnFreshPort(async (p) => {
        args = [
          ...baseArgs(p, dir),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${p}.conf`),
          '--cluster-port',
          String(await freePort()),
          '--cluster-node-timeout',
          '5000',
        ]
        return args
      })
      servers.push(server)
      ports.push(port)
      nodeArgs.push(args)
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
  const nodeIndex = (index: number): number => {
    if (!Number.isInteger(index) || index < 0 || index >= servers.length) {
      throw new Error(`no cluster node ${index} (0 to ${servers.length - 1})`)
    }
    if (stopped) throw new Error('cluster node restarted or killed after stop()')
    return index
  }
  return {
    nodes,
    cluster(options?: ClusterOptions) {
      return clients.track(new Cluster(nodes, options as ConstructorParameters<typeof Cluster>[1]))
    },
    async killNode(index: number) {
      await servers[nodeIndex(index)]!.stop('SIGKILL')
    },
    async restartNode(index: number) {
      const i = nodeIndex(index)
      await servers[i]!.stop('SIGTERM')
      servers[i] = await launch(ports[i]!, nodeArgs[i]!)
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
