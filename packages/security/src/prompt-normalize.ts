/**
 * @module prompt-normalize
 * Turns LLM input into the forms the injection heuristics match against, undoing the usual
 * evasions first (each step is tested on its own):
 * 1. NFKC, which maps fullwidth and compatibility forms (`Ｉｇｎｏｒｅ` → `Ignore`);
 * 2. Unicode tag characters (U+E0000–E007F, "ASCII smuggling") are decoded into hidden text that is
 *    scanned too, then removed;
 * 3. invisible format characters (zero-width, soft hyphen, bidi controls, word joiner, BOM, Hangul
 *    fillers) are removed;
 * 4. Cyrillic/Greek look-alike letters are folded to Latin (`іgnore` → `ignore`), accents dropped;
 * 5. lower-cased, punctuation turned into spaces, whitespace collapsed, spaced-out letters
 *    (`i g n o r e`) joined, and a leetspeak variant (`1gn0r3` → `ignore`);
 * 6. base64 (also wrapped in lines), hex, %-encoded and `\uXXXX` / `\xNN`-escaped runs that decode
 *    to readable text are decoded and scanned once more.
 * What cannot be caught this way (paraphrase, other languages beyond a few, meaning-level attacks)
 * needs a classifier: see the `detector` hook of `promptGuard`.
 */

/** The forms of one text that rules match against. */
export interface NormalizedText {
  /** NFKC, tag and invisible characters removed, look-alikes folded, lower-cased (punctuation kept). */
  folded: string
  /** `folded` with punctuation as spaces, whitespace collapsed, spaced letters joined. */
  words: string
  /** `words` with leetspeak digits and symbols mapped to letters. */
  leet: string
  /** Texts hidden in the input and decoded: tag-character payloads, base64/hex/%-encoded runs. */
  hidden: { source: HiddenSource; text: string }[]
  /** How many invisible format characters were removed. */
  invisibleCount: number
  /** How many Unicode tag characters were found. */
  tagCount: number
  /** True when one word mixes Latin with Cyrillic or Greek letters (a homoglyph tell). */
  mixedScript: boolean
}

/** Where a hidden text came from. */
export type HiddenSource = 'tag-characters' | 'base64' | 'hex' | 'url-encoding' | 'escapes'

// Cf characters used to hide or split words (the interlinear annotation controls U+FFF9-FFFB,
// the Egyptian hieroglyph and shorthand format controls among them: none renders in running
// text), plus the Hangul fillers that render as blanks. Not all of Cf: the Arabic number signs
// (U+0600-0605) and similar prepended marks render. Built from a string: a literal class would
// trip the "combining character in a class" lint, and each of these is meant to be matched on
// its own.
export const INVISIBLE_CLASS =
  '[\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180E\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2064\\u2066-\\u206F\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF9-\\uFFFB\\u{13430}-\\u{1343F}\\u{1BCA0}-\\u{1BCA3}\\u{1D173}-\\u{1D17A}]'
const INVISIBLE = new RegExp(INVISIBLE_CLASS, 'gu')
const TAGS = /[\u{E0000}-\u{E007F}]/gu
const FLAG_TAG_SEQUENCE = /\u{1F3F4}[\u{E0030}-\u{E007A}]{2,7}\u{E007F}/gu
const INVISIBLE_IN_WORD = new RegExp(
  `(?<=\\p{L})${INVISIBLE.source}|${INVISIBLE.source}(?=\\p{L})`,
  'gu'
)
/** `INVISIBLE_IN_WORD` for one test (no `g`: no `lastIndex` carried from one call to the next). */
const INVISIBLE_TOUCHING_LETTER = new RegExp(INVISIBLE_IN_WORD.source, 'u')

/** Look-alike letters → Latin (the confusable subset of UTS #39 that matters for English words). */
const CONFUSABLES: Record<string, string> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  ɡ: 'g',
  һ: 'h',
  ӏ: 'l',
  ԛ: 'q',
  ԝ: 'w',
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  ѵ: 'v',
  ɑ: 'a',
  ı: 'i',
  ℓ: 'l',
}
/**
 * Capitals drawn like a Latin letter other than their small form's look-alike (Greek Ν is an N,
 * its small ν a v): folded by their own shape, before the text is lower-cased.
 */
