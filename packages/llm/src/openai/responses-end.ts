/**
 * @module openai/responses-end
 * How a Responses stream ended, by its terminal event. The same rule as `@aikit/cache`'s LLM
 * cache: `response.completed`, and `response.incomplete` cut at `max_output_tokens` (the `length`
 * of Chat), are whole answers; an answer cut by a content filter is not one to replay; a failure
 * the provider reports in the stream (`response.failed`, or an `error` event, which openai 6 hands
 * to the reader instead of throwing) is an error.
 */
import { APIError } from 'openai/core/error'
import { responsesRefused } from '../shared/replayable.js'
import { isRec, STREAM_CUT, STREAM_UNSTORED, STREAM_WHOLE, type StreamEnd } from '../shared/spec.js'

/** The end of a Responses stream that ran to its end, from its last event. */
export function responsesStreamEnd(events: readonly unknown[]): StreamEnd {
  const last = events[events.length - 1]
  if (!isRec(last)) return STREAM_CUT
  switch (last.type) {
    case 'response.completed':
      // A refusal completes too: its text is a `refusal` part of the output, not an answer.
      return isRec(last.response) && responsesRefused(last.response.output)
        ? STREAM_UNSTORED
        : STREAM_WHOLE
    case 'response.incomplete': {
      const response = isRec(last.response) ? last.response : undefined
      if (responsesRefused(response?.output)) return STREAM_UNSTORED
      const details = isRec(response?.incomplete_details) ? response.incomplete_details : undefined
      return details?.reason === 'max_output_tokens' ? STREAM_WHOLE : STREAM_UNSTORED
    }
    case 'response.failed': {
      const response = isRec(last.response) ? last.response : undefined
      return { kind: 'error', error: streamError(response?.error ?? last) }
    }
    case 'error':
      return { kind: 'error', error: streamError(last) }
    default:
      return STREAM_CUT
  }
}

/**
 * The events that close one part of an answer (its text, a refusal, a function call's arguments,
 * the content part or output item holding them). A reasoning item's end is not one: the answer
 * comes after it.
 */
const PART_DONE = new Set([
  'response.output_text.done',
  'response.refusal.done',
  'response.function_call_arguments.done',
  'response.content_part.done',
  'response.output_item.done',
])

/**
 * Whether the last event closes a part of the answer: what follows is most likely only the events
 * that close the rest of it and `response.completed` (which carries the usage). Another output
 * item may still come; reading on for it is bounded (`SharedStream`).
 */
export function responsesAnswered(events: readonly unknown[]): boolean {
  const last = events[events.length - 1]
  if (!isRec(last) || typeof last.type !== 'string' || !PART_DONE.has(last.type)) return false
  return !(isRec(last.item) && last.item.type === 'reasoning')
}

/**
 * The SDK's `APIError` for a failure reported in the stream, as openai 7 throws it for an `error`
 * event (no status, the event's `code`, `param`, `type` and `message`).
 */
function streamError(body: unknown): Error {
  return new APIError(undefined, isRec(body) ? body : undefined, 'stream failed', undefined)
}
