/**
 * How a redaction's cost grows with its text, for the tests that prove a scan stays linear on
 * adversarial input (a log line or a prompt is attacker-controlled): a ratio of two timings taken
 * side by side, not a duration, so a slow machine does not change it.
 */
import { redact } from '../src/redact.js'

/** Cost of one text of 16n characters over the cost of 16 texts of n (best of 5): 16 if quadratic. */
export function longOverShort(make: (n: number) => string): number {
  const best = (fn: () => void): number => {
    let min = Number.POSITIVE_INFINITY
    for (let i = 0; i < 5; i++) {
      const start = performance.now()
      fn()
      min = Math.min(min, performance.now() - start)
    }
    return min
  }
  const short = make(4_000)
  const long = make(64_000)
  redact(short)
  const shortCost = best(() => {
    for (let i = 0; i < 16; i++) redact(short)
  })
  return best(() => redact(long)) / Math.max(shortCost, 0.001)
}
