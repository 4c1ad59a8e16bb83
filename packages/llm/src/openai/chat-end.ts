/**
 * @module openai/chat-end
 * How a Chat Completions stream ended, by its choices' `finish_reason`s. The same rule as
 * `@aikit/cache`'s `isCompleteOpenAiChat`: an in-stream error chunk makes the SDK throw, so a stream
 * that ran to its end is whole when every choice index seen (`n > 1` choices stream interleaved,
 * each finishing in its own chunk) finished with stop / length / tool_calls / function_call.
 */
import { chatFinishReplayable, isRefusal } from '../shared/replayable.js'
import { isRec, STREAM_CUT, STREAM_UNSTORED, STREAM_WHOLE, type StreamEnd } from '../shared/spec.js'

/**
 * The end of a Chat stream that ran to its end: unstored as soon as a choice finished with a
 * reason not to replay (`content_filter`); whole when every choice index seen finished; else cut
 * (no finish at all, or a choice left unfinished when the body ended mid-choice).
 */
export function chatStreamEnd(events: readonly unknown[]): StreamEnd {
  const seen = new Set<number>()
  const finished = new Set<number>()
  for (const e of events) {
    if (!isRec(e) || !Array.isArray(e.choices)) continue
    const choices = e.choices as unknown[]
    for (let i = 0; i < choices.length; i++) {
      const choice = choices[i]
      if (!isRec(choice)) continue
      const index = typeof choice.index === 'number' ? choice.index : i
      seen.add(index)
      // A refusal streams as `delta.refusal` and still finishes with 'stop'.
      if (isRec(choice.delta) && isRefusal(choice.delta.refusal)) return STREAM_UNSTORED
      const reason = choice.finish_reason
      if (typeof reason !== 'string' || reason.length === 0) continue
      if (!chatFinishReplayable(reason)) return STREAM_UNSTORED
      finished.add(index)
    }
  }
  return finished.size > 0 && finished.size === seen.size ? STREAM_WHOLE : STREAM_CUT
}

/**
 * Whether every choice seen has finished (whatever its reason): only the usage chunk (asked for by
 * the wrapper) and the end of the body can follow.
 */
export function chatAnswered(events: readonly unknown[]): boolean {
  const seen = new Set<number>()
  const finished = new Set<number>()
  for (const e of events) {
    if (!isRec(e) || !Array.isArray(e.choices)) continue
    const choices = e.choices as unknown[]
    for (let i = 0; i < choices.length; i++) {
      const choice = choices[i]
      if (!isRec(choice)) continue
      const index = typeof choice.index === 'number' ? choice.index : i
      seen.add(index)
      if (typeof choice.finish_reason === 'string' && choice.finish_reason.length > 0) {
        finished.add(index)
      }
    }
  }
  return finished.size > 0 && finished.size === seen.size
}
