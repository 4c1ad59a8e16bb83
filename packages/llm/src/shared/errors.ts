/**
 * @module errors
 * Errors the wrappers raise themselves. Provider errors are never wrapped: they reach the caller as
 * the SDK's own classes (`Anthropic.RateLimitError`, `OpenAI.InternalServerError`, …).
 */
import { AikitError } from '@aikit/core'

/** 401: `requireSubject` (or a budget) needs a subject and neither the call, the request context nor the wrapper gave one. */
export class SubjectRequiredError extends AikitError {
  constructor() {
    super('SUBJECT_REQUIRED', 401, 'This LLM call needs a subject (user or tenant)')
  }
}

/** 400: the prompt guard blocked the input. No provider call was made. */
export class PromptBlockedError extends AikitError {
  /** Ids of the blocking rules. */
  readonly ruleIds: readonly string[]
  constructor(ruleIds: readonly string[]) {
    super('PROMPT_INJECTION', 400, 'The prompt was blocked by a safety rule', {
      details: { ruleIds },
    })
    this.ruleIds = ruleIds
  }
}

/** 502: the prompt guard blocked the model's answer (not returned, not cached; the call is still charged). */
export class OutputBlockedError extends AikitError {
  /** Ids of the blocking rules. */
  readonly ruleIds: readonly string[]
  constructor(ruleIds: readonly string[]) {
    super('OUTPUT_BLOCKED', 502, 'The model answer was blocked by a safety rule', {
      details: { ruleIds },
    })
    this.ruleIds = ruleIds
  }
}
