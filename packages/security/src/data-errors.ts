/**
 * @module data-errors
 * Errors of the request-data half of `@aikit/security` (body limits, validation, prompt guard).
 * Each is an `AikitError`, so every adapter answers with the kit's JSON error shape; messages and
 * details never echo the request's values.
 */
import { AikitError } from '@aikit/core'

/** One failed check of `validate()`: where, which rule, a schema-side message. No input values. */
export interface ValidationIssue {
  /** Which part of the request failed. */
  in: 'body' | 'query' | 'params'
  /** Path inside that part, e.g. `['messages', 0, 'content']`. */
  path: (string | number)[]
  /** The validator's issue code, e.g. `invalid_type`, `too_big`, `unrecognized_keys`. */
  code: string
  /** A message describing the rule (never the value that broke it). */
  message: string
}

/** 400 `INVALID_REQUEST`: `validate()` rejected the request. `details.issues` lists what failed. */
export class RequestValidationError extends AikitError {
  /** What failed, at most `maxIssues` entries. */
  readonly issues: ValidationIssue[]
  constructor(issues: ValidationIssue[]) {
    super('INVALID_REQUEST', 400, 'Request validation failed', { details: { issues } })
    this.issues = issues
  }
}

/** 400 `PROMPT_INJECTION`: `promptGuard()` blocked an LLM input or output. */
export class PromptInjectionError extends AikitError {
  /** Id of the first blocking rule, e.g. `injection.override`. */
  readonly ruleId: string
  /** Ids of every blocking rule that matched. */
  readonly ruleIds: string[]
  constructor(ruleIds: string[]) {
    const first = ruleIds[0] ?? 'unknown'
    super('PROMPT_INJECTION', 400, 'The prompt was blocked by a safety rule', {
      details: { ruleId: first, ruleIds },
    })
    this.ruleId = first
    this.ruleIds = ruleIds
  }
}
