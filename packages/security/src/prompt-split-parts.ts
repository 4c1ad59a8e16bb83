/**
 * @module prompt-split-parts
 * Texts the model reads as one run are read together once more, for the injection rules only, so
 * a phrase cut between them is caught; each text is checked on its own first.
 * - The parts of one message (its text parts, a tool result's parts) reach the model as one turn.
 *   A cut may fall between words with no space on either side (`"previous" + "instructions"`) or
 *   inside a word (`"previ" + "ous"`), so the parts are matched in two readings: spaced (a space at
 *   each cut) and glued (nothing at each cut). Gluing can also make a word of two that were meant
 *   apart (`"Any tips for" + "get your programming skills up?"` reads "forget your programming"):
 *   a cut whose two sides are both whole words that together spell a word of the rules
 *   (`BENIGN_SPLITS`) stays a space in the glued reading too. A cut elsewhere inside a rule word
 *   (`"forg" + "et"`) is still glued. The price: an attacker cutting at exactly `for|get` is read
 *   as two words, as a person would read them. Texts holding invisible characters are read
 *   once more with each as a word break (`foldApart`), as a text on its own is: dropped, they
 *   glue words ("Thanks\u200Bignore all previous" + "instructions" reads "thanksignore ...").
 * - Consecutive checked messages (user turns, tool outputs, in any mix: all of them are text the
 *   client sent) reach the model one after the other (Anthropic merges consecutive user turns),
 *   so a run of them is read together too. Each message is a text of its own: they are joined
 *   with a line break, never glued. An item that says nothing (an empty or image-only message, an
 *   `item_reference`) puts nothing between the texts around it and leaves the run open; a turn
 *   the guard does not check that says something (an assistant answer, a system message) ends it,
 *   and so does a tool call, the model's own turn (a `function_call`, an assistant message
 *   holding `tool_calls` or a `tool_use` block; an item holding a call and its results, as a
 *   `file_search_call`, starts a new run with its results; a message holding a server tool's
 *   results, as an Anthropic assistant turn with a `web_search_tool_result` block, is a run of
 *   its own, its text and calls being the model's). Read across a call, the end of an ordinary
 *   question and the start of the tool's output made phrases ("which rules can I ignore" + "All
 *   existing rules pass"), and an attacker gains nothing from a call between the halves that an
 *   assistant answer between them did not already give.
 * One fold of the joined run serves every reading (linear in its length).
 */
import { findInjections, type InjectionRuleId, rot13 } from './prompt-injection.js'
import {
  holdsServerToolTexts,
  isAiSdkCallPart,
  messageTexts,
  type PromptItem,
} from './prompt-messages.js'
import {
  foldApart,
  foldText,
  holdsInvisible,
  normalizeText,
  smuggledText,
  tagCharacterCount,
  wordReadings,
} from './prompt-normalize.js'

/** Where a rule matched in the joined texts. */
export type SplitSource = 'text' | 'rot13' | 'tag-characters'

/** One rule that matched the texts read together. */
export interface SplitInjection {
  id: InjectionRuleId
  source: SplitSource
}

/** Marks where one part ends and the next begins (a private-use code point). */
const SEAM = '\uE000'
const SEAMS = /\uE000/g
/** Between two messages: a line break, as the model sees separate turns. */
const TURN = '\n'

/**
 * Whole words that, glued, spell a word of the injection rules (found by running every rule word
 * through a dictionary and keeping the splits into two common words). Between two parts they are
 * read as the two words.
 */
const BENIGN_SPLITS: ReadonlySet<string> = new Set([
  // `act as a` + `moral philosopher`: one-letter words count too.
  'a|moral',
  'any|thing',
  'be|fore',
  'by|pass',
  'con|text',
  'every|thing',
  'for|get',
  'for|getting',
  'fore|going',
  'guard|rails',
  'guide|lines',
  'jail|break',
  'jail|broken',
  'mess|age',
  'mess|ages',
  'out|put',
  'over|ride',
  'over|write',
  'role|play',
  'with|out',
])
/** Longest side of a `BENIGN_SPLITS` entry: a longer run of letters is never one of them. */
const MAX_SPLIT_SIDE = 7

const isLetter = (c: string): boolean => c >= 'a' && c <= 'z'

/** The letters next to `at` going by `step` (-1 back, +1 on), up to a non-letter; '' past the cap. */
function letterRun(text: string, at: number, step: -1 | 1): string {
  let i = at + step
  while (i >= 0 && i < text.length && isLetter(text[i] as string)) {
    if (Math.abs(i - at) > MAX_SPLIT_SIDE) return ''
    i += step
  }
  return step < 0 ? text.slice(i + 1, at) : text.slice(at + 1, i)
}

/** The glued reading: each cut removed, except a cut between two whole words (`BENIGN_SPLITS`). */
function glue(text: string): string {
  let out = ''
  let from = 0
  for (let at = text.indexOf(SEAM); at !== -1; at = text.indexOf(SEAM, at + 1)) {
    const apart = BENIGN_SPLITS.has(`${letterRun(text, at, -1)}|${letterRun(text, at, 1)}`)
    out += text.slice(from, at) + (apart ? ' ' : '')
    from = at + 1
  }
  return out + text.slice(from)
}

const spaced = (text: string): string => text.replace(SEAMS, ' ')