const CAPITAL_CONFUSABLES: Record<string, string> = {
  Α: 'a',
  Β: 'b',
  Ε: 'e',
  Ζ: 'z',
  Η: 'h',
  Ι: 'i',
  Κ: 'k',
  Μ: 'm',
  Ν: 'n',
  Ο: 'o',
  Ρ: 'p',
  Τ: 't',
  Υ: 'y',
  Χ: 'x',
  А: 'a',
  В: 'b',
  Е: 'e',
  К: 'k',
  М: 'm',
  Н: 'h',
  О: 'o',
  Р: 'p',
  С: 'c',
  Т: 't',
  У: 'y',
  Х: 'x',
  І: 'i',
  Ј: 'j',
  Ѕ: 's',
}
// Every small look-alike's capital folds too (the capital of a Cyrillic ԁ is drawn as its small
// form is), unless its own shape says otherwise: one pass over the text before lower-casing.
for (const [small, latin] of Object.entries(CONFUSABLES)) {
  const capital = small.toUpperCase()
  if (capital !== small && capital.length === 1 && CAPITAL_CONFUSABLES[capital] === undefined) {
    CAPITAL_CONFUSABLES[capital] = latin
  }
}
const FOLDS: Record<string, string> = { ...CONFUSABLES, ...CAPITAL_CONFUSABLES }
const CONFUSABLE_RE = new RegExp(`[${Object.keys(FOLDS).join('')}]`, 'g')
const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
}
const MIXED_SCRIPT =
  /(?:\p{Script=Latin}[\p{Script=Cyrillic}\p{Script=Greek}]|[\p{Script=Cyrillic}\p{Script=Greek}]\p{Script=Latin})/u
const COMBINING = /\p{M}+/gu

function decodeTags(text: string): string {
  let out = ''
  for (const ch of text.matchAll(TAGS)) {
    const cp = ch[0].codePointAt(0)! - 0xe0000
    if (cp >= 0x20 && cp < 0x7f) out += String.fromCharCode(cp)
  }
  return out
}

/** Share of printable characters; decoded binary (an image, a hash) scores low. */
function readable(text: string): boolean {
  if (text.length < 8) return false
  let good = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if ((c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x0d || c === 0x09 || c >= 0xa0) good++
  }
  return good / text.length >= 0.9 && /[a-z]{3}/i.test(text)
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function bytesToText(bytes: Uint8Array): string | undefined {
  try {
    const text = utf8.decode(bytes)
    return readable(text) ? text : undefined
  } catch {
    return undefined
  }
}

function decodeBase64(segment: string): string | undefined {
  let s = segment.replace(/-/g, '+').replace(/_/g, '/')
  s = s.replace(/=+$/, '')
  if (s.length % 4 === 1) return undefined
  s += '='.repeat((4 - (s.length % 4)) % 4)
  try {
    const bin = atob(s)
    const bytes = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i)
    return bytesToText(bytes)
  } catch {
    return undefined
  }
}

function decodeHex(segment: string): string | undefined {
  const bytes = new Uint8Array(segment.length / 2)
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Number.parseInt(segment.slice(i * 2, i * 2 + 2), 16)
  return bytesToText(bytes)
}

const BASE64_RUN = /[A-Za-z0-9+/_-]{20,}={0,2}/g
const HEX_RUN = /\b(?:[0-9a-fA-F]{2}){10,}\b/g
const URL_ENCODED_RUN = /(?:%[0-9a-fA-F]{2}[^%\s]{0,3}){4,}/g
/** `\u0069\u0067…` and `\x69\x67…` (JSON, JavaScript and C string escapes), 4 or more in a row. */
const ESCAPED_RUN = /(?:\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}){4,}/g
const ESCAPE = /\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})/g

function decodeEscapes(run: string): string | undefined {
  const text = run.replace(ESCAPE, (_, u: string | undefined, x: string | undefined) =>
    String.fromCharCode(Number.parseInt(u ?? x ?? '0', 16))
  )
  return readable(text) ? text : undefined
}

function* matches(text: string, re: RegExp): Generator<string> {
  re.lastIndex = 0
  for (const m of text.matchAll(re)) yield m[0]
}

/**
 * The base64 runs of a text, each on its own and, for runs split only by single line breaks
 * (base64 wrapped at 76 columns by the `base64` tool and MIME, 64 in PEM), joined as well: a
 * phrase cut by the wrap is whole only there. One pass over the runs `BASE64_RUN` finds.
 */
