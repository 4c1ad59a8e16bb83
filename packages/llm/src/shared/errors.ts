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

/**
 * 429 `RATE_LIMITED`: the call's estimated tokens do not fit the `tokenLimit` limiter. No provider
 * call was made and the budget reservation was released. Same code, status and `retryAfterMs` as
 * `@aikit/ratelimit`'s `RateLimitedError` (this package does not depend on `@aikit/ratelimit`: the
 * limiter is structural), so HTTP error bodies and `error.code` checks treat both alike.
 */
export class TokenRateLimitedError extends AikitError {
  /** Wait in ms before the same call could pass, or `-1` when it never can (it exceeds a limit). */
  readonly retryAfterMs: number
  /** The tokens the call asked to reserve. */
  readonly tokens: number
  constructor(retryAfterMs: number, tokens: number) {
    super('RATE_LIMITED', 429, 'Too many tokens requested', {
      details: { retryAfterMs, tokens },
    })
    this.retryAfterMs = retryAfterMs
    this.tokens = tokens
  }
}

/**
 * 501 `UNMETERED_METHOD`: a method the provider bills but the wrapper cannot meter
 * (`embeddings.create`, `responses.compact`, batches…), called on a client wrapped with a budget.
 * Refused before any request: a budget never fails open. Call it on the unwrapped client when it
 * is meant to bypass the budget.
 */
export class UnmeteredMethodError extends AikitError {
  /** The method refused, e.g. `embeddings.create`. */
  readonly method: string
  constructor(method: string) {
    super(
      'UNMETERED_METHOD',
      501,
      `${method}() is billed by the provider but not metered by the budget: call it on the unwrapped client`,
      { details: { method } }
    )
    this.method = method
  }
}
