/**
 * @module known-keys
 * Unknown keys in the configuration, reported as the kit reports them: core's
 * `rejectUnknownOptions` picks the key and the closest known name, so the doctor and the kit agree
 * on what is a typo.
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import type { z } from 'zod'

/** `unknown field`, with the closest known name when one is close enough. */
function reasonOf(error: InvalidOptionsError): string {
  const hint = /did you mean `[^`]*`\?/.exec(error.message)
  return hint ? `unknown field; ${hint[0]}` : 'unknown field'
}

/** The first key of `value` not in `known`, with its reason; undefined when every key is known. */
export function firstUnknownKey(
  value: object,
  known: readonly string[]
): { key: string; reason: string } | undefined {
  try {
    rejectUnknownOptions(value, known)
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    return { key: error.field, reason: reasonOf(error) }
  }
  return undefined
}

/**
 * `schema`, refusing keys outside `known` (the first one, as the kit does). It runs even when other
 * fields failed: the kit reports an unknown key before any other problem of the same object.
 */
export function withKnownKeys<T extends z.ZodType>(schema: T, known: readonly string[]): T {
  return schema.superRefine(
    (value, ctx) => {
      if (typeof value !== 'object' || value === null) return
      const unknown = firstUnknownKey(value, known)
      if (unknown) ctx.addIssue({ code: 'custom', path: [unknown.key], message: unknown.reason })
    },
    { when: () => true }
  )
}
