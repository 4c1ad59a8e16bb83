/**
 * @module attempts
 * The SDK's attempts of one call, as its client's `fetch` saw them. The SDK retries inside its
 * `create` (a 429, a 5xx, a timed-out attempt), out of the wrapper's sight: a call aborted while the
 * SDK waits out a `retry-after` has sent requests the provider refused, which it never bills. So
 * the wrapped client's `fetch` is replaced, once, by one that counts, for the call running in the
 * current async context (an AsyncLocalStorage store, set only around a budgeted call), the requests
 * sent and the ones answered with an error status. Outside such a call it only passes through.
 * A client without an own `fetch` function (a test double), or a runtime without
 * AsyncLocalStorage, is not observed: its calls keep the estimate of unanswered.ts.
 */

/** One call's attempts so far. */
export class Attempts {
  /** Requests handed to `fetch`. */
  sent = 0
  /** Of them, the ones the provider answered with a status >= 400 (never billed). */
  refused = 0

  /** The attempts the provider may have billed: every one sent but not refused. */
  billable(): number {
    return this.sent - this.refused
  }
}

interface Storage {
  run<R, A extends unknown[]>(store: Attempts, fn: (...args: A) => R, ...args: A): R
  getStore(): Attempts | undefined
}

type StorageClass = new () => Storage
type Fetch = (url: unknown, init?: unknown) => Promise<{ readonly status: number }>

/** Without importing `node:` modules (the entry stays edge-safe), as @aikit/core finds it. */
function findStorage(): Storage | undefined {
  const g = globalThis as { AsyncLocalStorage?: StorageClass; process?: unknown }
  if (typeof g.AsyncLocalStorage === 'function') return new g.AsyncLocalStorage()
  const proc = g.process as
    | { getBuiltinModule?: (id: string) => { AsyncLocalStorage?: StorageClass } | undefined }
    | undefined
  const Ctor = proc?.getBuiltinModule?.('node:async_hooks')?.AsyncLocalStorage
  return Ctor ? new Ctor() : undefined
}

const storage = findStorage()

/** The counting `fetch` functions installed (a `withOptions()` copy inherits its parent's). */
const observing = new WeakSet<Fetch>()

function count(attempts: Attempts, response: { readonly status: number }) {
  if (response.status >= 400) attempts.refused++
  return response
}

/**
 * Makes `client`'s `fetch` count the attempts of the calls run through `withAttempts`. Whether
 * they can be observed: `false` leaves the client untouched.
 */
export function observeAttempts(client: unknown): boolean {
  if (storage === undefined || typeof client !== 'object' || client === null) return false
  const c = client as { fetch?: unknown }
  if (!Object.hasOwn(c, 'fetch') || typeof c.fetch !== 'function') return false
  const base = c.fetch as Fetch
  if (observing.has(base)) return true
  const observed: Fetch = (url, init) => {
    const attempts = storage.getStore()
    // `undefined` as `this`: fetch throws when bound to something else (browsers, workers).
    if (attempts === undefined) return base.call(undefined, url, init)
    attempts.sent++
    return base.call(undefined, url, init).then((response) => count(attempts, response))
  }
  observing.add(observed)
  try {
    c.fetch = observed
  } catch {
    return false
  }
  return c.fetch === observed
}

/** Calls `fn` (the SDK's `create`) with its attempts counted into `attempts` (no closure). */
export function withAttempts<R, A extends unknown[]>(
  attempts: Attempts,
  fn: (...args: A) => R,
  ...args: A
): R {
  return storage === undefined ? fn(...args) : storage.run(attempts, fn, ...args)
}
