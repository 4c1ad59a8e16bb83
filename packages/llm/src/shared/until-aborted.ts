/**
 * @module until-aborted
 * A caller's wait on something it does not control (a cache lookup on a shared tier that may
 * stall), cut short when the caller leaves (its signal, its deadline): the caller leaves at once,
 * as the bare SDK's call would.
 */

/** How a caller leaves: `signal` aborts when it goes; `dispose` stops watching (a timer, a listener). */
export interface Leaving {
  readonly signal: AbortSignal
  dispose(): void
}

/**
 * `pending` raced against the caller's leaving: settles as `pending` does, or rejects with
 * `gone(signal)` the moment the caller has gone; what `pending` gives after that is dropped. A
 * value, or a promise resolved already (a memory tier's answer), settles without watching
 * anything: `arm` (the caller's way out: a listener on its signal, a deadline's timer) is called a
 * microtask later, only when `pending` is still waiting then, and disposed of when it settles.
 * `arm` returns `undefined` for a caller that cannot leave (no signal, no deadline).
 */
export function untilAborted(
  pending: unknown,
  arm: () => Leaving | undefined,
  gone: (signal: AbortSignal) => Error
): Promise<unknown> {
  if (typeof (pending as PromiseLike<unknown> | null)?.then !== 'function') {
    return Promise.resolve(pending)
  }
  return new Promise((resolve, reject) => {
    let settled = false
    let leaving: Leaving | undefined
    const onAbort = (): void => {
      if (settled || leaving === undefined) return
      settled = true
      leaving.dispose()
      reject(gone(leaving.signal))
    }
    const settle = (ok: boolean, value: unknown): void => {
      if (settled) return
      settled = true
      if (leaving !== undefined) {
        leaving.signal.removeEventListener('abort', onAbort)
        leaving.dispose()
      }
      if (leaving?.signal.aborted) reject(gone(leaving.signal))
      else if (ok) resolve(value)
      else reject(value)
    }
    ;(pending as PromiseLike<unknown>).then(
      (value) => settle(true, value),
      (error: unknown) => settle(false, error)
    )
    // Queued after `pending`'s reaction: one resolved already settles first, and arms nothing.
    queueMicrotask(() => {
      if (settled) return
      leaving = arm()
      if (leaving === undefined) return
      if (leaving.signal.aborted) onAbort()
      else leaving.signal.addEventListener('abort', onAbort, { once: true })
    })
  })
}
