/**
 * How a redaction's cost grows with its text, for the tests that prove a scan stays linear on
 * adversarial input (a log line or a prompt is attacker-controlled): a ratio of two timings taken
 * side by side, not a duration, so a slow machine does not change it.
 */
import { redact } from '../src/redact.js'
import { costRatio } from './linear-cost.js'

/** Cost of one text of 16n characters over the cost of 16 texts of n: 16 if quadratic. */
export function longOverShort(make: (n: number) => string): Promise<number> {
  const short = make(4_000)
  const long = make(64_000)
  return costRatio(
    () => {
      for (let i = 0; i < 16; i++) redact(short)
    },
    () => redact(long)
  )
}