function* base64Runs(text: string): Generator<string> {
  BASE64_RUN.lastIndex = 0
  let wrapped = ''
  let lines = 0
  let end = -1
  for (const m of text.matchAll(BASE64_RUN)) {
    const run = m[0]
    yield run
    const gap = m.index - end
    const joins =
      lines > 0 &&
      !wrapped.endsWith('=') &&
      ((gap === 1 && text[end] === '\n') || (gap === 2 && text.startsWith('\r\n', end)))
    if (joins) {
      wrapped += run
      lines++
    } else {
      if (lines > 1) yield wrapped
      wrapped = run
      lines = 1
    }
    end = m.index + run.length
  }
  if (lines > 1) yield wrapped
}

/**
 * Decodes encoded runs that turn into readable text (one level). Every run is decoded, however
 * many there are and however long (an attack placed 17th, or padded past some size, would
 * otherwise go unread): the work stays linear in the text, already bounded by `maxInputTokens`.
 * The texts decoded from one encoding are returned as one, line by line, so that scanning them
 * costs one pass whatever their number.
 */
export function decodeHidden(text: string): { source: HiddenSource; text: string }[] {
  const found: { source: HiddenSource; text: string }[] = []
  const take = (
    source: HiddenSource,
    runs: Iterable<string>,
    decode: (s: string) => string | undefined
  ) => {
    const texts: string[] = []
    for (const run of runs) {
      const decoded = decode(run)
      if (decoded !== undefined) texts.push(decoded)
    }
    if (texts.length > 0) found.push({ source, text: texts.join('\n') })
  }
  take('base64', base64Runs(text), decodeBase64)
  take('hex', matches(text, HEX_RUN), (s) => (s.length % 2 === 0 ? decodeHex(s) : undefined))
  take('url-encoding', matches(text, URL_ENCODED_RUN), (s) => {
    try {
      const d = decodeURIComponent(s)
      return readable(d) ? d : undefined
    } catch {
      return undefined
    }
  })
  if (text.includes('\\')) take('escapes', matches(text, ESCAPED_RUN), decodeEscapes)
  return found
}

/**
 * The ASCII text hidden in Unicode tag characters of an NFKC text ("ASCII smuggling"), flag emoji
 * sequences left out; '' when there is none.
 */
export function smuggledText(nfkc: string): string {
  return decodeTags(nfkc.replace(FLAG_TAG_SEQUENCE, ''))
}

/**
 * Lower-case, NFKC, no invisible or tag characters, accents dropped, look-alikes folded. Accents go
 * first (an accented Greek ί or Cyrillic ѐ is its plain letter's look-alike), and capitals are
 * folded by their own shape before lower-casing (Greek Μ and Ν are an M and an N).
 */
export function foldText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(TAGS, '')
    .replace(INVISIBLE, '')
    .normalize('NFD')
    .replace(COMBINING, '')
    .replace(CONFUSABLE_RE, (c) => FOLDS[c] ?? c)
    .toLowerCase()
}

/**
 * `foldText` with each invisible character read as a space instead of dropped. Dropping them
 * rebuilds a word split inside ("ig\u200Bnore"), but joins two words split by one
 * ("Please\u200Bignore" reads "pleaseignore", where no rule sees "ignore"): a text holding
 * invisible characters is read both ways.
 */
export function foldApart(text: string): string {
  return foldText(text.normalize('NFKC').replace(INVISIBLE, ' '))
}

const HIDING_RUN = new RegExp(
  `(?<=\\p{L})${INVISIBLE.source}+|${INVISIBLE.source}+(?=\\p{L})`,
  'gu'
)
const TAGS_OUTSIDE_FLAGS = /(\u{1F3F4}[\u{E0030}-\u{E007A}]{2,7}\u{E007F})|[\u{E0000}-\u{E007F}]/gu

/**
 * `text` without the invisible characters that hide or split words (those touching a letter, the
 * ones `invisibleCount` counts): a zero-width joiner inside an emoji sequence (👨‍👩‍👧) and a variation
 * selector after an emoji stay.
 */
export function stripHidingInvisible(text: string): string {
  return text.replace(HIDING_RUN, '')
}

/** `text` without Unicode tag characters, but for flag emoji sequences (🏴 + tags), kept whole. */
export function stripTagCharacters(text: string): string {
  return text.replace(TAGS_OUTSIDE_FLAGS, (_, flag: string | undefined) => flag ?? '')
}

