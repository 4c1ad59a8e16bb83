/**
 * @module facts
 * Digests the input once: the environment (validated with core's `defineEnv(aikitEnv)`) and the
 * configuration (validated with `doctorConfigSchema`).
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { aikitEnv, defineEnv, EnvError, type EnvIssue } from '@aikit/core/env'
import { parseConfig } from './config.js'
import { DOCTOR_INPUT_KEYS, type DoctorInput, type Facts } from './types.js'

/** Validates `input` (throws `InvalidOptionsError` naming the field) and digests it. */
export function gatherFacts(input: DoctorInput): Facts {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidOptionsError('input', 'must be an object')
  }
  rejectUnknownOptions(input, DOCTOR_INPUT_KEYS)
  const source = input.env ?? process.env
  if (typeof source !== 'object' || source === null) {
    throw new InvalidOptionsError('env', 'must be a record of strings')
  }
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || value === '') continue
    if (typeof value !== 'string') throw new InvalidOptionsError(`env.${name}`, 'must be a string')
    env[name] = value
  }

  const parsed = parseConfig(input.config)
  const publicPrefixes = parsed.config.publicPrefixes ?? ['NEXT_PUBLIC_']
  const allowPublic = parsed.config.allowPublic ?? []
  let envIssues: readonly EnvIssue[] = []
  try {
    defineEnv(aikitEnv, { env, publicPrefixes, allowPublic })
  } catch (error) {
    if (!(error instanceof EnvError)) throw error
    envIssues = error.issues
  }
  return {
    env,
    production: env.NODE_ENV === 'production',
    configGiven: input.config !== undefined,
    config: parsed.config,
    invalidFields: parsed.invalidFields,
    configProblems: parsed.problems,
    envIssues,
  }
}
