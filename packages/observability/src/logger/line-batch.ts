/**
 * @module line-batch
 * Joins the request lines written during one turn of the event loop into a single `write`. On Linux
 * a write to stdout (a pipe or a file) is a synchronous system call, one per line with winston's
 * stream transport; at thousands of requests per second that is thousands of syscalls. Lines still
 * pending when the process exits are written from the `exit` handler (synchronous for stdout).
 */
import type { Writable } from 'node:stream'

/** Flush early past this many characters, so a burst cannot grow the buffer without bound. */
const MAX_PENDING = 64 * 1024

const pendingBatches = new Set<LineBatch>()
let exitHookInstalled = false

function flushAllOnExit(): void {
  for (const batch of pendingBatches) batch.flush()
}

export class LineBatch {
  private pending = ''
  private scheduled = false

  constructor(private readonly out: Writable) {}

  /** Queues one line (without its newline) for the next flush. */
  push(line: string): void {
    this.pushLine(`${line}\n`)
  }

  /** Queues one line that ends with its newline for the next flush. */
  pushLine(line: string): void {
    this.pending += line
    if (this.pending.length >= MAX_PENDING) {
      this.flush()
      return
    }
    if (!this.scheduled) {
      this.scheduled = true
      pendingBatches.add(this)
      if (!exitHookInstalled) {
        exitHookInstalled = true
        process.once('exit', flushAllOnExit)
      }
      setImmediate(() => this.flush())
    }
  }

  /** Writes whatever is pending now (also called before any other write to the same stream). */
  flush(): void {
    this.scheduled = false
    pendingBatches.delete(this)
    if (this.pending === '') return
    const chunk = this.pending
    this.pending = ''
    this.out.write(chunk)
  }
}
