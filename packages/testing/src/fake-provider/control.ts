import type {
  AnswerPlan,
  FailureSpec,
  FakeProviderOptions,
  RecordedCall,
  ReplyContext,
  ReplyFn,
  StreamHold,
  UsageOverride,
} from './types.js'

/** A hold as the SSE writer uses it: where to stop, whom to tell, what to wait for. */
export interface PendingHold {
  /** Number of events written before holding. */
  readonly after: number
  /** Called by the writer once it holds. */
  readonly reached: () => void
  /** Resolves on `release()`. */
  readonly released: Promise<void>
}

/** What to do with the next request, taken from the queue in order. */
export type NextAction =
  | { kind: 'fail'; spec: FailureSpec }
  | { kind: 'hang' }
  | { kind: 'hold'; hold: PendingHold }

/**
 * Mutable behaviour of one fake provider: recorded calls, queued failures/hangs, stream
 * shaping and tracked timers. Shared by the server and the protocol handlers.
 */
export class ControlState {
  readonly calls: RecordedCall[] = []
  reply: ReplyFn | undefined
  streamDelayMs: number
  usage: UsageOverride | undefined
  readonly #queue: NextAction[] = []
  readonly #breaks: number[] = []
  readonly #holds: PendingHold[] = []
  readonly #streamErrors: Array<{ after: number; message: string }> = []
  readonly #ends: number[] = []
  readonly #answers: AnswerPlan[] = []
  /** Release functions of every hold not yet released (pending or in progress). */
  readonly #releases = new Set<() => void>()
  readonly #timers = new Map<NodeJS.Timeout, () => void>()
  #inFlight = 0
  #seq = 0
  readonly #idleWaiters: Array<() => void> = []

  constructor(opts: FakeProviderOptions = {}) {
    this.reply = opts.reply
    this.streamDelayMs = opts.streamDelayMs ?? 0
    this.usage = opts.usage
  }

  /** Answer text for a request: the configured reply function or `Echo: <last user text>`. */
  replyFor(ctx: ReplyContext): string {
    return this.reply ? this.reply(ctx) : `Echo: ${ctx.lastUserText}`
  }

  /** Sequential id such as `msg_fake_000001` (unique per provider instance). */
  nextId(prefix: string): string {
    this.#seq++
    return `${prefix}_fake_${String(this.#seq).padStart(6, '0')}`
  }

  /** Queue `n` copies of an action. */
  enqueue(n: number, action: NextAction): void {
    for (let i = 0; i < n; i++) this.#queue.push(action)
  }

  /** Take the next queued action, if any. */
  takeAction(): NextAction | undefined {
    return this.#queue.shift()
  }

  /** Make the next streaming response drop after `nChunks` events. */
  addBreak(nChunks: number): void {
    this.#breaks.push(nChunks)
  }

  /** Take the pending break for a streaming response, if any. */
  takeBreak(): number | undefined {
    return this.#breaks.shift()
  }

  /** Make the next streaming response send an in-stream error event after `after` events. */
  addStreamError(after: number, message: string): void {
    this.#streamErrors.push({ after, message })
  }

  /** Take the pending in-stream error for a streaming response, if any. */
  takeStreamError(): { after: number; message: string } | undefined {
    return this.#streamErrors.shift()
  }

  /** Make the next streaming response end cleanly after `after` events. */
  addEnd(after: number): void {
    this.#ends.push(after)
  }

  /** Take the pending clean end for a streaming response, if any. */
  takeEnd(): number | undefined {
    return this.#ends.shift()
  }

  /** Shape the next `n` answers by `plan`. */
  addAnswers(n: number, plan: AnswerPlan): void {
    for (let i = 0; i < n; i++) this.#answers.push(plan)
  }

  /** Take the plan of an answer being made, if any. */
  takeAnswer(): AnswerPlan | undefined {
    return this.#answers.shift()
  }

  /** Make the next request wait, once read, until released. */
  holdRequest(): StreamHold {
    const { pending, handle } = this.#newHold(0)
    this.#queue.push({ kind: 'hold', hold: pending })
    return handle
  }

  /** Make the next streaming response hold after `after` events until released. */
  addHold(after: number): StreamHold {
    const { pending, handle } = this.#newHold(after)
    this.#holds.push(pending)
    return handle
  }

  #newHold(after: number): { pending: PendingHold; handle: StreamHold } {
    let reached!: () => void
    let release!: () => void
    const reachedP = new Promise<void>((resolve) => {
      reached = resolve
    })
    const released = new Promise<void>((resolve) => {
      release = () => {
        this.#releases.delete(release)
        resolve()
      }
    })
    this.#releases.add(release)
    return { pending: { after, reached, released }, handle: { reached: reachedP, release } }
  }

  /** Take the pending hold for a streaming response, if any. */
  takeHold(): PendingHold | undefined {
    return this.#holds.shift()
  }

  /** Release every hold (pending or in progress). */
  releaseHolds(): void {
    for (const release of [...this.#releases]) release()
    this.#holds.length = 0
  }

  /** Forget calls and all configured behaviour (timers keep running; holds are released). */
  reset(): void {
    this.calls.length = 0
    this.#queue.length = 0
    this.#breaks.length = 0
    this.#streamErrors.length = 0
    this.#ends.length = 0
    this.#answers.length = 0
    this.releaseHolds()
    this.reply = undefined
    this.streamDelayMs = 0
    this.usage = undefined
  }

  /** Tracked sleep; `clearTimers()` resolves it early. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        resolve()
      }, ms)
      this.#timers.set(timer, resolve)
    })
  }

  /** Cancel every pending sleep (resolving it). */
  clearTimers(): void {
    for (const [timer, resolve] of this.#timers) {
      clearTimeout(timer)
      resolve()
    }
    this.#timers.clear()
  }

  /** Mark a request as started. */
  begin(): void {
    this.#inFlight++
  }

  /** Mark a request as finished; wakes `idle()` waiters when none remain. */
  end(): void {
    this.#inFlight--
    if (this.#inFlight > 0) return
    for (const wake of this.#idleWaiters.splice(0)) wake()
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight <= 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }
}
