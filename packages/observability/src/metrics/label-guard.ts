/**
 * @module label-guard
 * A hard cap on the distinct values of one label of one metric. Each new value past the cap becomes
 * `_other` (and is counted), so user-controlled input (a model name, a route a bug turned into a
 * raw path) can never grow the series count, or the scrape time, without bound.
 */
import { OTHER_VALUE } from './names.js'

/** Longest label value kept; longer values are treated as one more unseen value (→ `_other`). */
const MAX_VALUE_LENGTH = 256

/** ES2024's `String` methods (Node 20+; the compiler's lib here is ES2023). */
type WellFormed = string & { isWellFormed(): boolean; toWellFormed(): string }

export class LabelGuard {
  private readonly seen = new Set<string>()

  constructor(
    private readonly max: number,
    private readonly onOverflow: () => void
  ) {}

  /** The value to record: `value` itself while under the cap (or already seen), else `_other`. */
  value(value: string): string {
    if (this.seen.has(value)) return value
    // A lone surrogate (`JSON.parse('"gpt-4\\ud800"')`, from a client's body) is written as U+FFFD:
    // two values that differ only there would be two series with one label set in the scrape
    // (Prometheus drops both as duplicates). Kept as it will be written.
    const text = value as WellFormed
    if (!text.isWellFormed()) {
      value = text.toWellFormed()
      if (this.seen.has(value)) return value
    }
    if (this.seen.size < this.max && value.length <= MAX_VALUE_LENGTH) {
      this.seen.add(value)
      return value
    }
    this.onOverflow()
    return OTHER_VALUE
  }
}
