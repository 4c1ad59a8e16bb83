/**
 * @module format
 * The checklist as a plain-text table (no colours: it goes to CI logs as often as to terminals).
 */
import type { DoctorResult } from './types.js'

/** Renders `result` as an aligned table plus a one-line summary. */
export function formatReport(result: DoctorResult): string {
  const head = ['STATUS', 'CHECK', 'FINDING', 'FIX']
  const rows = result.items.map((i) => [i.status, i.id, i.detail, i.fix ?? ''])
  const widths = head.map((h, c) =>
    // The last column is not padded.
    c === head.length - 1 ? 0 : Math.max(h.length, ...rows.map((r) => r[c]!.length))
  )
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd()
  const count = (s: string): number => result.items.filter((i) => i.status === s).length
  return [
    line(head),
    line(widths.map((w, c) => '-'.repeat(c === head.length - 1 ? 3 : w))),
    ...rows.map(line),
    '',
    `${count('FAIL')} FAIL, ${count('WARN')} WARN, ${count('PASS')} PASS: ${
      result.ok ? 'ready to launch (read the warnings)' : 'not ready to launch'
    }`,
    '',
  ].join('\n')
}
