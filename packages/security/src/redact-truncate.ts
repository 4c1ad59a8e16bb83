/**
 * @module redact-truncate
 * Cutting a string that is too long without cutting a secret in two. Cutting first and scanning
 * the head would leave the part of a key before the cut in clear, no longer matching its shape
 * (`AIza` + 34 of its 35 characters); so the scan sees a window reaching past the cut, and the
 * cut is then made in the redacted text.
 */

/** Characters scanned past the cut: longer than any secret of a bounded shape. */
export const TRUNCATION_LOOKAHEAD = 4096

/**
 * The first `max` characters of `s` as `scan` (a redaction) leaves them, where `scan` saw
 * `TRUNCATION_LOOKAHEAD` characters more: exactly `max` characters of `s` when no secret was
 * censored across the cut; otherwise up to the end of the `censor` of the secret across the cut
 * (censored whole). Nothing past the cut is returned in clear, and no text past a secret across
 * it.
 */
export function redactedHead(
  s: string,
  max: number,
  scan: (text: string) => string,
  censor: string
): string {
  const window = s.slice(0, max + TRUNCATION_LOOKAHEAD)
  const out = scan(window)
  if (out === window) return window.slice(0, max)
  const past = window.length - max
  // What follows the last change is the window's own text: its length, up to `past`.
  let same = 0
  const o = out.length - 1
  const w = window.length - 1
  while (same < past && same <= o && out.charCodeAt(o - same) === window.charCodeAt(w - same)) {
    same++
  }
  if (same === past) return out.slice(0, out.length - past) // no change past the cut
  // A change past the cut: when the text before the cut is unchanged, it crossed nothing.
  let head = 0
  while (head < max && out.charCodeAt(head) === window.charCodeAt(head)) head++
  if (head === max) return window.slice(0, max)
  // Changes on both sides of the cut. The first `max` characters redacted alone are the answer
  // when the whole window's redaction starts with them (no secret crosses the cut, or the part of
  // one before it is censored there too).
  const cut = scan(window.slice(0, max))
  if (out.startsWith(cut)) return cut
  // A secret crosses the cut and its part before the cut no longer matches: the head up to where
  // the two redactions part, then that secret's censor.
  let d = 0
  while (d < cut.length && out.charCodeAt(d) === cut.charCodeAt(d)) d++
  if (censor.length > 0 && out.startsWith(censor, d)) return out.slice(0, d + censor.length)
  return out.slice(0, out.length - same)
}
