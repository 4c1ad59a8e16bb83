/**
 * @module reset-op
 * `limiter.reset`: deletes a key's limit states and its block, and raises each limit's reset
 * stamp. The stamp is what keeps a reservation made before the reset from giving its units back a
 * second time when it is settled or released after it (the reset already gave them back, and they
 * may have been taken again): a reservation's check reads the stamps (`reserveOp`), and
 * `adjustOp` drops a refund from a limit whose stamp is higher than the one its reservation saw.
 *
 * The new stamp is the store time, or one more than the stamp there when that is not lower (two
 * resets in one ms, a clock stepped back): each reset raises it, and it keeps rising across its
 * expiry, when the clock has moved on by more than the stamp's life. A stamp lives
 * `2 × windowMs`, as a state does: a reservation made before the reset holds nothing that long
 * after it (its window is over, or its units have drained / refilled), so the stamp expires no
 * earlier than any refund it must cancel.
 *
 * KEYS: one per limit, the block key, then one reset stamp per limit (same `{hash tag}`).
 * ARGV: `[n, windowMs × n]`. Reply: 1.
 */
import { defineOp, LUA_NOW_MS, type NativeData } from '@aikit/core'
import type { OpLimit } from './algorithms.js'
import { resetNewKeys } from './new-keys.js'

const LUA = `${LUA_NOW_MS}local n = tonumber(ARGV[1])
for i = 1, n + 1 do redis.call('DEL', KEYS[i]) end
for i = 1, n do
  local sk = KEYS[n + 1 + i]
  local stamp = nowMs
  local cur = tonumber(redis.call('GET', sk) or '0') or 0
  if cur >= stamp then stamp = cur + 1 end
  redis.call('SET', sk, string.format('%d', stamp), 'PX', string.format('%d', 2 * tonumber(ARGV[1 + i])))
end
return 1
`

function resetNative(
  data: NativeData,
  keys: readonly string[],
  limits: readonly OpLimit[],
  nowMs: number
): number {
  const n = limits.length
  for (let i = 0; i <= n; i++) data.delete(keys[i] as string)
  limits.forEach((l, i) => {
    const key = keys[n + 1 + i] as string
    const cur = (data.get(key) as number | undefined) ?? 0
    data.set(key, cur >= nowMs ? cur + 1 : nowMs, 2 * l.windowMs)
  })
  return 1
}

/** The reset op; input: the limiter's limits (their keys, then the block key, then the stamps). */
export const resetOp = defineOp<readonly OpLimit[], number>({
  name: 'rateLimitReset',
  lua: LUA,
  native: resetNative,
  newKeys: (keys, limits, holds) => resetNewKeys(keys, limits.length, holds),
  encode: (limits) => [String(limits.length), ...limits.map((l) => String(l.windowMs))],
  decode: (reply) => {
    if (reply !== 1) throw new Error(`rateLimitReset: unexpected reply ${JSON.stringify(reply)}`)
    return 1
  },
})
