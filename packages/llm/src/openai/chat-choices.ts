/**
 * @module openai/chat-choices
 * The answer texts of a Chat Completions call, one per choice. With `n > 1` every choice is
 * returned to the caller, so the output guard reads each one; streamed, each chunk carries choices
 * of any index (their deltas interleave), so the deltas are joined per `choice.index`. A choice's
 * tool calls are part of its text (see `call-texts.ts`).
 */
import { argumentsText, withCallTexts } from '../shared/call-texts.js'
import { isRec } from '../shared/spec.js'

/** The arguments of a message's tool calls (`function` and `custom` ones) and legacy `function_call`. */
function messageCalls(message: Record<string, unknown>): string[] {
  const calls: string[] = []
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (!isRec(call)) continue
      if (isRec(call.function)) calls.push(argumentsText(call.function.arguments))
      if (isRec(call.custom)) calls.push(argumentsText(call.custom.input))
    }
  }
  if (isRec(message.function_call)) calls.push(argumentsText(message.function_call.arguments))
  return calls
}

/**
 * `choices[i].message.content` of every choice of a response, with its tool calls' arguments
 * (`['']` when it has none).
 */
export function choiceTexts(data: unknown): string[] {
  if (!isRec(data) || !Array.isArray(data.choices) || data.choices.length === 0) return ['']
  return data.choices.map((choice: unknown) => {
    const message = isRec(choice) ? choice.message : undefined
    if (!isRec(message)) return ''
    const text = typeof message.content === 'string' ? message.content : ''
    return withCallTexts(text, messageCalls(message))
  })
}

/** One streamed choice: its text, and the arguments of each of its tool calls by their `index`. */
interface StreamedChoice {
  text: string
  calls: Map<number, string>
}

/** The legacy `delta.function_call`'s slot in `StreamedChoice.calls` (tool calls count from 0). */
const FUNCTION_CALL = -1

/**
 * The text of every choice of recorded stream chunks, in `index` order: the `delta.content` of the
 * chunks' choices joined per `choice.index` (a choice without one: its position in the chunk),
 * with the `delta.tool_calls[].function.arguments` joined per tool call `index` (and a legacy
 * `delta.function_call.arguments`). `['']` when no chunk carries a choice.
 */
export function streamedChoiceTexts(events: readonly unknown[]): string[] {
  const choicesByIndex = new Map<number, StreamedChoice>()
  for (const event of events) {
    if (!isRec(event) || !Array.isArray(event.choices)) continue
    const choices: unknown[] = event.choices
    for (let i = 0; i < choices.length; i++) {
      const choice = choices[i]
      if (!isRec(choice)) continue
      const index = typeof choice.index === 'number' ? choice.index : i
      let streamed = choicesByIndex.get(index)
      if (streamed === undefined) {
        streamed = { text: '', calls: new Map() }
        choicesByIndex.set(index, streamed)
      }
      const delta = choice.delta
      if (!isRec(delta)) continue
      if (typeof delta.content === 'string') streamed.text += delta.content
      if (Array.isArray(delta.tool_calls)) {
        const calls: unknown[] = delta.tool_calls
        for (let c = 0; c < calls.length; c++) {
          const call = calls[c]
          if (!isRec(call)) continue
          addArguments(streamed, typeof call.index === 'number' ? call.index : c, call.function)
        }
      }
      addArguments(streamed, FUNCTION_CALL, delta.function_call)
    }
  }
  if (choicesByIndex.size === 0) return ['']
  return [...choicesByIndex.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, { text, calls }]) =>
      withCallTexts(
        text,
        [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, args]) => argumentsText(args))
      )
    )
}

/** Appends a streamed `{ arguments }` delta to the tool call `index` of a choice. */
function addArguments(choice: StreamedChoice, index: number, fn: unknown): void {
  if (!isRec(fn) || typeof fn.arguments !== 'string') return
  choice.calls.set(index, (choice.calls.get(index) ?? '') + fn.arguments)
}
