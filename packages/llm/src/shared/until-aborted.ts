/**
 * @module until-aborted
 * A caller's wait on something it does not control (a cache lookup on a shared tier that may
 * stall), cut short by its signal: the caller leaves at once, as the bare SDK's call would.
 */

/**
 * `pending` raced against `signal`: rejects with `gone()` the moment the signal aborts (at once if
 * it has), else settles as `pending` does; what `pending` gives after that is dropped. A value, or
 * a promise resolved already (a memory tier's answer), settles without any listener on the signal:
 * the listener is added a microtask later, only when `pending` is still waiting then.
 */
export function untilAborted(
  pending: unknown,
  signal: AbortSignal,
  gone: () => Error
): Promise<unknown> {
  if (signal.aborted) return Promise.reject(gone())
  if (typeof (pending as PromiseLike<unknown> | null)?.then !== 'function') {
    return Promise.resolve(pending)
  }
  return new Promise((resolve, reject) => {
    let settled = false
    let listening = false
    const onAbort = (): void => {
      if (settled) return
      settled = true
      reject(gone())
    }
    const settle = (ok: boolean, value: unknown): void => {
      if (settled) return
      settled = true
      if (listening) signal.removeEventListener('abort', onAbort)
      if (signal.aborted) reject(gone())
      else if (ok) resolve(value)
      else reject(value)
    }
    ;(pending as PromiseLike<unknown>).then(
      (value) => settle(true, value),
      (error: unknown) => settle(false, error)
    )
    // Queued after `pending`'s reaction: one resolved already settles first, and needs no listener.
    queueMicrotask(() => {
      if (settled) return
      if (signal.aborted) return onAbort()
      listening = true
      signal.addEventListener('abort', onAbort, { once: true })
    })
  })
}
