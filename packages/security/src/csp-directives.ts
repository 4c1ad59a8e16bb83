/**
 * @module csp-directives
 * Parses and validates CSP directives the way helmet 8.3 does (camelCase names dashed, duplicate
 * names refused, `;` and `,` refused in values, bare keywords such as `self` or `nonce-…` refused
 * because they must be quoted, `default-src` required), and refuses a name that is no CSP
 * directive, which helmet sends as given. Then compiles them into a template: a
 * fully static policy is one string built here, once; a policy with a nonce or a function value is
 * a list of static pieces and per-request holes.
 */
import { AikitError, type Context, InvalidOptionsError } from '@aikit/core'
import { isKnownDirective, unknownDirectiveMessage } from './csp-directive-names.js'

/** A directive value computed per request, e.g. from `ctx.state`. Must return one source token list. */
export type CspValueFunction = (ctx: Context) => string

/**
 * One directive's value: a source list as a string, an array or any other iterable (a `Set`, as
 * helmet takes), `null` to drop a default directive. An iterable is read once, at construction.
 */
export type CspDirectiveValue =
  | string
  | Iterable<string | CspValueFunction>
  | null
  | typeof dangerouslyDisableDefaultSrc

/** Directives by name, kebab-case (`'script-src'`) or camelCase (`scriptSrc`). */
export type CspDirectives = Record<string, CspDirectiveValue>

/** Give this as `default-src` to send a policy without one (helmet's escape hatch). */
export const dangerouslyDisableDefaultSrc: unique symbol = Symbol.for(
  '@aikit/security.csp.dangerouslyDisableDefaultSrc'
) as never

/** helmet 8's default policy, directive by directive. */
export function defaultCspDirectives(): Record<string, string[]> {
  return {
    'default-src': ["'self'"],
    'base-uri': ["'self'"],
    'font-src': ["'self'", 'https:', 'data:'],
    'form-action': ["'self'"],
    'frame-ancestors': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", 'https:', "'unsafe-inline'"],
    'upgrade-insecure-requests': [],
  }
}

const NAME = /^[a-z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/
const SHOULD_BE_QUOTED = new Set([
  'none',
  'self',
  'strict-dynamic',
  'report-sample',
  'inline-speculation-rules',
  'unsafe-inline',
  'unsafe-eval',
  'unsafe-hashes',
  'wasm-unsafe-eval',
])
/** `;` and `,` would start a new directive or policy; control characters would split the header. */
function hasForbiddenChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x20 || c === 0x7f || c === 0x3b /* ; */ || c === 0x2c /* , */) return true
  }
  return false
}

/** Why a value token is invalid, or undefined when it is fine. */
export function invalidValueReason(value: string): string | undefined {
  if (hasForbiddenChar(value)) return 'must not contain `;`, `,` or control characters'
  for (const token of value.split(' ')) {
    if (
      SHOULD_BE_QUOTED.has(token) ||
      token.startsWith('nonce-') ||
      token.startsWith('sha256-') ||
      token.startsWith('sha384-') ||
      token.startsWith('sha512-')
    ) {
      return `has ${JSON.stringify(token)}, which must be single-quoted`
    }
  }
  return undefined
}

/** An object with `[Symbol.iterator]` (a `Set`, a generator), as helmet iterates directive values. */
function isIterable(value: unknown): value is Iterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  )
}

const dashify = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** A per-request piece of the header: the nonce, or a function value of a named directive. */
export type CspHole = { kind: 'nonce' } | { kind: 'fn'; directive: string; fn: CspValueFunction }

/** The compiled policy: static pieces and holes, alternating as they appear in the header. */
export type CspTemplate = readonly (string | CspHole)[]

/** The parsed policy: directive name → list of tokens or functions, in header order. */
export type ParsedDirectives = Map<string, (string | CspValueFunction)[]>

