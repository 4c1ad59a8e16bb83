/**
 * @module redis/timeout
 * Bounds a promise with a timer that is always cleared.
 */
import { StoreTimeoutError } from '../store/errors.js'
import { monotonicNow } from './monotonic.js'

/** Runs `fn` after the I/O of the current event-loop turn (see `withTimeout`). */
export const afterIo: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0)

/**
 * Resolves or rejects like `promise`, or rejects with `StoreTimeoutError` after `ms` (not finite =
 * no timeout). A later rejection of the abandoned promise is swallowed. One promise and one timer
 * per call (no `Promise.race`), since this wraps every Redis command on the hot path.
 *
 * The rejection waits one turn of the event loop after the timer (`setImmediate`): timers run
 * before I/O in each turn, so when the process was busy (a burst of requests, a long synchronous
 * task) past `ms`, a reply already waiting in the socket is read and wins. Only a reply that has
 * not arrived times out: the app's own delays are not counted as Redis being slow.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what?: string): Promise<T> {
  if (!Number.isFinite(ms)) return promise
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => afterIo(() => reject(new StoreTimeoutError(ms, what))), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      }
    )
  })
}

/** Calls whose time ran out, found by one shared timer (see `deadlines`). */
export interface Deadlines<T> {
  /**
   * Starts bounding `item`: unless `isSettled(item)` by then, it is expired `ms` later, and
   * `expire` gets `mark` back (a number the caller read when the call started; default 0).
   */
  add(item: T, mark?: number): void
  /** Forgets the settled items at the front: call it when an item settles (cheap, O(1) amortized). */
  drop(): void
}

/** Items dropped from the front before the queue's storage is compacted. */
const COMPACT_AFTER = 1024

/**
 * Bounds many calls with ONE timer instead of a timer per call (a `setTimeout` plus a
 * `clearTimeout` per Redis command is measurable on the hot path; ioredis's own `commandTimeout`
 * pays it too). Every item gets the same bound `ms`, so deadlines are ordered like the items: a
 * FIFO queue, with one timer armed for its oldest unsettled item.
 *
 * Semantics match `withTimeout`: an item expires no earlier than `ms` after `add`, and the expiry
 * waits one turn of the event loop after the timer (`afterIo`) so a reply already waiting in the
 * socket wins. The timer holds the process open only while items are pending.
 *
 * Replies on one connection come in order, so the item that settles is nearly always the front
 * one: `drop()` pops it, and the queue holds about as many items as calls in flight.
 */
export function deadlines<T>(
  ms: number,
  isSettled: (item: T) => boolean,
  expire: (item: T, mark: number) => void
): Deadlines<T> {
  const items: (T | undefined)[] = []
  const due: number[] = []
  const marks: number[] = []
  let head = 0
  let tail = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let held = false

  const hold = (on: boolean): void => {
    if (held === on || timer === undefined) return
    held = on
    const t = timer as { ref?: () => void; unref?: () => void }
    if (on) t.ref?.()
    else t.unref?.()
  }

  const drop = (): void => {
    while (head < tail && isSettled(items[head] as T)) items[head++] = undefined
    if (head === tail) {
      head = 0
      tail = 0
      hold(false)
    } else if (head >= COMPACT_AFTER && head * 2 >= tail) {
      items.copyWithin(0, head, tail)
      due.copyWithin(0, head, tail)
      marks.copyWithin(0, head, tail)
      items.fill(undefined, tail - head, tail)
      tail -= head
      head = 0
    }
  }

  const arm = (delay: number): void => {
    timer = setTimeout(fire, Math.min(Math.max(1, Math.ceil(delay)), 2_147_483_647))
    held = true
  }

  const sweep = (at: number): void => {
    timer = undefined
    held = false
    while (head < tail && (due[head] as number) <= at) {
      const item = items[head] as T
      const mark = marks[head] as number
      items[head++] = undefined
      if (!isSettled(item)) expire(item, mark)
    }
    drop()
    // An `expire` may have added an item (and armed the timer) from a listener.
    if (head < tail && timer === undefined) arm((due[head] as number) - at)
  }

  const fire = (): void => {
    const at = monotonicNow()
    afterIo(() => sweep(at))
  }

  return {
    add(item, mark = 0) {
      items[tail] = item
      due[tail] = monotonicNow() + ms
      marks[tail] = mark
      tail++
      if (timer === undefined) arm(ms)
      else hold(true)
    },
    drop,
  }
}
