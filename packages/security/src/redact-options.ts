/**
 * @module redact-options
 * The options of `createRedactor`, validated once at construction and resolved into what the walk
 * reads: the censor and limits, the compiled path trie, the censored key names and the scanner.
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { DEFAULT_SENSITIVE_KEYS } from './redact-keys.js'
import { compilePaths, type PathNode } from './redact-paths.js'
import {
  compileScanner,
  customPatterns,
  DEFAULT_SCANNER,
  SECRET_PATTERNS,
  type SecretScanner,
} from './redact-patterns.js'

/** Options of `createRedactor`. */
export interface RedactorOptions {
  /**
   * pino-style paths whose value is censored: `headers.authorization`, `*.password`,
   * `req.headers["x-api-key"]`, `items[*].secret`. `*` matches one level. Keys compare
   * case-insensitively. Never build paths from user input. @default []
   */
  paths?: string[]
  /**
   * Key names censored at any depth, case-insensitive. `true`: the built-in list (authorization,
   * cookie, set-cookie, x-api-key, x-goog-api-key, api_key, apiKey, password, secret, token, …)
   * and any key naming a credential after a prefix or in camelCase (`DB_PASSWORD`,
   * `OPENAI_API_KEY`, `stripeSecret`, `GITHUB_TOKEN`); an array: these names in addition to the
   * built-in ones; `false`: none. The same names censor the value that follows them in an array
   * (`req.rawHeaders`, `[name, value]` pairs) and the `value` of a `{ name, value }` record (HAR
   * headers, Kubernetes env entries). @default true
   */
  keys?: boolean | string[]
  /**
   * Secret patterns searched inside every string (Anthropic/OpenAI/AWS/GitHub/… keys, bearer
   * tokens, JWTs, cookies, `password=` in query strings). `true`: the built-in patterns; an array:
   * the built-in patterns plus these regexes (the whole match is censored); `false`: none.
   * @default true
   */
  patterns?: boolean | RegExp[]
  /** Replacement for a censored value. @default '[redacted]' */
  censor?: string
  /**
   * Keep the non-secret prefix of a pattern match (`sk-ant-[redacted]`, `Bearer [redacted]`),
   * which helps debugging without leaking anything usable. @default true
   */
  keepPrefix?: boolean
  /** Objects nested deeper than this are replaced by `'[max depth]'`. @default 32 */
  maxDepth?: number
  /**
   * Strings longer than this are cut and end with `…[truncated]`. The scan sees 4096 characters
   * past the cut, so a secret across it is censored whole (the cut then falls after its censor).
   * @default 1_048_576
   */
  maxStringLength?: number
}

/** `RedactorOptions` validated, defaults applied. */
export interface RedactorConfig {
  censor: string
  keepPrefix: boolean
  maxDepth: number
  maxStringLength: number
  /** The root of the compiled `paths` trie, or undefined without paths. */
  rootNodes: PathNode[] | undefined
  /** Key names censored at any depth, lower-case. */
  sensitive: Set<string>
  /** Whether keys naming a credential by the rules of `isCredentialKey` are censored too. */
  credentialKeys: boolean
  /** The value-pattern scanner; undefined with `patterns: false`. */
  scanner: SecretScanner | undefined
}

/** Every key of `RedactorOptions` (unknown keys are refused). */
const REDACTOR_OPTION_KEYS = [
  'paths',
  'keys',
  'patterns',
  'censor',
  'keepPrefix',
  'maxDepth',
  'maxStringLength',
] as const satisfies readonly (keyof RedactorOptions)[]

const DEFAULTS = {
  censor: '[redacted]',
  keepPrefix: true,
  maxDepth: 32,
  maxStringLength: 1_048_576,
}

function positiveInt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionsError(field, 'must be a positive integer')
  }
  return value
}

function resolveKeys(keys: RedactorOptions['keys']): Set<string> {
  if (keys === undefined || keys === true) return new Set(DEFAULT_SENSITIVE_KEYS)
  if (keys === false) return new Set()
  if (!Array.isArray(keys)) throw new InvalidOptionsError('keys', 'must be a boolean or an array')
  const set = new Set(DEFAULT_SENSITIVE_KEYS)
  keys.forEach((k, i) => {
    if (typeof k !== 'string' || k === '') {
      throw new InvalidOptionsError(`keys[${i}]`, 'must be a non-empty string')
    }
    set.add(k.toLowerCase())
  })
  return set
}

function resolvePatterns(patterns: RedactorOptions['patterns']): SecretScanner | undefined {
  if (patterns === undefined || patterns === true) return DEFAULT_SCANNER
  if (patterns === false) return undefined
  if (!Array.isArray(patterns)) {
    throw new InvalidOptionsError('patterns', 'must be a boolean or an array of RegExp')
  }
  patterns.forEach((p, i) => {
    if (!(p instanceof RegExp)) throw new InvalidOptionsError(`patterns[${i}]`, 'must be a RegExp')
  })
  return compileScanner([...SECRET_PATTERNS, ...customPatterns(patterns)])
}

/** Validates `options` (throws `InvalidOptionsError` naming the field) and applies the defaults. */
export function resolveRedactorOptions(options: RedactorOptions): RedactorConfig {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, REDACTOR_OPTION_KEYS)
  const censor = options.censor ?? DEFAULTS.censor
  if (typeof censor !== 'string') throw new InvalidOptionsError('censor', 'must be a string')
  const keepPrefix = options.keepPrefix ?? DEFAULTS.keepPrefix
  if (typeof keepPrefix !== 'boolean') {
    throw new InvalidOptionsError('keepPrefix', 'must be a boolean')
  }
  const maxDepth = positiveInt(options.maxDepth ?? DEFAULTS.maxDepth, 'maxDepth')
  const maxStringLength = positiveInt(
    options.maxStringLength ?? DEFAULTS.maxStringLength,
    'maxStringLength'
  )
  if (options.paths !== undefined && !Array.isArray(options.paths)) {
    throw new InvalidOptionsError('paths', 'must be an array of strings')
  }
  const root = compilePaths(options.paths ?? [], 'paths')
  return {
    censor,
    keepPrefix,
    maxDepth,
    maxStringLength,
    rootNodes: root === undefined ? undefined : [root],
    sensitive: resolveKeys(options.keys),
    credentialKeys: options.keys !== false,
    scanner: resolvePatterns(options.patterns),
  }
}
