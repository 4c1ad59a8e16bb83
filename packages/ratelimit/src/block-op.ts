/**
 * @module block-op
 * Blocks a key until `now + ms` on the store's clock: every check of the key is denied (status
 * `blocked`) until then. An existing longer block is kept. KEYS: the block key. ARGV: `[ms]`.
 * Reply: the block's end (epoch ms).
 */
import { defineOp, LUA_NOW_MS, type NativeData } from '@aikit/core'

const LUA = `${LUA_NOW_MS}
local ms = tonumber(ARGV[1])
local untilMs = nowMs + ms
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if cur >= untilMs then return cur end
redis.call('SET', KEYS[1], string.format('%d', untilMs), 'PX', ms)
return untilMs
`

function blockNative(data: NativeData, keys: readonly string[], ms: number, nowMs: number): number {
  const key = keys[0] as string
  const untilMs = nowMs + ms
  const cur = (data.get(key) as number | undefined) ?? 0
  if (cur >= untilMs) return cur
  data.set(key, untilMs, ms)
  return untilMs
}

/** The block op; input: the block's length in ms (positive integer). */
export const blockOp = defineOp<number, number>({
  name: 'rateLimitBlock',
  lua: LUA,
  native: blockNative,
  encode: (ms) => [String(ms)],
  decode: (reply) => {
    if (typeof reply !== 'number') throw new Error(`rateLimitBlock: unexpected reply ${reply}`)
    return reply
  },
})
