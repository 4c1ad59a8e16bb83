/**
 * @module o200k-count
 * Token counts with gpt-tokenizer's `o200k_base`, in time linear in the text. The tokenizer splits
 * a text into pieces (words, runs of punctuation or blanks) and byte-pair merges each piece, in
 * time quadratic in the piece's length: ordinary text is all short pieces, but one run of letters,
 * punctuation, blanks or combining marks with no break is a single piece (40 000 lower-case letters
 * took 1.4 s, 1 MB would take minutes; tiktoken and its ports share this). A piece longer than
 * `MAX_PIECE` is counted in slices of that length instead: every text without one is counted
 * exactly as before, and such a piece is within a token or so per slice of its exact count.
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'

// Special-token text such as "<|endoftext|>" in user input is counted as plain text, never thrown on.
const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() }

/** Longest piece merged whole (the longest o200k tokens are far shorter). */
export const MAX_PIECE = 256

/**
 * The tokenizer's own split (gpt-tokenizer's `O200K_TOKEN_SPLIT_REGEX`; a test checks the copy):
 * the pieces found here are the pieces it merges.
 */
export const O200K_SPLIT =
  /[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu

/**
 * A piece longer than `MAX_PIECE` holds a run of at least this many characters of one kind
 * (letters and marks; punctuation; `\r`, `\n` and `/`; blanks): a piece is such a run, or two of
 * them, plus at most 4 characters (a leading one, a `'ll`).
 */
const LONG_RUN = (MAX_PIECE - 4) >> 1

const LETTER = 1
const PUNCT = 2
const BREAK = 4
const BLANK = 8

/** The kinds of run each ASCII character belongs to (digits: none; every piece stops at one). */
const ASCII_KINDS = new Uint8Array(128).map((_, c) => {
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return LETTER
  if (c >= 48 && c <= 57) return 0
  if (c === 10 || c === 13) return BREAK | BLANK
  if (c === 32 || (c >= 9 && c <= 12)) return BLANK
  return c === 47 ? PUNCT | BREAK : PUNCT
})

/** Non-ASCII blanks (`\s`): any other non-ASCII character may be a letter, a mark or punctuation. */
function isWideBlank(c: number): boolean {
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  )
}

/** The kinds of run character code `c` may belong to. */
function kindsOf(c: number): number {
  return c < 128 ? (ASCII_KINDS[c] as number) : isWideBlank(c) ? BLANK : LETTER | PUNCT
}

/**
 * False when no piece of `text` can be longer than `MAX_PIECE`: no run of `LONG_RUN` characters
 * of one kind (a non-ASCII character counting as whichever kinds it may be). Any `LONG_RUN`
 * consecutive positions hold exactly one position `j` with `j % LONG_RUN === LONG_RUN - 1`, so
 * only the runs through those positions are measured: ordinary text is checked in a small
 * fraction of one pass (every character read cost a quarter of the tokenizer's own time), and no
 * text in more than about two.
 */
function mayHoldLongPiece(text: string): boolean {
  const n = text.length
  for (let j = LONG_RUN - 1; j < n; j += LONG_RUN) {
    const kinds = kindsOf(text.charCodeAt(j))
    for (let kind = LETTER; kind <= BLANK; kind <<= 1) {
      if ((kinds & kind) === 0) continue
      let from = j
      let to = j
      while (
        from > 0 &&
        j - from + 1 < LONG_RUN &&
        (kindsOf(text.charCodeAt(from - 1)) & kind) !== 0
      ) {
        from--
      }
      while (
        to + 1 < n &&
        to - from + 1 < LONG_RUN &&
        (kindsOf(text.charCodeAt(to + 1)) & kind) !== 0
      ) {
        to++
      }
      if (to - from + 1 >= LONG_RUN) return true
    }
  }
  return false
}

/** A piece counted in slices of `MAX_PIECE` (never splitting a surrogate pair). */
function longPieceTokens(piece: string): number {
  let total = 0
  for (let at = 0; at < piece.length; ) {
    let end = Math.min(piece.length, at + MAX_PIECE)
    const last = piece.charCodeAt(end - 1)
    if (end < piece.length && last >= 0xd800 && last <= 0xdbff) end--
    total += countTokens(piece.slice(at, end), ENCODE_OPTIONS)
    at = end
  }
  return total
}

/** A piece of blanks only (the tokenizer's last three alternatives). */
const BLANKS = /^\s+$/

/**
 * Tokens of `text` in `o200k_base`. Between long pieces the text is counted in one call per
 * stretch, cut where the tokenizer's own pieces meet so that it splits into the same pieces
 * again. Not right before blanks: the split of a run of blanks depends on what follows it
 * (`\s+(?!\S)` leaves the last blank to a word or punctuation after it, to nothing at the end),
 * so the blank pieces before a long piece are counted one by one.
 */
export function countO200k(text: string): number {
  if (text.length === 0) return 0
  if (text.length <= MAX_PIECE || !mayHoldLongPiece(text)) return countTokens(text, ENCODE_OPTIONS)
  let total = 0
  let from = 0
  let blanksFrom = -1 // where the blank pieces just before this one start
  const blankPieces: string[] = []
  for (const m of text.matchAll(O200K_SPLIT)) {
    const piece = m[0]
    if (piece.length <= MAX_PIECE) {
      if (BLANKS.test(piece)) {
        if (blanksFrom === -1) blanksFrom = m.index
        blankPieces.push(piece)
      } else {
        blanksFrom = -1
        blankPieces.length = 0
      }
      continue
    }
    const end = blanksFrom === -1 ? m.index : blanksFrom
    if (end > from) total += countTokens(text.slice(from, end), ENCODE_OPTIONS)
    for (const blank of blankPieces) total += countTokens(blank, ENCODE_OPTIONS)
    total += longPieceTokens(piece)
    from = m.index + piece.length
    blanksFrom = -1
    blankPieces.length = 0
  }
  if (from === 0) return countTokens(text, ENCODE_OPTIONS)
  return from < text.length ? total + countTokens(text.slice(from), ENCODE_OPTIONS) : total
}
