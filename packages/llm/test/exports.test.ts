import { describe, expect, it } from 'vitest'

// Pins the public surface: adding or removing an export is a deliberate, reviewed change.
describe('public exports', () => {
  it('@aikit/llm/anthropic', async () => {
    expect(Object.keys(await import('@aikit/llm/anthropic')).sort()).toEqual([
      'OutputBlockedError',
      'PromptBlockedError',
      'SubjectRequiredError',
      'TokenRateLimitedError',
      'UnmeteredMethodError',
      'aikit',
      'wrapAnthropic',
    ])
  })
  it('@aikit/llm/openai', async () => {
    expect(Object.keys(await import('@aikit/llm/openai')).sort()).toEqual([
      'OutputBlockedError',
      'PromptBlockedError',
      'SubjectRequiredError',
      'TokenRateLimitedError',
      'UnmeteredMethodError',
      'aikit',
      'wrapOpenAI',
    ])
  })
  it('@aikit/llm/estimate', async () => {
    expect(Object.keys(await import('@aikit/llm/estimate')).sort()).toEqual([
      'estimateRequest',
      'withHeldLimit',
    ])
  })
})
