/**
 * @module signal-group
 * The abort signal of a provider call shared by coalesced callers: it aborts only when EVERY
 * participant's signal has aborted (one client leaving must not cut the answer others wait for).
 * A participant without a signal never aborts, so the group then never aborts either.
 */
export class SignalGroup {
  /** Runs once, when the group aborts (every participant has gone). */
  readonly #onAbort: (() => void) | undefined
  // Created only when a signal is asked for: most calls (no signal anywhere) never need one.
  #controller: AbortController | undefined
  // Made on the first participant with a signal (most calls have none).
  #cleanups: Array<() => void> | undefined
  #live = 0
  #unbounded = false

  /** `onAbort` runs once, the moment every participant has gone (the call is then doomed). */
  constructor(onAbort?: () => void) {
    this.#onAbort = onAbort
  }

  /** False when a participant has no signal: the group can then never abort. */
  get abortable(): boolean {
    return !this.#unbounded
  }

  /** True once every participant has left (the provider call is being aborted). */
  get aborted(): boolean {
    return this.#controller?.signal.aborted === true
  }

  /** The signal to pass to the provider call. */
  get signal(): AbortSignal {
    this.#controller ??= new AbortController()
    return this.#controller.signal
  }

  /** Adds a participant; `onAbort` runs when its own signal aborts. */
  join(signal: AbortSignal | undefined, onAbort?: () => void): void {
    if (signal === undefined) {
      this.#unbounded = true
      return
    }
    this.#live++
    const leave = (): void => {
      onAbort?.()
      this.#live--
      if (this.#live === 0 && !this.#unbounded && !this.aborted) {
        this.#controller ??= new AbortController()
        this.#controller.abort(signal.reason)
        this.#onAbort?.()
      }
    }
    if (signal.aborted) {
      leave()
      return
    }
    signal.addEventListener('abort', leave, { once: true })
    this.#cleanups ??= []
    this.#cleanups.push(() => signal.removeEventListener('abort', leave))
  }

  /** Stops listening to the participants' signals (the call is over). */
  dispose(): void {
    const cleanups = this.#cleanups
    if (cleanups === undefined) return
    this.#cleanups = undefined
    for (const cleanup of cleanups) cleanup()
  }
}