/**
 * Whether an NFKC text holds an invisible character touching a letter (what `normalizeText`
 * counts in `invisibleCount`, and what makes a text worth reading with `foldApart` too).
 */
export function holdsInvisible(nfkc: string): boolean {
  return INVISIBLE_TOUCHING_LETTER.test(nfkc)
}

/**
 * Single letters split by one `.`, `-`, `_`, `*`, `·` or `•` (`i.g.n.o.r.e`, `r-e-v-e-a-l`): joined
 * before punctuation turns into spaces, where one space between letters and one between words
 * would look alike and glue a whole sentence into one word.
 */
const DOTTED_LETTERS = /(?<![\p{L}\p{N}])\p{L}(?:[._*·•-]\p{L}){2,}(?![\p{L}\p{N}])/gu
const DOTTED_SEPARATOR = /[._*·•-]/g
/** Leetspeak symbols not followed by a letter or digit: punctuation (`ignore! all!`), not letters. */
const TRAILING_LEET_SYMBOLS = /[@$!|]+(?![\p{L}\p{N}])/gu

/** Whitespace collapsed, spaced-out single letters joined (the text has no punctuation left). */
function joinWords(spaced: string): string {
  // `i g n o r e  p r e v i o u s` → `ignore previous`: join runs of 3+ single letters split by
  // one space (a wider gap separates the words), then collapse the whitespace.
  return spaced
    .replace(/[^\S ]+/g, ' ')
    .replace(/(?<![\p{L}\p{N}])(?:\p{L} ){2,}\p{L}(?![\p{L}\p{N}])/gu, (run) =>
      run.replace(/ /g, '')
    )
    .replace(/ +/g, ' ')
    .trim()
}

function undot(folded: string): string {
  return folded.replace(DOTTED_LETTERS, (run) => run.replace(DOTTED_SEPARATOR, ''))
}

/** Punctuation (the leetspeak symbols `@ $ ! |` too) to spaces, whitespace collapsed, spaced-out single letters joined. */
export function toWords(folded: string): string {
  return joinWords(undot(folded).replace(/[^\p{L}\p{N}\s]+/gu, ' '))
}

/**
 * The leetspeak reading (`1gn0r3` → `ignore`, `$ecret` → `secret`): `toWords` with digits and the
 * symbols `@ $ ! |` read as letters where they stand for one (before a letter or digit), as
 * punctuation elsewhere (`IGNORE! ALL!`, `ignore | previous`, which `toWords` reads).
 */
export function leetWords(folded: string): string {
  const kept = undot(folded)
    .replace(TRAILING_LEET_SYMBOLS, ' ')
    .replace(/[^\p{L}\p{N}@$!|\s]+/gu, ' ')
  return joinWords(kept).replace(/[013457@$!|]/g, (c) => LEET[c] ?? c)
}

/** The two word readings of a folded text the rules match: `toWords` and `leetWords`. */
export function wordReadings(folded: string): { words: string; leet: string } {
  return { words: toWords(folded), leet: leetWords(folded) }
}

/**
 * How many Unicode tag characters an NFKC text holds, flag emoji sequences left out (the one
 * legitimate use of them): each may carry a character a model reads and a person does not see.
 */
export function tagCharacterCount(nfkc: string): number {
  return nfkc.replace(FLAG_TAG_SEQUENCE, '').match(TAGS)?.length ?? 0
}

/** All the forms the rules need. */
export function normalizeText(text: string): NormalizedText {
  const nfkc = text.normalize('NFKC')
  const tagCount = tagCharacterCount(nfkc)
  const hidden: { source: HiddenSource; text: string }[] = []
  if (tagCount > 0) {
    const smuggled = smuggledText(nfkc)
    if (smuggled.length > 0) hidden.push({ source: 'tag-characters', text: smuggled })
  }
  // Only invisible characters touching a letter count: a zero-width joiner inside an emoji
  // sequence (👨‍👩‍👧) or a variation selector after one is ordinary text.
  const invisibleCount = nfkc.match(INVISIBLE_IN_WORD)?.length ?? 0
  const visible = nfkc.replace(TAGS, '').replace(INVISIBLE, '')
  const mixedScript = MIXED_SCRIPT.test(visible)
  hidden.push(...decodeHidden(visible))
  const folded = foldText(visible)
  return {
    folded,
    ...wordReadings(folded),
    hidden,
    invisibleCount,
    tagCount,
    mixedScript,
  }
}
