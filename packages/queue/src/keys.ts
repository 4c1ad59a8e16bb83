/**
 * @module keys
 * The queue's own Redis keys beside BullMQ's. Every key of one job shares the `{hash tag}`
 * `{<queue>:<jobId>}`, so the MULTI that touches them works on Redis Cluster.
 * - `…:log`    list of the current run's events (replay for late followers), TTL
 * - `…:result` the final result or error (JSON), TTL `resultTtl`
 * - `…:meta`   the job's subject and TTLs (JSON), read by `sseHandler` and `result()`
 * - `…:run`    counter of runs (a stalled job restarted by another worker is run 2)
 * - channel `…:events`: the live events (pub/sub)
 * Beside them, one key per queue and API (`apiWorkersKey`): set, with a TTL, by the workers that run
 * that API, and one per dedupe id being enqueued (`enqueuingKey`), set for a few seconds by the
 * enqueue that holds the budget for it.
 */

/** Job ids are UUIDs generated at enqueue: anything else is rejected before touching Redis. */
export const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The keys of one job. */
export interface JobKeys {
  readonly log: string
  readonly result: string
  readonly meta: string
  readonly run: string
  readonly channel: string
}

/** Key builder for a queue. */
export function jobKeys(prefix: string, queue: string, jobId: string): JobKeys {
  const base = `${prefix}:llmq:{${queue}:${jobId}}`
  return {
    log: `${base}:log`,
    result: `${base}:result`,
    meta: `${base}:meta`,
    run: `${base}:run`,
    channel: `${base}:events`,
  }
}

/**
 * The key the workers that can run `api` jobs keep set (with a TTL they renew): a worker that fetches
 * a job it has no client for hands it back while this key says another worker can run it.
 */
export function apiWorkersKey(prefix: string, queue: string, api: string): string {
  return `${prefix}:llmq:{${queue}}:workers:${api}`
}

/**
 * The key an enqueue sets (NX, a few seconds) while it holds the budget for a dedupe id and adds
 * the job: an identical enqueue of another instance that sees it waits for that job and joins it,
 * instead of holding the budget a second time (and answering 402 when there is room for one).
 */
export function enqueuingKey(prefix: string, queue: string, dedupeId: string): string {
  return `${prefix}:llmq:{${queue}}:enqueuing:${dedupeId}`
}
