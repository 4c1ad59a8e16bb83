/**
 * @module store/define-op
 * `defineOp`: one atomic operation defined once, as a Lua script (Redis) and a JavaScript function
 * (memory) with the same inputs and the same raw reply.
 */
import { InvalidOptionsError } from './errors.js'
import type { AtomicOp, JsReply, MemoryData, RedisReply } from './types.js'

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
   * The same logic on the memory data model. Runs synchronously, so it is atomic in-process.
   * `nowMs` is the memory store's clock; return what the Lua script would return.
   */
  js: (data: MemoryData, keys: readonly string[], argv: readonly string[], nowMs: number) => JsReply
  /** Builds `ARGV` (strings only) from the input. */
  encode: (input: I) => readonly string[]
  /** Decodes the raw reply; shared by both stores, so only the script body can differ. */
  decode: (reply: RedisReply) => O
}

/** Defines one atomic operation for both stores. Throws `InvalidOptionsError` on a bad definition. */
export function defineOp<I, O>(definition: OpDefinition<I, O>): AtomicOp<I, O> {
  const { name, lua, js, encode, decode } = definition ?? ({} as OpDefinition<I, O>)
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidOptionsError('name', 'must be a non-empty string')
  }
  if (typeof lua !== 'string' || lua.trim().length === 0) {
    throw new InvalidOptionsError('lua', `op ${name}: must be a non-empty Lua script`)
  }
  for (const [field, fn] of [
    ['js', js],
    ['encode', encode],
    ['decode', decode],
  ] as const) {
    if (typeof fn !== 'function')
      throw new InvalidOptionsError(field, `op ${name}: must be a function`)
  }
  return Object.freeze({ name, lua, js, encode, decode })
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
