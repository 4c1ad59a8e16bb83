/**
 * @module pending-work
 * Work a kit component still does for a request whose connection is gone (the budget settle of an
 * LLM stream cut at the shutdown deadline): `gracefulShutdown` waits for it, bounded, before its
 * `onShutdown` closes the stores that work needs. Without it, a call cut at the deadline was never
 * charged: its hold stayed until its TTL, and it had no log line or metric.
 */

/** One set per process, whatever copies of this package are loaded. */
const KEY = Symbol.for('@aikit/core.pending-work')

function pendingSet(): Set<Promise<unknown>> {
  const holder = globalThis as { [KEY]?: Set<Promise<unknown>> }
  let set = holder[KEY]
  if (set === undefined) {
    set = new Set()
    holder[KEY] = set
  }
  return set
}

/** Registers `work` until it settles; returns it. */
export function trackWork<T>(work: Promise<T>): Promise<T> {
  const set = pendingSet()
  set.add(work)
  const done = (): void => {
    set.delete(work)
  }
  work.then(done, done)
  return work
}

/** A moment for work that starts as cut requests unwind (their sockets' close events). */
const QUIET_MS = 25

/**
 * Resolves once no tracked work is left after a quiet moment, or after `limitMs` at the latest.
 */
export async function workDone(limitMs: number): Promise<void> {
  const until = Date.now() + limitMs
  for (;;) {
    const left = until - Date.now()
    if (left <= 0) return
    await new Promise((resolve) => setTimeout(resolve, Math.min(QUIET_MS, left)))
    const set = pendingSet()
    if (set.size === 0) return
    const rest = until - Date.now()
    if (rest <= 0) return
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      Promise.allSettled([...set]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, rest)
      }),
    ])
    clearTimeout(timer)
  }
}
