/**
 * @module env/define-env
 * Validates the environment once, at startup, against a zod schema per variable.
 */
import type { z } from 'zod'
import { InvalidOptionsError } from '../errors.js'
import { rejectUnknownOptions } from '../known-options.js'
import { EnvError, type EnvIssue } from './env-error.js'
import { looksSecret, SECRET_NAME } from './public-leak.js'
import { isSecret, REDACTED } from './secret.js'

/** One zod schema per variable name. Schemas receive the raw string (or `undefined`). */
export type EnvSchema = Record<string, z.ZodType>

/** The parsed environment: each variable's schema output. */
export type Env<S extends EnvSchema> = { readonly [K in keyof S]: z.output<S[K]> }

/** Options of `defineEnv`. */
export interface DefineEnvOptions {
  /** The variables to validate. @default process.env */
  env?: Record<string, string | undefined>
  /**
   * Name prefixes the bundler inlines into browser code. A secret-looking value under such a name
   * (or a `secret()` variable with such a name) is refused. @default ['NEXT_PUBLIC_']
   */
  publicPrefixes?: readonly string[]
  /**
   * Public variables allowed to hold a value that looks like a secret (e.g. a random-looking
   * analytics id). @default []
   */
  allowPublic?: readonly string[]
  /** Treat an empty string like an unset variable (as envalid does). @default true */
  emptyAsMissing?: boolean
}

/** The keys of `DefineEnvOptions`: any other is refused (a misspelt one would be ignored). */
const DEFINE_ENV_OPTION_KEYS = Object.keys({
  env: true,
  publicPrefixes: true,
  allowPublic: true,
  emptyAsMissing: true,
} satisfies Record<keyof DefineEnvOptions, true>)

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

function readProcessEnv(): Record<string, string | undefined> {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
  return proc?.env ?? {}
}

function validateOptions(schema: unknown, options: DefineEnvOptions): void {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new InvalidOptionsError('schema', 'must be an object of zod schemas')
  }
  for (const [name, s] of Object.entries(schema)) {
    if (typeof (s as z.ZodType | null)?.safeParse !== 'function') {
      throw new InvalidOptionsError(`schema.${name}`, 'must be a zod schema')
    }
  }
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, DEFINE_ENV_OPTION_KEYS)
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null)) {
    throw new InvalidOptionsError('env', 'must be a record of strings')
  }
  for (const field of ['publicPrefixes', 'allowPublic'] as const) {
    const v = options[field]
    if (
      v !== undefined &&
      (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === ''))
    ) {
      throw new InvalidOptionsError(field, 'must be an array of non-empty strings')
    }
  }
  if (options.emptyAsMissing !== undefined && typeof options.emptyAsMissing !== 'boolean') {
    throw new InvalidOptionsError('emptyAsMissing', 'must be a boolean')
  }
}

interface LooseIssue {
  code?: string
  message?: string
  expected?: unknown
  values?: readonly unknown[]
  format?: string
  minimum?: unknown
  maximum?: unknown
}

/** Says why a value failed without ever quoting it (zod messages may; custom ones are checked). */
function reasonOf(issue: LooseIssue | undefined, raw: string): string {
  switch (issue?.code) {
    case 'invalid_type':
      return `is invalid (expected ${String(issue.expected)})`
    case 'invalid_value':
      return `is invalid (expected one of ${(issue.values ?? []).map(String).join(', ')})`
    case 'invalid_format':
      // A regex's own message (e.g. port()'s) says more than the word "regex".
      if (issue.format === 'regex') return customReason(issue, raw)
      return `is invalid (expected ${String(issue.format)})`
    case 'too_small':
      return `is invalid (too small: minimum ${String(issue.minimum)})`
    case 'too_big':
      return `is invalid (too big: maximum ${String(issue.maximum)})`
    default:
      return customReason(issue, raw)
  }
}

/** A refinement's own message, unless it quotes the value. */
function customReason(issue: LooseIssue | undefined, raw: string): string {
  const message = issue?.message
  if (message === undefined || message === '' || (raw !== '' && message.includes(raw))) {
    return 'is invalid'
  }
  return `is invalid (${message})`
}

/** Builds the frozen env object: values as properties, printing hooks that redact secrets. */
function freezeEnv(values: Record<string, unknown>): Record<string, unknown> {
  const redacted = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(values)) {
      out[k] = v !== undefined && (isSecret(v) || SECRET_NAME.test(k)) ? REDACTED : v
    }
    return out
  }
  const env = { ...values }
  Object.defineProperties(env, {
    toJSON: { value: redacted, enumerable: false },
    toString: { value: () => JSON.stringify(redacted()), enumerable: false },
    [INSPECT]: { value: redacted, enumerable: false },
  })
  return Object.freeze(env)
}

/**
 * Validates the environment against `schema` (one zod schema per variable) and returns the
 * parsed, frozen values. Call it once at startup: it throws ONE `EnvError` listing every missing
 * or malformed variable by name (never by value), and every secret-looking value under a
 * browser-visible name (`NEXT_PUBLIC_*`). Values from `secret()` are `Secret`s; they, and any
 * variable whose name contains KEY, SECRET, TOKEN, PASSWORD, ..., print as `[redacted]` when the
 * env object goes through `toString`, `JSON.stringify` or `util.inspect`.
 *
 * ```ts
 * const env = defineEnv({ ...aikitEnv, PORT: port().default(8080), DATABASE_URL: secret(url()) })
 * ```
 */
export function defineEnv<S extends EnvSchema>(schema: S, options: DefineEnvOptions = {}): Env<S> {
  validateOptions(schema, options)
  const source = options.env ?? readProcessEnv()
  const publicPrefixes = options.publicPrefixes ?? ['NEXT_PUBLIC_']
  const allowPublic = new Set(options.allowPublic ?? [])
  const emptyAsMissing = options.emptyAsMissing ?? true
  const isPublic = (name: string): boolean => publicPrefixes.some((p) => name.startsWith(p))
  const issues: EnvIssue[] = []
  const values: Record<string, unknown> = {}

  for (const name of Object.keys(schema)) {
    let raw = source[name]
    if (raw === '' && emptyAsMissing) raw = undefined
    const result = schema[name]!.safeParse(raw)
    if (!result.success) {
      issues.push(
        raw === undefined
          ? { name, problem: 'missing', reason: 'is missing' }
          : {
              name,
              problem: 'invalid',
              reason: reasonOf(result.error.issues[0] as LooseIssue | undefined, raw),
            }
      )
      continue
    }
    if (isPublic(name) && isSecret(result.data)) {
      issues.push({
        name,
        problem: 'public_secret',
        reason: 'is declared secret() but its name is shipped to the browser',
      })
      continue
    }
    values[name] = result.data
  }
  // Every browser-visible variable is checked, declared or not: the bundler inlines them all.
  for (const [name, raw] of Object.entries(source)) {
    if (typeof raw !== 'string' || !isPublic(name) || allowPublic.has(name)) continue
    if (looksSecret(raw) && !issues.some((i) => i.name === name)) {
      issues.push({
        name,
        problem: 'public_secret',
        reason: 'looks like a secret but its name is shipped to the browser',
      })
    }
  }
  if (issues.length > 0) throw new EnvError(issues)
  return freezeEnv(values) as Env<S>
}
