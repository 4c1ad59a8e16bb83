/**
 * @module cluster-check
 * What `redisCheck` does for an ioredis `Cluster`: a PING answered by any one node proves nothing
 * about the slots of a dead master (every key hashed there fails), so every master the client
 * routes slots to is asked `CLUSTER INFO` over the connection ioredis keeps to it. Readiness fails
 * when a slot has no master, a master does not answer, or a master reports `cluster_state` other
 * than `ok` (or slots in FAIL state). The output names the masters by `host:port` only.
 */
import type { CheckOutcome } from './types.js'

/** One node connection of an ioredis `Cluster` (a `Redis`), as far as the check reads it. */
interface ClusterNode {
  options: { host?: string; port?: number }
  cluster(subcommand: 'INFO'): Promise<unknown>
  ping(): Promise<unknown>
}

/** The part of an ioredis (5, 6) `Cluster` the check reads. */
export interface ClusterClient {
  isCluster: true
  status: string
  /** Slot → node keys (`host:port`), the master first. */
  slots: readonly (readonly string[] | undefined)[]
  nodes(role: 'all'): ClusterNode[]
  ping(): Promise<unknown>
  /** Internal in ioredis (present in 4 to 6): re-reads CLUSTER SLOTS and resets the pool. */
  refreshSlotsCache?: (callback?: (error?: Error | null) => void) => void
}

/** True for an ioredis `Cluster` (not for a `Redis`, plain or Sentinel-backed). */
export function isClusterClient(client: unknown): client is ClusterClient {
  const c = client as Partial<ClusterClient> | null
  return (
    c !== null &&
    typeof c === 'object' &&
    c.isCluster === true &&
    typeof c.nodes === 'function' &&
    Array.isArray(c.slots)
  )
}

const SLOTS = 16384
/** Masters named per reason in the output; the rest are counted. */
const NAMED = 5

/** A node key fit for a report served to anyone: `host:port` characters only. */
function safeKey(key: string): string {
  return /^[A-Za-z0-9._:%[\]-]{1,100}$/.test(key) ? key : 'a master (unprintable address)'
}

