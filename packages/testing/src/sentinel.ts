/**
 * @module sentinel
 * A Redis Sentinel set-up for tests: one master (a real redis-server) watched by one sentinel, both
 * on free loopback ports, so ioredis's `{ sentinels, name }` client can be tested for real; or the
 * same with a replica, for real failovers. Like `./redis`, it only ever hands out servers it
 * spawned: when another process took the sentinel's picked port first, the sentinel moves to a
 * fresh port.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type RedisOptions } from 'ioredis'
import { removeTrackedDir, trackDir } from './processes.js'
import { rawCommand } from './raw-command.js'
import { freePort, type RedisServer, startRedis } from './redis.js'
import { assertOwnServer, ServerProcess, WaitError, waitUntil } from './server-process.js'

const HOST = '127.0.0.1'
const WAIT_MS = 15_000
/** Launch attempts, each on a fresh port, when the picked port turns out to be taken. */
const ATTEMPTS = 3

/** The master name the sentinel monitors. */
export const SENTINEL_MASTER_NAME = 'aikit-master'

/** A running master + sentinel pair. */
export interface RedisSentinelHandle {
  /** The master redis-server. */
  master: RedisServer
  /** The sentinel's address. */
  sentinel: { host: string; port: number }
  /**
   * A new ioredis client that finds the master through the sentinel (tracked, closed on stop),
   * with `failoverDetector: true` unless `options` says otherwise: `redisStore` refuses a Sentinel
   * client without it (it would keep writing to the old master after a failover). Like the core
   * README advises, it connects again after an `end` it was not asked for (see
   * `reconnectOnUnexpectedEnd`).
   */
  client(options?: Omit<RedisOptions, 'sentinels' | 'name' | 'replyMapping'>): Redis
  stop(): Promise<void>
}

/** A master with one replica, watched by one sentinel that fails over within seconds. */
export interface RedisSentinelWithReplicaHandle extends RedisSentinelHandle {
  /**
   * The replica of `master`: the master after `failover()`, or once the sentinel promoted it when
   * `master` was killed (about 1 s to notice, plus the election). The fields keep their servers.
   */
  replica: RedisServer
  /** `host:port` of the server the sentinel names as master now. */
  masterAddress(): Promise<string>
  /**
   * Asks the sentinel for a failover (`SENTINEL FAILOVER`, retried while the sentinel is not
   * ready for one) and resolves once it names `replica` as the master.
   */
  failover(): Promise<void>
}

/** How fast the sentinel declares the master down and how long a failover may take, in ms. */
interface SentinelTiming {
  downAfterMs: number
  failoverTimeoutMs: number
}

/**
 * Spawns a sentinel on `port` monitoring `masterPort` and waits until it is ours and knows the
 * master. On failure the sentinel is killed before the error is thrown.
 */
