/**
 * @module redis/batch
 * Automatic pipelining of script calls: every `evalOp` issued while the event loop runs one batch of
 * callbacks is sent as ONE pipeline (one socket write, one read on the server) instead of one write
 * per command. Under concurrency this is most of the cost of a Redis round trip for both sides; a
 * lone call goes out unbatched, so latency at low load is unchanged.
 *
 * Only for a single Redis node (or a Sentinel-managed master): an ioredis Cluster pipeline must stay
 * within one slot, so the store does not batch on a Cluster.
 */
import type { RedisReply } from '../store/types.js'
import { evalOp, isNoScript, type ScriptClient, scriptSha } from './scripts.js'

/** The pipeline surface of an ioredis client the batcher uses. */
export interface PipelineClient extends ScriptClient {
  pipeline(): {
    evalsha(sha: string, numkeys: number, ...args: string[]): unknown
    exec(): Promise<[error: Error | null, result: unknown][] | null>
  }
}

interface Pending {
  op: { readonly lua: string }
  keys: readonly string[]
  argv: readonly string[]
  resolve: (reply: RedisReply) => void
  reject: (error: unknown) => void
}

/** A function with `evalOp`'s contract whose calls in one tick share a pipeline. */
export type BatchedEval = (
  op: { readonly lua: string },
  keys: readonly string[],
  argv: readonly string[]
) => Promise<RedisReply>

// After the current microtasks drain (so every continuation of the replies just read has issued
// its next command), before any I/O.
const defer: (fn: () => void) => void =
  typeof process !== 'undefined' && typeof process.nextTick === 'function'
    ? (fn) => process.nextTick(fn)
    : queueMicrotask

/** Creates the batcher for one client. */
export function batchedEval(client: PipelineClient): BatchedEval {
  let queue: Pending[] = []

  const flush = (): void => {
    const batch = queue
    queue = []
    if (batch.length === 1) {
      const only = batch[0] as Pending
      evalOp(client, only.op, only.keys, only.argv).then(only.resolve, only.reject)
      return
    }
    const pipeline = client.pipeline()
    for (const p of batch) pipeline.evalsha(scriptSha(p.op), p.keys.length, ...p.keys, ...p.argv)
    pipeline.exec().then(
      (results) => {
        batch.forEach((p, i) => {
          const [error, reply] = results?.[i] ?? [new Error('redis pipeline returned no result')]
          if (error === null) p.resolve(reply as RedisReply)
          else if (isNoScript(error)) {
            // The server lost its scripts (restart, SCRIPT FLUSH): EVAL reloads this one.
            client
              .eval(p.op.lua, p.keys.length, ...p.keys, ...p.argv)
              .then((r) => p.resolve(r as RedisReply), p.reject)
          } else p.reject(error)
        })
      },
      (error: unknown) => {
        for (const p of batch) p.reject(error)
      }
    )
  }

  return (op, keys, argv) =>
    new Promise<RedisReply>((resolve, reject) => {
      if (queue.length === 0) defer(flush)
      queue.push({ op, keys, argv, resolve, reject })
    })
}
