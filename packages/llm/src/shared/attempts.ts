/**
 * @module attempts
 * The SDK's attempts of one call, as its client's `fetch` saw them. The SDK retries inside its
 * `create` (a 429, a 5xx, a timed-out attempt), out of the wrapper's sight: a call aborted while the
 * SDK waits out a `retry-after` has sent requests the provider refused, which it never bills. So
 * the wrapped client's `fetch` is replaced, once, by one that counts, for the call whose request
 * options carry its `Attempts` (a symbol key in the call's own `fetchOptions`, which both SDKs
 * spread into every attempt's `RequestInit`), the requests sent and the ones answered with an error
 * status. Any other request only passes through. Not an AsyncLocalStorage scope around the call:
 * on Node 20 entering one turns on promise hooks for the whole process, for good, which taxes every
 * promise of the app (the HTTP server's too). A client without an own `fetch` function (a test
 * double) is not observed: its calls keep the estimate of unanswered.ts.
 */

/** One call's attempts so far. */
export class Attempts {
  /** Requests handed to `fetch`. */
  sent = 0
  /** Of them, the ones the provider answered with a status >= 400 (never billed). */
  refused = 0
  /**
   * Of them, the ones aborted before any answer came: the SDK's per-attempt `timeout`, which it
   * then retries. The provider does not stop a request when its client goes: a call answered on a
   * later attempt was most likely billed for these too. (Other network failures, a refused or a
   * reset connection, are not counted: the request may never have reached the provider.)
   */
  timedOut = 0

  /** The attempts the provider may have billed: every one sent but not refused. */
  billable(): number {
    return this.sent - this.refused
  }
}

type Fetch = (url: unknown, init?: unknown) => Promise<{ readonly status: number }>

/**
 * The `fetchOptions` key carrying a call's `Attempts` to the counting `fetch`. A symbol: `fetch`
 * ignores it (a `RequestInit` member it does not know), and no header, body or JSON log holds it.
 */
const ATTEMPTS: unique symbol = Symbol('@aikit/llm.attempts')

/** The counting `fetch` functions installed (a `withOptions()` copy inherits its parent's). */
const observing = new WeakSet<Fetch>()

/** A `fetch` rejection for its aborted signal (the SDK aborts an attempt at its `timeout`). */
function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name
  return name === 'AbortError' || name === 'TimeoutError'
}

function count(attempts: Attempts, response: { readonly status: number }) {
  if (response.status >= 400) attempts.refused++
  return response
}

/**
 * Makes `client`'s `fetch` count the attempts of the calls run through `withAttempts`. Whether
 * they can be observed: `false` leaves the client untouched.
 */
export function observeAttempts(client: unknown): boolean {
  if (typeof client !== 'object' || client === null) return false
  const c = client as { fetch?: unknown }
  if (!Object.hasOwn(c, 'fetch') || typeof c.fetch !== 'function') return false
  const base = c.fetch as Fetch
  if (observing.has(base)) return true
  const observed: Fetch = (url, init) => {
    const attempts =
      typeof init === 'object' && init !== null
        ? (init as { [ATTEMPTS]?: Attempts })[ATTEMPTS]
        : undefined
    // `undefined` as `this`: fetch throws when bound to something else (browsers, workers).
    if (attempts === undefined) return base.call(undefined, url, init)
    attempts.sent++
    return base.call(undefined, url, init).then(
      (response) => count(attempts, response),
      (error: unknown) => {
        if (isAbort(error)) attempts.timedOut++
        throw error
      }
    )
  }
  observing.add(observed)
  try {
    c.fetch = observed
  } catch {
    return false
  }
  return c.fetch === observed
}

/**
 * Calls `fn` (the SDK's `create`) with its attempts counted into `attempts`: its request options
 * (`options`, the caller's, forwarded) get a `fetchOptions` holding them, beside the caller's own.
 */
export function withAttempts<P, R>(
  attempts: Attempts,
  fn: (params: P, options?: Record<string, unknown>) => R,
  params: P,
  options: Record<string, unknown> | undefined
): R {
  const fetchOptions = options?.fetchOptions
  const counted = {
    ...(typeof fetchOptions === 'object' && fetchOptions !== null ? fetchOptions : {}),
    [ATTEMPTS]: attempts,
  }
  return fn(params, { ...options, fetchOptions: counted })
}
