/**
 * @module span-index
 * "Does this span overlap one found before?" for the guard's finders, in O(log n) a question. A
 * scan over every earlier span made finding k spans cost k² / 2 comparisons: a prompt of 16 000
 * `key=x` parameters (within the default token budget) took seconds; an LLM output, which has no
 * budget, more.
 */

/** A half-open range `[index, index + length)` of a text. */
export interface Span {
  index: number
  length: number
}

/** Spans sorted by start, with the furthest end of each prefix of them. */
export class SpanIndex {
  readonly #starts: number[] = []
  readonly #maxEnds: number[] = []

  constructor(spans: readonly Span[]) {
    const sorted = [...spans].sort((a, b) => a.index - b.index)
    let maxEnd = Number.NEGATIVE_INFINITY
    for (const s of sorted) {
      this.#starts.push(s.index)
      maxEnd = Math.max(maxEnd, s.index + s.length)
      this.#maxEnds.push(maxEnd)
    }
  }

  /**
   * Whether `[index, index + length)` overlaps one of the spans: one of those starting before its
   * end (a prefix of the sorted starts) ends after its start. The same test as
   * `index < f.index + f.length && f.index < index + length` over every span `f`.
   */
  overlaps(index: number, length: number): boolean {
    const end = index + length
    let lo = 0
    let hi = this.#starts.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#starts[mid] as number) < end) lo = mid + 1
      else hi = mid
    }
    return lo > 0 && (this.#maxEnds[lo - 1] as number) > index
  }
}
