/**
 * @module redis/scripts
 * Script registry: EVALSHA with a precomputed SHA-1, falling back to EVAL (which also loads the
 * script) when the server answers NOSCRIPT (after a restart, `SCRIPT FLUSH`, or on a Cluster node
 * that has not seen the script yet).
 */
import type { RedisReply } from '../store/types.js'
import { evalsha } from './evalsha.js'
import { sha1Hex } from './sha1.js'

/** The subset of an ioredis client (Redis or Cluster) the store uses. */
export interface ScriptClient {
  evalsha(sha: string, numkeys: number, ...args: string[]): Promise<unknown>
  eval(script: string, numkeys: number, ...args: string[]): Promise<unknown>
  get(key: string): Promise<string | null>
  set(key: string, value: string, ...args: (string | number)[]): Promise<unknown>
  del(...keys: string[]): Promise<number>
}

const shas = new WeakMap<object, string>()

/** The SHA-1 Redis uses for `op.lua` (cached per op). */
export function scriptSha(op: { readonly lua: string }): string {
  let sha = shas.get(op)
  if (sha === undefined) {
    sha = sha1Hex(op.lua)
    shas.set(op, sha)
  }
  return sha
}

/** `true` for Redis's NOSCRIPT reply. */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}

/** Runs the op's script: EVALSHA, then EVAL on NOSCRIPT. */
export async function evalOp(
  client: ScriptClient,
  op: { readonly lua: string },
  keys: readonly string[],
  argv: readonly string[]
): Promise<RedisReply> {
  try {
    return (await evalsha(client, scriptSha(op), keys, argv)) as RedisReply
  } catch (error) {
    if (!isNoScript(error)) throw error
    return (await client.eval(op.lua, keys.length, ...keys, ...argv)) as RedisReply
  }
}
