/**
 * @module new-keys
 * How many keys each rate-limit op may add to a store (`OpDefinition.newKeys`): what a memory
 * store with `evict: false` checks it has room for. The ops pass keys they only read (the block
 * key of a check, the reset stamps of a reservation or a refund) or delete (a reset's states): a
 * full store that counted those as new refused checks of keys it held.
 */

/** The keys among the first `n` that the store does not hold: what a check or refund may write. */
export function absentAmong(
  keys: readonly string[],
  n: number,
  holds: (key: string) => boolean
): number {
  let absent = 0
  for (let i = 0; i < n && i < keys.length; i++) if (!holds(keys[i] as string)) absent++
  return absent
}

/**
 * A reset's: it deletes the `n` states and the block (KEYS 1..n+1) before it writes the `n`
 * stamps after them, so only stamps beyond the keys it frees are new.
 */
export function resetNewKeys(
  keys: readonly string[],
  n: number,
  holds: (key: string) => boolean
): number {
  let freed = 0
  for (let i = 0; i <= n && i < keys.length; i++) if (holds(keys[i] as string)) freed++
  let stamps = 0
  for (let i = n + 1; i < keys.length; i++) if (!holds(keys[i] as string)) stamps++
  return Math.max(0, stamps - freed)
}
