/**
 * @module env/env-error
 * The one error `defineEnv` throws for a bad environment.
 */
import { AikitError } from '../errors.js'

/** What is wrong with one variable. */
export interface EnvIssue {
  /** The variable's name. */
  name: string
  /** `missing`, `invalid`, or `public_secret` (a secret under a browser-visible name). */
  problem: 'missing' | 'invalid' | 'public_secret'
  /** Why, in words that never contain the value. */
  reason: string
}

/**
 * Thrown by `defineEnv` with every problem at once (code `INVALID_ENV`, status 500). The message
 * and `details.issues` name the variables, never their values.
 */
export class EnvError extends AikitError {
  /** One entry per bad variable, in schema order. */
  readonly issues: readonly EnvIssue[]

  constructor(issues: readonly EnvIssue[]) {
    const list = issues.map((i) => `${i.name} ${i.reason}`).join('; ')
    super(
      'INVALID_ENV',
      500,
      `Invalid environment (${issues.length} problem${issues.length === 1 ? '' : 's'}): ${list}`,
      { details: { issues } }
    )
    this.issues = issues
  }
}
