/**
 * Sentry's scrubber drops GenAI content attributes by what their name says they hold, and keeps
 * the metadata: @sentry/conventions' counts `gen_ai.usage.prompt_tokens`,
 * `gen_ai.usage.completion_tokens` and `gen_ai.context.window_size` hold numbers, not content,
 * though their names contain `prompt`, `completion` and `text` (in `context`).
 */
import { describe, expect, it } from 'vitest'
import { scrubAttributes } from '../src/sentry/scrub.js'

const policy = {
  redact: (v: unknown) => v,
  allowRequestBodies: false,
  allowGenAiContent: false,
  sourceContext: 'scrub' as const,
}

describe('scrubAttributes keeps GenAI metadata (allowGenAiContent false)', () => {
  it.each([
    ['gen_ai.usage.prompt_tokens', 12],
    ['gen_ai.usage.completion_tokens', 34],
    ['gen_ai.context.window_size', 200_000],
  ])('keeps the count %s', (key, value) => {
    const out = scrubAttributes(
      { 'gen_ai.request.model': 'gpt-4o', [key]: value, 'gen_ai.prompt': 'CONTENT' },
      policy
    ) as Record<string, unknown>
    expect(out['gen_ai.prompt']).toBeUndefined()
    expect(out[key]).toBe(value)
  })
})
