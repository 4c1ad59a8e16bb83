/**
 * @module store/define-op
 * `defineOp`: one atomic operation defined once, as a Lua script (Redis) and a JavaScript function
 * (memory) with the same inputs and the same raw reply.
 */
import { InvalidOptionsError } from './errors.js'
import type { AtomicOp, JsReply, MemoryData, NativeData, RedisReply } from './types.js'

/**
 * A Lua prelude that defines `nowMs` (integer milliseconds) from the Redis server clock. Prepend it
 * to a script so every instance uses the same clock; the JS side receives the same value as `nowMs`.
 */
export const LUA_NOW_MS =
  "local __aikit_t = redis.call('TIME')\n" +
  'local nowMs = tonumber(__aikit_t[1]) * 1000 + math.floor(tonumber(__aikit_t[2]) / 1000)\n'

/** The definition given to `defineOp`. */
export interface OpDefinition<I, O> {
  /** Name for errors and metrics (non-empty). */
  name: string
  /** The Redis Lua script (uses `KEYS`, `ARGV`; its only clock is `redis.call('TIME')`). */
  lua: string
  /**
   * The same logic on the Redis-like memory data model. Runs synchronously, so it is atomic
   * in-process. `nowMs` is the memory store's clock; return what the Lua script would return.
   * Give this, `native`, or both.
   */
  js?: (
    data: MemoryData,
    keys: readonly string[],
    argv: readonly string[],
    nowMs: number
  ) => JsReply
  /**
   * The same logic on the op's own JavaScript values (`NativeData`), returning the decoded result:
   * the memory store's fast path, for hot ops where encoding ARGV and decoding a reply would cost
   * more than the logic. It must give exactly the results the Lua script gives (prove it with a
   * differential test against a real Redis). Every op touching the same keys must then be native
   * too (a `js` body reading a native value fails with WRONGTYPE, as Redis would on a type clash).
   */
  native?: (data: NativeData, keys: readonly string[], input: I, nowMs: number) => O
  /** Builds `ARGV` (strings only) from the input. */
  encode: (input: I) => readonly string[]
  /** Decodes the raw reply; shared by both stores, so only the script body can differ. */
  decode: (reply: RedisReply) => O
  /**
   * A fast path for the calls of this op that a Redis store sends together (its `batch` option):
   * Lua run at the top of the batch script, before the generic loop that runs `lua` once per call
   * under `pcall`. It sees `KEYS` (every call's keys, in order), `ARGV` in the batch layout
   * (`[calls, numKeys, numArgs, '1', ...one ARGV shared by every call]`, or `'0'` then each call's
   * ARGV in order; a negative `calls` for calls of different shapes) and, when `lua` starts with
   * `LUA_NOW_MS`, `nowMs`. It either falls through (the generic loop then runs) or returns the
   * whole batch's reply as one string: each call's reply, a flat array of integers, as
   * comma-separated decimals (`%d`), the calls separated by `;`, in order. Each call must get exactly
   * the reply `lua` gives it; prove that with a test running the same calls batched and one by one.
   * Default: none.
   */
  batchLua?: string
  /**
   * At most how many keys a run adds to the store, given which of them it holds now (`holds`):
   * what a memory store with `evict: false` checks it has room for before the run (it refuses a
   * run without room, changing nothing). An op that only reads some of its keys, or deletes some
   * before it writes others, says so here, so a full store still serves it. Default: every key of
   * the run that the store does not hold.
   */
  newKeys?: (keys: readonly string[], input: I, holds: (key: string) => boolean) => number
}

/** Defines one atomic operation for both stores. Throws `InvalidOptionsError` on a bad definition. */
export function defineOp<I, O>(definition: OpDefinition<I, O>): AtomicOp<I, O> {
  const { name, lua, js, native, encode, decode, batchLua, newKeys } =
    definition ?? ({} as OpDefinition<I, O>)
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidOptionsError('name', 'must be a non-empty string')
  }
  if (typeof lua !== 'string' || lua.trim().length === 0) {
    throw new InvalidOptionsError('lua', `op ${name}: must be a non-empty Lua script`)
  }
  if (batchLua !== undefined && (typeof batchLua !== 'string' || batchLua.trim().length === 0)) {
    throw new InvalidOptionsError('batchLua', `op ${name}: must be a non-empty Lua script`)
  }
  if (js === undefined && native === undefined) {
    throw new InvalidOptionsError('js', `op ${name}: give a \`js\` or a \`native\` body (or both)`)
  }
  const bodies: [string, unknown][] = [
    ['encode', encode],
    ['decode', decode],
  ]
  if (js !== undefined) bodies.push(['js', js])
  if (native !== undefined) bodies.push(['native', native])
  if (newKeys !== undefined) bodies.push(['newKeys', newKeys])
  for (const [field, fn] of bodies) {
    if (typeof fn !== 'function')
      throw new InvalidOptionsError(field, `op ${name}: must be a function`)
  }
  return Object.freeze({
    name,
    lua,
    encode,
    decode,
    ...(js === undefined ? {} : { js }),
    ...(native === undefined ? {} : { native }),
    ...(batchLua === undefined ? {} : { batchLua }),
    ...(newKeys === undefined ? {} : { newKeys }),
  })
}

/** Runs `op.encode` and checks that ARGV holds only strings (both stores call this). */
export function encodeArgs<I>(op: AtomicOp<I, unknown>, input: I): readonly string[] {
  const argv = op.encode(input)
  if (!Array.isArray(argv))
    throw new InvalidOptionsError('encode', `op ${op.name}: must return an array`)
  for (let i = 0; i < argv.length; i++) {
    if (typeof argv[i] !== 'string') {
      throw new InvalidOptionsError(`argv[${i}]`, `op ${op.name}: encode must return strings only`)
    }
  }
  return argv
}
