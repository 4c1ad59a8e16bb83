/**
 * @module signal-group
 * The abort signal of a provider call shared by coalesced callers: it aborts only when EVERY
 * participant's signal has aborted (one client leaving must not cut the answer others wait for).
 * A participant without a signal never aborts, so the group then never aborts either.
 * And `anySignal`: one call's signals joined, aborting when ANY of them does.
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
  #spared: (() => boolean) | undefined

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

  /**
   * When every participant has gone while `whole()` is true (a stream that holds its whole answer,
   * only its trailer to come), the group does not abort: the stream reads its trailer, briefly,
   * and cancels the call itself after that (see `SharedStream`). The SDK helpers
   * (`messages.stream()`, `chat.completions.stream()`, `responses.stream()`) pass their own
   * controller's signal to `create` and abort it on a `break`: aborting the provider call then
   * cut the usage event off and charged the call its estimate.
   */
  spare(whole: () => boolean): void {
    this.#spared = whole
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
        if (this.#spared?.() === true) return
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

const released = (): void => {}

/** The links `anySignal` made, by the signal it returned: what `holdSignal` extends. */
const links = new WeakMap<AbortSignal, () => () => void>()

/**
 * A signal that aborts as soon as any of `sources` does, with that one's reason (at once if one
 * has already), and `release`, which unlinks it from them: a signal made per call must not stay
 * on a long-lived source (an agent loop's, the process's) after the call. Not `AbortSignal.any`:
 * on Node 20 (nodejs/node#55351) each one leaves an entry on its sources that is never removed.
 * The links stay until `release` and every `holdSignal` of the signal have been let go of (a
 * stream read past its call's end). Unlike a `SignalGroup`, which aborts when all have.
 */
export function anySignal(sources: readonly AbortSignal[]): {
  readonly signal: AbortSignal
  readonly release: () => void
} {
  const controller = new AbortController()
  const unlinks: Array<() => void> = []
  const unlink = (): void => {
    for (const remove of unlinks.splice(0)) remove()
  }
  for (const source of sources) {
    if (source.aborted) {
      unlink()
      controller.abort(source.reason)
      return { signal: controller.signal, release: released }
    }
    const abort = (): void => {
      unlink()
      controller.abort(source.reason)
    }
    source.addEventListener('abort', abort, { once: true })
    unlinks.push(() => source.removeEventListener('abort', abort))
  }
  let holds = 0
  const hold = (): (() => void) => {
    // Aborted, or let go of by all: nothing is linked any more.
    if (unlinks.length === 0) return released
    holds++
    let done = false
    return () => {
      if (done) return
      done = true
      if (--holds === 0) unlink()
    }
  }
  const release = hold()
  links.set(controller.signal, hold)
  return { signal: controller.signal, release }
}

/**
 * Keeps `signal` linked to its sources, if `anySignal` made it, until the returned function is
 * called: what reads on after its call has ended (a stream) still aborts with the caller.
 */
export function holdSignal(signal: AbortSignal | undefined): () => void {
  return (signal === undefined ? undefined : links.get(signal)?.()) ?? released
}
