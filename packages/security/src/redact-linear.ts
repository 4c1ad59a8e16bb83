/**
 * @module redact-linear
 * Hand-written matchers for the two secret shapes whose regex is not linear on adversarial text.
 *
 * A backtracking engine tries every start position. For the JWT regex
 * `(eyJ)[A-Za-z0-9_-]{8,4096}\.…`, each `eyJ` not followed by a dot within its run of base64url
 * characters costs the whole run (up to 4096 characters forward, then back): `'eyJ'.repeat(1e5)`
 * took about 1.5 s. The private-key regex's lazy `[\s\S]{1,16384}?` looks up to 16 KiB ahead of
 * every `-----BEGIN … PRIVATE KEY-----` header for its END line. Here each run of characters is
 * scanned once whatever the number of candidates in it (every `eyJ` of a run shares its end), and
 * the END line is searched once for all headers before it, so a scan costs O(length).
 *
 * Each matcher gives exactly the matches of its reference regex (`source`; a property test
 * compares them on adversarial strings), through the part of the RegExp interface the scanner
 * uses: `lastIndex`, `exec` (global semantics) and `test`.
 */

/** The part of `RegExp` the secret scanner uses; a global `RegExp` is one. */
export interface SecretRegex {
  /** Where the next `exec` starts; reset to 0 when it finds nothing (global semantics). */
  lastIndex: number
  /** The next match from `lastIndex`, with its capture groups, or null. */
  exec(text: string): RegExpExecArray | null
  /** `exec(text) !== null`. */
  test(text: string): boolean
  /** The pattern's regex source (for a matcher, the reference regex it behaves like). */
  readonly source: string
}

/** Characters the matchers have looked at so far (the test of linearity reads it). */
export interface ScanWork {
  readonly work: number
}

/** `[A-Za-z0-9_-]`, by ASCII code. */
const B64URL = new Uint8Array(128)
for (let c = 48; c <= 57; c++) B64URL[c] = 1
for (let c = 65; c <= 90; c++) B64URL[c] = 1
for (let c = 97; c <= 122; c++) B64URL[c] = 1
B64URL[45] = 1 // -
B64URL[95] = 1 // _

const DOT = 46
const MAX = 4096

/** First index at or after `i` that is not `[A-Za-z0-9_-]` (or the length). */
function b64urlRunEnd(s: string, i: number): number {
  const n = s.length
  while (i < n) {
    const c = s.charCodeAt(i)
    if (c >= 128 || B64URL[c] === 0) break
    i++
  }
  return i
}

function execArray(text: string, index: number, end: number, kept: string): RegExpExecArray {
  const m = [text.slice(index, end), kept] as unknown as RegExpExecArray
  m.index = index
  m.input = text
  return m
}

abstract class LinearMatcher implements SecretRegex, ScanWork {
  lastIndex = 0
  work = 0
  abstract readonly source: string
  /** The first match at or after `from`: [start, end, kept prefix], or undefined. */
  protected abstract find(text: string, from: number): [number, number, string] | undefined

  exec(text: string): RegExpExecArray | null {
    const from = this.lastIndex
    const found = from > text.length ? undefined : this.find(text, from)
    if (found === undefined) {
      this.lastIndex = 0
      return null
    }
    this.lastIndex = found[1]
    return execArray(text, found[0], found[1], found[2])
  }

  test(text: string): boolean {
    return this.exec(text) !== null
  }
}

/**
 * `(eyJ)[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{8,4096}(?:\.[A-Za-z0-9_-]{0,4096})?`. The first
 * segment cannot end before its run does (`.` is not in the class), so every `eyJ` of one run
 * shares the rest of the match: the run, the dot and the second segment are looked at once, and
 * the leftmost `eyJ` whose first segment has 8 to 4096 characters starts the match.
 */
export class JwtMatcher extends LinearMatcher {
  readonly source =
    `(eyJ)[A-Za-z0-9_-]{8,${MAX}}\\.[A-Za-z0-9_-]{8,${MAX}}(?:\\.[A-Za-z0-9_-]{0,${MAX}})?`

