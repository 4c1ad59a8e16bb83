/**
 * @module openai/chat-choices
 * The answer texts of a Chat Completions call, one per choice. With `n > 1` every choice is
 * returned to the caller, so the output guard reads each one; streamed, each chunk carries choices
 * of any index (their deltas interleave), so the deltas are joined per `choice.index`.
 */
import { isRec } from '../shared/spec.js'

/** `choices[i].message.content` of every choice of a response (`['']` when it has none). */
export function choiceTexts(data: unknown): string[] {
  if (!isRec(data) || !Array.isArray(data.choices) || data.choices.length === 0) return ['']
  return data.choices.map((choice: unknown) => {
    const message = isRec(choice) ? choice.message : undefined
    return isRec(message) && typeof message.content === 'string' ? message.content : ''
  })
}

/**
 * The text of every choice of recorded stream chunks, in `index` order: the `delta.content` of the
 * chunks' choices joined per `choice.index` (a choice without one: its position in the chunk).
 * `['']` when no chunk carries a choice.
 */
export function streamedChoiceTexts(events: readonly unknown[]): string[] {
  const texts = new Map<number, string>()
  for (const event of events) {
    if (!isRec(event) || !Array.isArray(event.choices)) continue
    const choices: unknown[] = event.choices
    for (let i = 0; i < choices.length; i++) {
      const choice = choices[i]
      if (!isRec(choice)) continue
      const index = typeof choice.index === 'number' ? choice.index : i
      const delta = choice.delta
      const text = isRec(delta) && typeof delta.content === 'string' ? delta.content : ''
      texts.set(index, (texts.get(index) ?? '') + text)
    }
  }
  if (texts.size === 0) return ['']
  return [...texts.entries()].sort((a, b) => a[0] - b[0]).map(([, text]) => text)
}