/** Validates `directives` (merged into helmet's defaults unless `useDefaults` is false). */
export function parseDirectives(
  raw: unknown,
  useDefaults: boolean,
  field: string
): ParsedDirectives {
  const result: ParsedDirectives = new Map(
    useDefaults ? Object.entries(defaultCspDirectives()) : []
  )
  if (raw === undefined) raw = {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidOptionsError(field, 'must be an object of directive name → value')
  }
  let disabledDefaultSrc = false
  const seen = new Set<string>()
  const input = raw as Record<string, unknown>
  for (const rawName of Object.keys(input)) {
    const at = `${field}.${rawName}`
    if (!NAME.test(rawName)) throw new InvalidOptionsError(at, 'is not a valid directive name')
    const name = dashify(rawName)
    if (!isKnownDirective(name)) throw new InvalidOptionsError(at, unknownDirectiveMessage(name))
    if (seen.has(name)) throw new InvalidOptionsError(at, `duplicates the directive ${name}`)
    seen.add(name)
    const value = input[rawName]
    if (value === null) {
      if (name === 'default-src') {
        throw new InvalidOptionsError(
          at,
          'is required; use dangerouslyDisableDefaultSrc to omit it'
        )
      }
      result.delete(name)
      continue
    }
    if (value === dangerouslyDisableDefaultSrc) {
      if (name !== 'default-src') {
        throw new InvalidOptionsError(at, 'dangerouslyDisableDefaultSrc is only for default-src')
      }
      disabledDefaultSrc = true
      result.delete(name)
      continue
    }
    let list: unknown[]
    if (typeof value === 'string') list = [value]
    else if (Array.isArray(value)) list = value.slice()
    else if (isIterable(value)) list = Array.from(value)
    else throw new InvalidOptionsError(at, 'must be a string, an array or other iterable, or null')
    for (let i = 0; i < list.length; i++) {
      const item = list[i]
      if (typeof item === 'function') continue
      if (typeof item !== 'string') {
        throw new InvalidOptionsError(
          `${at}[${i}]`,
          'must be a string or a function (ctx) => string'
        )
      }
      const reason = invalidValueReason(item)
      if (reason !== undefined) throw new InvalidOptionsError(`${at}[${i}]`, reason)
    }
    result.set(name, list as (string | CspValueFunction)[])
  }
  if (result.size === 0)
    throw new InvalidOptionsError(field, 'leaves the policy without directives')
  if (!result.has('default-src') && !disabledDefaultSrc) {
    throw new InvalidOptionsError(
      `${field}.default-src`,
      'is required; use dangerouslyDisableDefaultSrc to omit it'
    )
  }
  return result
}

/**
 * Compiles directives into a template. `nonceIn` names the directives that get `'nonce-…'`
 * appended (each must exist in the policy).
 */
export function compileTemplate(
  directives: ParsedDirectives,
  nonceIn: readonly string[],
  field: string
): CspTemplate {
  for (const name of nonceIn) {
    if (!directives.has(name)) {
      throw new InvalidOptionsError(field, `names ${name}, which the policy does not have`)
    }
  }
  const out: (string | CspHole)[] = []
  let text = ''
  let first = true
  for (const [name, values] of directives) {
    if (!first) text += ';'
    first = false
    text += name
    for (const v of values) {
      if (v === '') continue
      text += ' '
      if (typeof v === 'string') text += v
      else {
        out.push(text)
        text = ''
        out.push({ kind: 'fn', directive: name, fn: v })
      }
    }
    if (nonceIn.includes(name)) {
      text += " 'nonce-"
      out.push(text)
      text = "'"
      out.push({ kind: 'nonce' })
    }
  }
  out.push(text)
  // Merge adjacent strings (a template without holes becomes one string).
  const merged: (string | CspHole)[] = []
  for (const piece of out) {
    const last = merged[merged.length - 1]
    if (typeof piece === 'string' && typeof last === 'string')
      merged[merged.length - 1] = last + piece
    else if (piece !== '') merged.push(piece)
  }
  return merged
}

/** Renders a template with holes for one request. */
export function renderTemplate(template: CspTemplate, ctx: Context, nonce: string): string {
  let s = ''
  for (const piece of template) {
    if (typeof piece === 'string') s += piece
    else if (piece.kind === 'nonce') s += nonce
    else s += evaluate(piece.fn, piece.directive, ctx)
  }
  return s
}

function evaluate(fn: CspValueFunction, directive: string, ctx: Context): string {
  const value: unknown = fn(ctx)
  if (typeof value !== 'string' || invalidValueReason(value) !== undefined) {
    // helmet 8.3 also turns a bad function value into an error response rather than a header.
    throw new AikitError(
      'CSP_INVALID_VALUE',
      500,
      `A Content-Security-Policy function value for ${directive} is invalid`
    )
  }
  return value
}