/**
 * Injection rules matching `turns` read together: each turn is one message's texts, in order. Call
 * it when there are 2+ texts in all (what one text holds alone is that text's own finding). Decoded
 * encodings are not re-read here: a base64 or hex run cut in two decodes to neither half.
 */
export function findJoinedInjections(turns: readonly (readonly string[])[]): SplitInjection[] {
  const found: SplitInjection[] = []
  const note = (ids: InjectionRuleId[], source: SplitSource): void => {
    for (const id of ids) {
      if (!found.some((f) => f.id === id && f.source === source)) found.push({ id, source })
    }
  }
  // An empty part is no cut: the parts on either side of it meet.
  const texts = turns.map((parts) => parts.filter((p) => p !== '').join(SEAM))
  const folded = foldText(texts.join(TURN))
  const nfkc = texts.map((t) => t.normalize('NFKC'))
  // Tag characters in any of the texts: no prohibition is read (see prompt-injection).
  const tagCount = nfkc.reduce((n, t) => n + tagCharacterCount(t), 0)
  const turned = rot13(folded)
  const readings = folded.includes(SEAM) ? [spaced, glue] : [spaced]
  const phrases = (text: string): void => {
    note(findInjections({ folded: text, ...wordReadings(text), tagCount }), 'text')
  }
  // Invisible characters as word breaks, the other reading a text holding them gets on its own
  // (see `foldApart`): dropped, they glue a word of one part to the next word.
  const apart = nfkc.some(holdsInvisible) ? foldApart(texts.join(TURN)) : undefined
  for (const read of readings) {
    phrases(read(folded))
    if (apart !== undefined) phrases(read(apart))
    note(findInjections({ folded: '', ...wordReadings(read(turned)) }), 'rot13')
  }
  // Tag characters carry no cut of their own: the hidden text runs on across the parts of a
  // message; messages stay apart.
  const smuggled = nfkc
    .map((t) => smuggledText(t))
    .filter((t) => t !== '')
    .join(' ')
  if (smuggled.length > 0) note(findInjections(normalizeText(smuggled)), 'tag-characters')
  return found
}

/** A letter or digit: a text holding none says nothing to the model. */
const SAYS_SOMETHING = /[\p{L}\p{N}]/u

/** Whether an item the guard does not check holds a text that says something. */
function saysSomething(item: PromptItem): boolean {
  return messageTexts([item], undefined).some((t) => SAYS_SOMETHING.test(t))
}

/** Anthropic content blocks in which the model calls a tool. */
const CALL_BLOCKS: ReadonlySet<unknown> = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use'])
/** Responses items in which the model calls a tool, besides the `*_call` items. */
const CALL_ITEMS: ReadonlySet<unknown> = new Set(['program', 'mcp_approval_request'])

/**
 * Whether an item is (or holds) a tool call of the model: a Chat assistant message with
 * `tool_calls` or a legacy `function_call`, an Anthropic one with a `tool_use` block, an AI SDK
 * one with a `tool-call` part, a Responses
 * `*_call` item (`function_call`, `shell_call`, `file_search_call`, …), `program` or
 * `mcp_approval_request`.
 */
function isModelCall(item: PromptItem): boolean {
  if (typeof item.role === 'string') {
    if (item.role !== 'assistant') return false
    const {
      tool_calls: calls,
      function_call: legacy,
      content,
      parts,
    } = item as Record<string, unknown>
    const holdsCall = (blocks: unknown): boolean =>
      Array.isArray(blocks) &&
      blocks.some(
        (b) =>
          typeof b === 'object' && b !== null && (CALL_BLOCKS.has(b.type) || isAiSdkCallPart(b))
      )
    return (
      (Array.isArray(calls) && calls.length > 0) ||
      (typeof legacy === 'object' && legacy !== null) ||
      holdsCall(content) ||
      holdsCall(parts)
    )
  }
  const type = item.type
  return typeof type === 'string' && (type.endsWith('_call') || CALL_ITEMS.has(type))
}

/**
 * Injection rules matching the checked texts of `items` read together: the parts of each message,
 * and runs of consecutive checked items (see the module comment for what ends a run). `texts` are
 * the checked texts with their item's index, in order (as `mapMessageTexts` hands them out).
 */
export function findRunInjections(
  items: readonly PromptItem[],
  texts: readonly (readonly [item: number, text: string])[]
): SplitInjection[] {
  const found: SplitInjection[] = []
  let run: string[][] = []
  let count = 0
  const flush = (): void => {
    if (count >= 2) {
      for (const f of findJoinedInjections(run)) {
        if (!found.some((g) => g.id === f.id && g.source === f.source)) found.push(f)
      }
    }
    run = []
    count = 0
  }
  let next = 0
  items.forEach((item, i) => {
    const checked = texts[next]?.[0] === i
    const message = typeof item.role === 'string'
    // A server tool's result in a message is the model's turn (its call, even when left out, ran
    // there), as a call item holding its results is.
    const results = message && holdsServerToolTexts(item)
    const call = results || isModelCall(item)
    // A message's calls come after its text; a call item's results (a file search's, a web
    // search's in an assistant turn) after it.
    if ((call && (!message || results)) || (!checked && (call || saysSomething(item)))) flush()
    if (!checked) return
    const turn: string[] = []
    for (; texts[next]?.[0] === i; next++) turn.push((texts[next] as readonly [number, string])[1])
    run.push(turn)
    count += turn.length
    if (call && message) flush()
  })
  flush()
  return found
}