async function launchSentinel(
  dir: string,
  port: number,
  masterPort: number,
  timing: SentinelTiming
) {
  const conf = join(dir, `sentinel-${port}.conf`)
  // Sentinel rewrites its own config file, so it lives in a writable temp dir.
  writeFileSync(
    conf,
    [
      `port ${port}`,
      `bind ${HOST}`,
      `dir ${dir}`,
      `sentinel monitor ${SENTINEL_MASTER_NAME} ${HOST} ${masterPort} 1`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${timing.downAfterMs}`,
      `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${timing.failoverTimeoutMs}`,
      '',
    ].join('\n')
  )
  // Killed with the test process, however that ends (like the servers of ./redis).
  const sentinel = new ServerProcess([conf, '--sentinel'])
  try {
    await waitUntil(
      `the sentinel on port ${port} to know the master`,
      async () => {
        const reply = await rawCommand(port, [
          'SENTINEL',
          'get-master-addr-by-name',
          SENTINEL_MASTER_NAME,
        ])
        // rawCommand returns an array reply's length line: 2 once the master is known, -1 before.
        if (reply !== '2') return false
        await assertOwnServer(port, sentinel)
        return true
      },
      [sentinel],
      WAIT_MS
    )
  } catch (error) {
    await sentinel.stop('SIGKILL')
    throw error
  }
  return sentinel
}

/**
 * Starts a sentinel monitoring `master`, in a temp dir of its own; resolves once the sentinel
 * knows the master. On failure it stops `servers` (the master first) and throws.
 */
async function startSentinel(
  master: RedisServer,
  servers: readonly RedisServer[],
  timing: SentinelTiming
): Promise<{ port: number; running: ServerProcess; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'aikit-sentinel-'))
  trackDir(dir)
  let port = 0
  let sentinel: ServerProcess | undefined
  try {
    for (let attempt = 1; !sentinel; attempt++) {
      port = await freePort()
      try {
        sentinel = await launchSentinel(dir, port, master.port, timing)
      } catch (error) {
        // The port may have been taken in between (the sentinel then exits, or another process
        // answers there): retry on a fresh port. A timeout would happen again: give up.
        if (attempt >= ATTEMPTS || !(error instanceof WaitError && error.portLost)) throw error
      }
    }
  } catch (error) {
    for (const server of servers) await server.stop()
    removeTrackedDir(dir)
    throw new Error(`sentinel did not come up: ${(error as Error).message}`, { cause: error })
  }
  return { port, running: sentinel, dir }
}

/** The handle of a started sentinel set-up: its clients, and `stop()` for all of it. */
function sentinelHandle(
  master: RedisServer,
  servers: readonly RedisServer[],
  started: { port: number; running: ServerProcess; dir: string }
): RedisSentinelHandle {
  const { port, running, dir } = started
  const clients = new Set<Redis>()
  let stopping = false
  const stop = async (): Promise<void> => {
    stopping = true
    for (const c of clients) c.disconnect()
    clients.clear()
    await running.stop('SIGTERM')
    await Promise.all(servers.map((server) => server.stop()))
    removeTrackedDir(dir)
  }
  return {
    master,
    sentinel: { host: HOST, port },
    client(options) {
      const client = new Redis({
        failoverDetector: true,
        ...options,
        sentinels: [{ host: HOST, port }],
        name: SENTINEL_MASTER_NAME,
      })
      client.on('error', () => {})
      reconnectOnUnexpectedEnd(client, () => stopping)
      clients.add(client)
      return client
    },
    stop,
  }
}

/**
 * What the core README advises: ioredis 6's failover detector ends a client for good (status
 * `end`, every command `Connection is closed.`) when the sentinel's `+switch-master` arrives while
 * the client is reconnecting, as it is after its master crashed; `connect()` it again after an
 * `end` that neither `disconnect()` / `quit()` nor `stop()` caused.
 */
function reconnectOnUnexpectedEnd(client: Redis, stopping: () => boolean): void {
  let closed = false
  const disconnect = client.disconnect.bind(client)
  client.disconnect = (reconnect?: boolean) => {
    if (!reconnect) closed = true
    disconnect(reconnect)
  }
  const quit = client.quit.bind(client)
  client.quit = ((...args: Parameters<Redis['quit']>) => {
    closed = true
    return quit(...args)
  }) as Redis['quit']
  client.on('end', () => {
    if (!closed && !stopping()) client.connect().catch(() => {})
  })
}

/** Starts a master and one sentinel monitoring it; resolves once the sentinel knows the master. */
export async function startRedisSentinel(): Promise<RedisSentinelHandle> {
  const master = await startRedis()
  const started = await startSentinel(master, [master], {
    downAfterMs: 2000,
    failoverTimeoutMs: 10_000,
  })
  return sentinelHandle(master, [master], started)
}

/**
 * Starts a master, a replica of it and one sentinel monitoring them that declares the master down
 * after 1 s; resolves once the replica is in sync and the sentinel counts it as a candidate for
 * promotion, so `failover()` or a kill of `master` promotes it.
 */
export async function startRedisSentinelWithReplica(): Promise<RedisSentinelWithReplicaHandle> {
  // A full sync streams at once (Redis 7 waits 5 s for more replicas by default); either server
  // may be the master that serves one (a demoted master resyncs from the promoted replica).
  const args = ['--repl-diskless-sync-delay', '0']
  const master = await startRedis({ args })
  let replica: RedisServer
  try {
    replica = await startRedis({ args: [...args, '--replicaof', HOST, String(master.port)] })
    await waitUntil('the replica to sync with the master', async () =>
      (await rawCommand(replica.port, ['INFO', 'replication'])).includes('master_link_status:up')
    )
  } catch (error) {
    await master.stop()
    throw error
  }
  const servers = [master, replica]
  const started = await startSentinel(master, servers, {
    downAfterMs: 1000,
    failoverTimeoutMs: 4000,
  })
  const handle = sentinelHandle(master, servers, started)
  // Sentinel commands answer arrays, which rawCommand does not read: a plain client of its own.
  const admin = new Redis({ host: HOST, port: started.port, maxRetriesPerRequest: 1 })
  admin.on('error', () => {})
  const stop = async (): Promise<void> => {
    admin.disconnect()
    await handle.stop()
  }
  const masterAddress = async (): Promise<string> => {
    const address = (await admin.call(
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      SENTINEL_MASTER_NAME
    )) as string[]
    return `${address[0]}:${address[1]}`
  }
  try {
    // Found through the master's INFO; a replica the sentinel has not seen as healthy
    // (flags other than `slave`) is not promoted.
    await waitUntil(
      'the sentinel to know the replica',
      async () => {
        const replicas = (await admin.call(
          'SENTINEL',
          'REPLICAS',
          SENTINEL_MASTER_NAME
        )) as string[][]
        return replicas.some((r) => r[r.indexOf('flags') + 1] === 'slave')
      },
      [started.running],
      WAIT_MS
    )
  } catch (error) {
    await stop()
    throw error
  }
  return {
    ...handle,
    replica,
    masterAddress,
    async failover() {
      // `NOGOODSLAVE` until the sentinel has heard from the replica again (it polls every 1 s).
      await waitUntil(
        'the sentinel to accept SENTINEL FAILOVER',
        async () => (await admin.call('SENTINEL', 'FAILOVER', SENTINEL_MASTER_NAME)) === 'OK',
        [started.running],
        WAIT_MS
      )
      await waitUntil(
        'the sentinel to name the replica as master',
        async () => (await masterAddress()) === `${HOST}:${replica.port}`,
        [started.running],
        WAIT_MS
      )
    },
    stop,
  }
}