function nodeKey(node: ClusterNode): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`
}

/** Masters routed to (slot count each) and the number of slots with no master. */
function slotOwners(cluster: ClusterClient): { masters: string[]; unassigned: number } {
  const masters = new Set<string>()
  let unassigned = 0
  for (let slot = 0; slot < SLOTS; slot++) {
    const master = cluster.slots[slot]?.[0]
    if (master === undefined || master === '') unassigned++
    else masters.add(master)
  }
  return { masters: [...masters].sort(), unassigned }
}

function pool(cluster: ClusterClient): Map<string, ClusterNode> {
  return new Map(cluster.nodes('all').map((node) => [nodeKey(node), node] as const))
}

/** Why a command to a master failed, without its message (a message may carry anything). */
function failure(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown; name?: unknown } | null
  const message = typeof e?.message === 'string' ? e.message : ''
  // ioredis rejects commands on a lost or refused connection with exactly this message.
  if (message === 'Connection is closed.') return 'unreachable'
  const reply = /^([A-Z]{2,20})\b/.exec(message)?.[1]
  if (reply !== undefined && e?.name === 'ReplyError') return `answered ${reply}`
  const code = typeof e?.code === 'string' && /^[A-Z0-9_]{1,40}$/.test(e.code) ? e.code : undefined
  const name = typeof e?.name === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(e.name) ? e.name : 'Error'
  return `failed (${code ?? name})`
}

function text(reply: unknown): string {
  if (typeof reply === 'string') return reply
  if (reply instanceof Uint8Array) return new TextDecoder().decode(reply)
  return String(reply)
}

/** What is wrong in a node's `CLUSTER INFO`, or undefined. */
function infoProblem(info: string): string | undefined {
  const field = (name: string) => new RegExp(`^${name}:([^\\r\\n]*)`, 'm').exec(info)?.[1]
  const state = field('cluster_state')
  if (state !== 'ok') {
    return `cluster_state:${state !== undefined && /^[a-z]{1,20}$/.test(state) ? state : 'unknown'}`
  }
  const failed = Number(field('cluster_slots_fail') ?? 0)
  if (failed > 0) return `cluster_slots_fail:${failed}`
  return undefined
}

/**
 * `reason on a, b (+N more)`: the masters grouped under each reason (reasons and masters in
 * address order, so that the same state reads the same on every probe).
 */
function describe(problems: Map<string, string[]>): string {
  return [...problems]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([reason, unsorted]) => {
      const keys = [...unsorted].sort()
      const named = keys.slice(0, NAMED).map(safeKey).join(', ')
      const more = keys.length > NAMED ? ` (+${keys.length - NAMED} more)` : ''
      return reason.replace('%s', `${named}${more}`)
    })
    .join('; ')
}

/**
 * Checks every master the cluster client routes slots to. Resolves with a `fail` outcome naming
 * what is wrong, or nothing when every slot is served. On `signal`'s abort (the check's timeout)
 * it resolves at once with what it was still waiting for.
 */
export async function checkCluster(
  cluster: ClusterClient,
  signal: AbortSignal
): Promise<CheckOutcome | undefined> {
  let waitingFor = `the cluster client (status ${/^[a-z]{1,20}$/.test(cluster.status) ? cluster.status : 'unknown'})`
  const problems = new Map<string, string[]>()
  const add = (reason: string, key: string) => {
    const keys = problems.get(reason)
    if (keys === undefined) problems.set(reason, [key])
    else keys.push(key)
  }
  const pending = new Set<string>()
  let onAbort = () => {}
  const aborted = new Promise<CheckOutcome>((resolve) => {
    onAbort = () => {
      if (pending.size > 0) problems.set('no answer from master %s', [...pending])
      else problems.set(`waiting for ${waitingFor}`, [])
      resolve({ status: 'fail', output: describe(problems) })
    }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })

  const run = async (): Promise<CheckOutcome | undefined> => {
    // A cluster client that is not ready yet connects (or waits) here, like a single node's PING.
    if (cluster.status !== 'ready') await cluster.ping()
    let { masters, unassigned } = slotOwners(cluster)
    let nodes = pool(cluster)
    // ioredis drops the connection to a master that went away and opens it again only after a
    // MOVED answer: without traffic (a pod out of service gets none) it would never see the
    // master return. Re-read the slot map then, as ioredis itself would.
    if (masters.some((key) => !nodes.has(key)) && typeof cluster.refreshSlotsCache === 'function') {
      waitingFor = 'the slot map (CLUSTER SLOTS)'
      await new Promise<void>((resolve) => cluster.refreshSlotsCache?.(() => resolve()))
      ;({ masters, unassigned } = slotOwners(cluster))
      nodes = pool(cluster)
    }
    if (unassigned > 0) problems.set(`${unassigned} of ${SLOTS} slots have no master`, [])
    for (const key of masters) pending.add(key)
    await Promise.all(
      masters.map(async (key) => {
        const node = nodes.get(key)
        try {
          if (node === undefined) {
            add('master %s not connected', key)
            return
          }
          let info: string | undefined
          try {
            info = text(await node.cluster('INFO'))
          } catch (error) {
            // A user whose ACL refuses CLUSTER INFO: that the master answers is all we can tell.
            if (!(error instanceof Error && error.message.startsWith('NOPERM'))) throw error
            await node.ping()
          }
          const problem = info === undefined ? undefined : infoProblem(info)
          if (problem !== undefined) add(`${problem} on %s`, key)
        } catch (error) {
          add(`master %s ${failure(error)}`, key)
        } finally {
          pending.delete(key)
        }
      })
    )
    if (problems.size === 0) return undefined
    return { status: 'fail', output: describe(problems) }
  }

  try {
    return await Promise.race([run(), aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
