// Machine-readable benchmark results. Every bench keeps printing its own human report; for each
// figure an issue promises (or an anchor comparison worth a line in the summary) it also calls
// `record()`. When bench/run.mjs runs the script it sets AIKIT_BENCH_RESULTS to a file path and
// every row is appended there as one JSON line; run standalone, `record()` only validates.
import { appendFileSync } from 'node:fs'

const file = process.env.AIKIT_BENCH_RESULTS

/**
 * @typedef {object} ResultRow
 * @property {string} area            package area: 'ratelimit', 'cache', 'security', ...
 * @property {string} benchmark       what was measured, e.g. 'memory store, 100k keys'
 * @property {number | null} ours     our figure (median), in `unit`
 * @property {number | null} anchor   the anchor's figure from the same run, in `unit`
 * @property {string} anchorName      the anchor, e.g. 'rate-limiter-flexible RateLimiterMemory'
 * @property {string} unit            'ops/s', 'req/s', 'ms', 'MB', ...
 * @property {number} ratio           the figure the target is stated on (median of per-round ratios)
 * @property {'>=' | '<='} [targetOp] how the target reads; default '>='
 * @property {number | null} [target] the issue's target for `ratio`, null for information only
 * @property {string} [issue]         the issue number the target comes from
 * @property {string} [note]          one short remark (what the ratio means when not ours/anchor)
 */

/** Records one result row; `met` is derived from the ratio and the target. */
export function record(row) {
  for (const field of ['area', 'benchmark', 'anchorName', 'unit']) {
    if (typeof row[field] !== 'string' || row[field] === '') {
      throw new TypeError(`record(): ${field} must be a non-empty string`)
    }
  }
  if (!Number.isFinite(row.ratio)) throw new TypeError('record(): ratio must be a finite number')
  const targetOp = row.targetOp ?? '>='
  const target = row.target ?? null
  const met = target === null ? null : targetOp === '>=' ? row.ratio >= target : row.ratio <= target
  const full = {
    area: row.area,
    benchmark: row.benchmark,
    ours: row.ours ?? null,
    anchor: row.anchor ?? null,
    anchorName: row.anchorName,
    unit: row.unit,
    ratio: row.ratio,
    targetOp,
    target,
    met,
    issue: row.issue ?? null,
    note: row.note ?? null,
  }
  if (file) appendFileSync(file, `${JSON.stringify(full)}\n`)
  return full
}

/** Median of a list of numbers (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
