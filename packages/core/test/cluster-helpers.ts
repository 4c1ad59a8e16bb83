/**
 * Helpers of the Redis Cluster tests: which master holds a key, hanging a node, the store's
 * events, a replica joined to a master.
 */
import type { Store, StoreEventInfo } from '@aikit/core'
import { freePort, type RedisServer, rawCommand, startRedis } from '@aikit/testing/redis'
import { type Cluster, Redis } from 'ioredis'
import { expect } from 'vitest'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Whether the Redis at `port` holds `key` (a master answers only for its own slots: MOVED). */
export function holds(port: number, key: string): Promise<boolean> {
  return rawCommand(port, ['EXISTS', key]).then(
    () => true,
    () => false
  )
}

/**
 * 30 keys of `store` (set to 'v'), split by whether they live on the master at port `victim`;
 * both sides non-empty. Set through `cluster` itself, not the store: the first commands of a
 * just-ready client wait for its per-master connections, which on a loaded runner outlasts a
 * short commandTimeoutMs (and the store's breaker would count those timeouts). This also
 * connects the client to every master before the test starts timing calls.
 */
export async function splitKeys(
  cluster: Cluster,
  store: Store,
  victim: number,
  name: string
): Promise<{ onVictim: string[]; healthy: string[] }> {
  const keys = Array.from({ length: 30 }, (_, i) => store.key(`${name}${i}`, 'v'))
  await Promise.all(keys.map((key) => cluster.set(key, 'v')))
  const onVictim: string[] = []
  const healthy: string[] = []
  for (const key of keys) ((await holds(victim, key)) ? onVictim : healthy).push(key)
  expect(onVictim.length).toBeGreaterThan(0)
  expect(healthy.length).toBeGreaterThan(0)
  return { onVictim, healthy }
}

/** The store's events as `degraded <reason> <ports>`, `recovered <reason> <ports>`. */
export function watch(store: Store): string[] {
  const events: string[] = []
  const ports = (info: StoreEventInfo) =>
    info.node
      ?.split(',')
      .map((n) => n.split(':').at(-1))
      .join(',')
  store.on('degraded', (info) => events.push(`degraded ${info.reason} ${ports(info)}`))
  store.on('recovered', (info) => events.push(`recovered ${info.reason} ${ports(info)}`))
  return events
}

/** Stops the Redis at `port` (SIGSTOP: connections stay open, nothing answers); resolves with the resume. */
export async function hang(port: number): Promise<() => void> {
  const pid = Number(/process_id:(\d+)/.exec(await rawCommand(port, ['INFO', 'server']))?.[1])
  expect(pid).toBeGreaterThan(0)
  process.kill(pid, 'SIGSTOP')
  return () => process.kill(pid, 'SIGCONT')
}

/** The slot ranges node `id` owns, as `CLUSTER NODES` on `port` tells them. */
export async function slotRanges(port: number, id: string): Promise<[number, number][]> {
  const nodes = await rawCommand(port, ['CLUSTER', 'NODES'])
  const line = nodes.split('\n').find((l) => l.startsWith(id))
  expect(line).toBeDefined()
  return line!
    .split(' ')
    .slice(8)
    .filter((part) => /^\d+(-\d+)?$/.test(part))
    .map((part) => {
      const [from, to] = part.split('-').map(Number)
      return [from!, to ?? from!]
    })
}

/**
 * Gives `ranges` to the master at `heir` (what a promoted replica or an operator does): every
 * other master in `others` drops them, the heir claims them under a new epoch; resolves once the
 * heir and the others' `CLUSTER NODES` agree, and returns the heir's id.
 */
export async function moveSlots(
  ranges: [number, number][],
  heir: number,
  others: number[]
): Promise<string> {
  for (const [from, to] of ranges) {
    for (const port of [heir, ...others]) {
      await rawCommand(port, ['CLUSTER', 'DELSLOTSRANGE', String(from), String(to)])
    }
    await rawCommand(heir, ['CLUSTER', 'ADDSLOTSRANGE', String(from), String(to)])
  }
  await rawCommand(heir, ['CLUSTER', 'BUMPEPOCH'])
  const heirId = (await rawCommand(heir, ['CLUSTER', 'MYID'])).trim()
  await until('the slot move to be seen by every master', async () => {
    const [mine, ...theirs] = await Promise.all(
      [heir, ...others].map((port) => slotRanges(port, heirId))
    )
    return mine!.length > 1 && theirs.every((r) => r.length === mine!.length)
  })
  return heirId
}

async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await ok()) return
    await sleep(25)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * Starts a Redis in cluster mode and makes it a replica of the master at `master` (one of
 * `nodes`); resolves once it is in sync and every node's `CLUSTER SLOTS` names it.
 */
export async function startReplica(master: number, nodes: number[]): Promise<RedisServer> {
  const replica = await startRedis({
    args: [
      '--cluster-enabled',
      'yes',
      '--cluster-port',
      String(await freePort()),
      '--cluster-node-timeout',
      '5000',
    ],
  })
  try {
    const masterId = (await rawCommand(master, ['CLUSTER', 'MYID'])).trim()
    const line = (await rawCommand(master, ['CLUSTER', 'NODES']))
      .split('\n')
      .find((l) => l.startsWith(masterId))!
    const bus = /@(\d+)/.exec(line)![1]!
    await rawCommand(replica.port, ['CLUSTER', 'MEET', '127.0.0.1', String(master), bus])
    await until('the replica to know the master', async () => {
      const known = await rawCommand(replica.port, ['CLUSTER', 'NODES'])
      return known.includes(masterId) && !known.includes('handshake')
    })
    await rawCommand(replica.port, ['CLUSTER', 'REPLICATE', masterId])
    await until('the replica in sync', async () =>
      (await rawCommand(replica.port, ['INFO', 'replication'])).includes('master_link_status:up')
    )
    // CLUSTER SLOTS, what ioredis reads, lists a replica once its node has seen it replicate (a
    // replication offset above 0, learnt from the replica's next ping).
    await until('every node to list the replica in CLUSTER SLOTS', async () => {
      const listed = await Promise.all(nodes.map((n) => replicasListed(n)))
      return listed.every((ports) => ports.includes(replica.port))
    })
  } catch (error) {
    await replica.stop()
    throw error
  }
  return replica
}

/** The replicas' ports in `CLUSTER SLOTS` of the node at `port` (entry: from, to, master, replicas). */
async function replicasListed(port: number): Promise<number[]> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  try {
    const entries = await client.cluster('SLOTS')
    return entries.flatMap((entry) =>
      entry.slice(3).map((node) => (node as [string, number, ...unknown[]])[1])
    )
  } finally {
    client.disconnect()
  }
}