  protected find(text: string, from: number): [number, number, string] | undefined {
    for (;;) {
      const p = text.indexOf('eyJ', from)
      if (p === -1) return undefined
      const a = p + 3
      const r1 = b64urlRunEnd(text, a) // the first segment's run ends here, for every eyJ in it
      this.work += r1 - a + 1
      from = r1 + 1 // on failure: no eyJ of this run can match
      if (r1 - a < 8 || text.charCodeAt(r1) !== DOT) continue
      const b = r1 + 1
      const r2 = b64urlRunEnd(text, b)
      this.work += r2 - b + 1
      if (r2 - b < 8) continue
      // The leftmost eyJ of the run whose first segment is at most MAX characters long.
      let start = p
      if (r1 - a > MAX) {
        start = text.indexOf('eyJ', r1 - MAX - 3)
        this.work += MAX
        if (start === -1 || start > r1 - 11) continue
      }
      const m2 = Math.min(r2 - b, MAX)
      let end = b + m2
      if (m2 === r2 - b && text.charCodeAt(r2) === DOT) {
        const c = r2 + 1
        const r3 = b64urlRunEnd(text, c)
        this.work += r3 - c + 1
        end = c + Math.min(r3 - c, MAX)
      }
      return [start, end, 'eyJ']
    }
  }
}

const BEGIN = '-----BEGIN'
const KEY_TAIL = 'PRIVATE KEY-----'
const MAX_KEY_BODY = 16_384
/** The END line; its greedy `[A-Z ]{0,40}` resolves as in the reference regex. */
const END_LINE = /-----END[A-Z ]{0,40}PRIVATE KEY-----/g

/** `[A-Z ]` */
function upperOrSpace(c: number): boolean {
  return (c >= 65 && c <= 90) || c === 32
}

/**
 * `(-----BEGIN[A-Z ]{0,40}PRIVATE KEY-----)[\s\S]{1,16384}?-----END[A-Z ]{0,40}PRIVATE KEY-----`.
 * The lazy body ends at the first END line after the header: it is searched once, and that
 * answer serves every later header before it (headers come in order, so the searches never
 * overlap).
 */
export class PrivateKeyMatcher extends LinearMatcher {
  readonly source =
    `(${BEGIN}[A-Z ]{0,40}${KEY_TAIL})[\\s\\S]{1,${MAX_KEY_BODY}}?-----END[A-Z ]{0,40}${KEY_TAIL}`

  protected find(text: string, from: number): [number, number, string] | undefined {
    /** The first END line at or after `searchedFrom` (start, end), or -1 for none. */
    let searchedFrom = -1
    let endStart = -1
    let endEnd = -1
    for (;;) {
      const p = text.indexOf(BEGIN, from)
      if (p === -1) return undefined
      from = p + 1
      const h = this.headerEnd(text, p)
      if (h === -1) continue
      if (searchedFrom === -1 || (endStart !== -1 && endStart < h + 1)) {
        END_LINE.lastIndex = h + 1
        const m = END_LINE.exec(text)
        this.work += (m === null ? text.length : m.index) - h
        searchedFrom = h + 1
        endStart = m === null ? -1 : m.index
        endEnd = m === null ? -1 : m.index + m[0].length
      }
      if (endStart === -1) return undefined // no END line after this header, nor after later ones
      if (endStart - h <= MAX_KEY_BODY) return [p, endEnd, text.slice(p, h)]
    }
  }

  /** End of the header starting at `p` (`-----BEGIN` there), or -1 when it is not one. */
  private headerEnd(text: string, p: number): number {
    const start = p + BEGIN.length
    let k = 0
    while (k < 40 && upperOrSpace(text.charCodeAt(start + k))) k++
    this.work += k + 1
    // Greedy `[A-Z ]{0,40}`: the longest prefix of the run followed by the tail.
    for (; k >= 0; k--) if (text.startsWith(KEY_TAIL, start + k)) return start + k + KEY_TAIL.length
    return -1
  }
}
