/**
 * @module redis/batch
 * Automatic batching of script calls: the calls of one op issued while the event loop runs one
 * batch of callbacks go to Redis as ONE `EVALSHA` of a wrapper script that runs the op's body once
 * per call, in order, and returns one reply per call. Under concurrency most of a Redis round
 * trip's cost is per command (client encoding and parsing, a socket write and read on both
 * sides), so this is where a store gets faster than one command per check; a lone call goes out as
 * a plain `EVALSHA`, so latency at low load is unchanged.
 *
 * Each call still runs atomically (the whole batch does), sees the server clock, and gets its own
 * result or error: the body runs under `pcall`, so one call's error does not fail the others.
 * Only for a single Redis node (or a Sentinel-managed master): on a Cluster the keys of different
 * calls live in different slots, so the store does not batch there.
 */
import { LUA_NOW_MS } from '../store/define-op.js'
import type { RedisReply } from '../store/types.js'
import { evalOp, type ScriptClient } from './scripts.js'

interface Pending {
  keys: readonly string[]
  argv: readonly string[]
  resolve: (reply: RedisReply) => void
  reject: (error: unknown) => void
}

/** A function with `evalOp`'s contract whose calls in one tick share a script call. */
export type BatchedEval = (
  op: { readonly lua: string },
  keys: readonly string[],
  argv: readonly string[]
) => Promise<RedisReply>

/**
 * The wrapper: ARGV = `[calls, (numKeys, numArgs) × calls, ...every call's ARGV]`, KEYS = every
 * call's KEYS in order. The body sees its own `KEYS`/`ARGV` as locals shadowing the globals.
 */
function batchScript(lua: string): string {
  // Read the server clock once per batch, not once per call: the calls run back to back inside
  // one script, so they see the same time either way, and TIME is a real cost per call.
  const sharedClock = lua.startsWith(LUA_NOW_MS)
  const body = sharedClock ? lua.slice(LUA_NOW_MS.length) : lua
  return `${sharedClock ? LUA_NOW_MS : ''}local function __aikit_body(KEYS, ARGV)
${body}
end
local calls = tonumber(ARGV[1])
local out = {}
local k = 1
local a = 2 + 2 * calls
for c = 1, calls do
  local nk = tonumber(ARGV[2 * c])
  local na = tonumber(ARGV[2 * c + 1])
  local ks, as = {}, {}
  for j = 1, nk do ks[j] = KEYS[k]; k = k + 1 end
  for j = 1, na do as[j] = ARGV[a]; a = a + 1 end
  local ok, res = pcall(__aikit_body, ks, as)
  if ok then
    if res == nil then res = false end
    out[c] = res
  elseif type(res) == 'table' and res.err then
    out[c] = res
  else
    out[c] = redis.error_reply(tostring(res))
  end
end
return out
`
}

/** Most calls sent in one script call. */
const MAX_BATCH = 64

const wrappers = new WeakMap<object, { readonly lua: string }>()

function wrapperOf(op: { readonly lua: string }): { readonly lua: string } {
  let wrapper = wrappers.get(op)
  if (wrapper === undefined) {
    wrapper = { lua: batchScript(op.lua) }
    wrappers.set(op, wrapper)
  }
  return wrapper
}

// After the current microtasks drain (so every continuation of the replies just read has issued
// its next call), before any I/O.
const defer: (fn: () => void) => void =
  typeof process !== 'undefined' && typeof process.nextTick === 'function'
    ? (fn) => process.nextTick(fn)
    : queueMicrotask

/** Creates the batcher for one client. */
export function batchedEval(client: ScriptClient): BatchedEval {
  let queue = new Map<{ readonly lua: string }, Pending[]>()

  const send = (op: { readonly lua: string }, calls: Pending[]): void => {
    if (calls.length === 1) {
      const only = calls[0] as Pending
      evalOp(client, op, only.keys, only.argv).then(only.resolve, only.reject)
      return
    }
    const keys: string[] = []
    const head: string[] = [String(calls.length)]
    const args: string[] = []
    for (const call of calls) {
      head.push(String(call.keys.length), String(call.argv.length))
      for (const key of call.keys) keys.push(key)
      for (const arg of call.argv) args.push(arg)
    }
    evalOp(client, wrapperOf(op), keys, [...head, ...args]).then(
      (reply) => {
        calls.forEach((call, i) => {
          const one = Array.isArray(reply) ? reply[i] : undefined
          // ioredis hands a nested error reply over as an Error inside the array.
          if ((one as unknown) instanceof Error) call.reject(one)
          else if (one === undefined) call.reject(new Error('redis batch: missing reply'))
          else call.resolve(one)
        })
      },
      (error: unknown) => {
        for (const call of calls) call.reject(error)
      }
    )
  }

  const flush = (): void => {
    const batch = queue
    queue = new Map()
    for (const [op, calls] of batch) {
      // Bounded script calls: a burst of thousands becomes several, so no single call holds the
      // server (single-threaded) for long, and one reply stays small.
      for (let i = 0; i < calls.length; i += MAX_BATCH) send(op, calls.slice(i, i + MAX_BATCH))
    }
  }

  return (op, keys, argv) =>
    new Promise<RedisReply>((resolve, reject) => {
      if (queue.size === 0) defer(flush)
      let calls = queue.get(op)
      if (calls === undefined) {
        calls = []
        queue.set(op, calls)
      }
      calls.push({ keys, argv, resolve, reject })
    })
}
