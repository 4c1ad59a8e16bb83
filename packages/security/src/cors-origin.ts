/**
 * @module cors-origin
 * Compiles the `origin` option of `cors()` into one matcher. Exact origins are normalised the way
 * browsers serialise them (lower-case scheme and host, no default port) and looked up in a Set;
 * `https://*.example.com` patterns and user RegExps are anchored here (`^(?:…)$`, without the `g`
 * and `y` flags, whose `lastIndex` would make `test()` alternate). `Origin: null` (sandboxed
 * iframes, `file:`, some redirects) never matches, and a configuration that would let it match is
 * refused.
 */
import { type Context, InvalidOptionsError } from '@aikit/core'
import { PUBLIC_SUFFIXES } from './cors-public-suffixes.js'

/** Decides per request; must return exactly `true` to allow. */
export type CorsOriginFunction = (origin: string, ctx: Context) => boolean | Promise<boolean>

/**
 * Which origins may read responses: `'*'` (any, without credentials), `true` (reflect any, without
 * credentials), an exact origin `'https://app.example.com'`, a pattern `'https://*.example.com'`
 * (one or more subdomain labels, same scheme; not over a whole top-level domain, nor, with
 * credentials, over a public suffix such as `co.uk` or `github.io`: see cors-public-suffixes.ts),
 * a RegExp (anchored for you), a list of these, or a
 * function. A list holding `'*'` alone is `'*'` (`CORS_ORIGIN=*` read by `aikitEnv`); `'*'` among
 * other entries is refused.
 */
export type CorsOrigin =
  | '*'
  | true
  | string
  | RegExp
  | readonly (string | RegExp)[]
  | CorsOriginFunction

/** The compiled matcher. */
export type OriginMatcher =
  | { kind: 'any' }
  | { kind: 'reflect' }
  | { kind: 'list'; test: (origin: string) => boolean }
  | { kind: 'fn'; fn: CorsOriginFunction }

const ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/
const WILDCARD = /^([a-z][a-z0-9+.-]*):\/\/\*\.((?:[a-z0-9-]+\.)*[a-z0-9-]+)(?::(\d{1,5}))?$/
const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' }
const MAX_ORIGIN_LENGTH = 2048

/** Normalises a serialised origin, or returns undefined when it is not one (`null`, paths, junk). */
export function normalizeOrigin(value: string): string | undefined {
  if (value.length > MAX_ORIGIN_LENGTH) return undefined
  const m = ORIGIN.exec(value.toLowerCase())
  if (m === null) return undefined
  const [, scheme, host, port] = m
  const portPart = canonicalPort(scheme!, port)
  return portPart === undefined ? undefined : `${scheme}://${host}${portPart}`
}

/**
 * `:port` as a browser serialises it (no leading zeros, none for the scheme's default port), ''
 * without one, undefined past 65535.
 */
function canonicalPort(scheme: string, port: string | undefined): string | undefined {
  if (port === undefined) return ''
  const n = Number(port)
  if (n > 65_535) return undefined
  return DEFAULT_PORTS[scheme] === String(n) ? '' : `:${n}`
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function anchored(re: RegExp, field: string): RegExp {
  // Origins are compared in lower case (hosts and schemes are case-insensitive): so is a pattern,
  // which would never match an origin if it named a host with capitals.
  const flags = `${re.flags.replace(/[gyi]/g, '')}i`
  const compiled = new RegExp(`^(?:${re.source})$`, flags)
  if (compiled.test('null'))
    throw new InvalidOptionsError(field, 'must not match the origin `null`')
  return compiled
}

/**
 * An entry with a Unicode host, as browsers serialise its origin (`https://bücher.example` →
 * `https://xn--bcher-kva.example`), wildcard entries included; any other entry is returned as is
 * (then checked as usual).
 */
function asciiEntry(entry: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  if (!/[^\x00-\x7f]/.test(entry)) return entry
  const wildcard = /^([a-z][a-z0-9+.-]*:\/\/)\*\./i.exec(entry)
  // A placeholder label stands for `*`, which a URL host may not hold.
  const parsable =
    wildcard === null ? entry : `${wildcard[1]}wildcard.${entry.slice(wildcard[0].length)}`
  if (entry.endsWith('/')) return entry
  let url: URL
  try {
    url = new URL(parsable)
  } catch {
    return entry
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '')
    return entry
  const origin = `${url.protocol}//${url.host}`
  return wildcard === null ? origin : origin.replace('//wildcard.', '//*.')
}

/** Compiles one list entry into an exact origin (string) or an anchored pattern. */
function compileEntry(given: unknown, field: string, credentials: boolean): string | RegExp {
  if (given instanceof RegExp) return anchored(given, field)
  if (typeof given !== 'string') {
    throw new InvalidOptionsError(field, 'must be an origin string or a RegExp')
  }
  const entry = asciiEntry(given)
  if (entry.toLowerCase() === 'null') {
    throw new InvalidOptionsError(field, 'must not be `null`: any sandboxed page sends that origin')
  }
  const w = WILDCARD.exec(entry.toLowerCase())
  if (w !== null) {
    const [, scheme, domain, port] = w
    const portPart = canonicalPort(scheme!, port)
    if (portPart === undefined) {
      throw new InvalidOptionsError(field, 'has a port past 65535')
    }
    if (!domain!.includes('.')) {
      throw new InvalidOptionsError(
        field,
        `'*.${domain}' allows every site under a top-level domain: give the site's own domain, like 'https://*.example.com'`
      )
    }
    // Like '*' with credentials: any site there could read the signed-in user's data. Without
    // credentials it stays allowed (a public API open to an app's preview deployments).
    if (credentials && PUBLIC_SUFFIXES.has(domain!)) {
      throw new InvalidOptionsError(
        field,
        `'*.${domain}' with credentials: true lets every site anyone can register or host under ${domain} read your users' data: give your own origins (like '${scheme}://app.${domain}'), or a pattern under a domain that is yours`
      )
    }
    return new RegExp(
      `^${escapeRegExp(scheme!)}://(?:[a-z0-9-]+\\.)+${escapeRegExp(domain!)}${escapeRegExp(portPart)}$`
    )
  }
  const exact = normalizeOrigin(entry)
  if (exact === undefined) {
    throw new InvalidOptionsError(
      field,
      "must be an origin like 'https://app.example.com' (no path), or 'https://*.example.com'"
    )
  }
  return exact
}

/** Compiles the `origin` option. `credentials` forbids `'*'` and reflect-all. */
export function compileOrigin(given: unknown, credentials: boolean): OriginMatcher {
  // A list of '*' alone is '*': `CORS_ORIGIN=*` read by aikitEnv's list field.
  const origin = Array.isArray(given) && given.length === 1 && given[0] === '*' ? '*' : given
  if (origin === '*' || origin === true) {
    if (credentials) {
      throw new InvalidOptionsError(
        'origin',
        `${origin === '*' ? "'*'" : 'true (reflect any origin)'} cannot be combined with credentials: true; list the allowed origins`
      )
    }
    return origin === '*' ? { kind: 'any' } : { kind: 'reflect' }
  }
  if (typeof origin === 'function') return { kind: 'fn', fn: origin as CorsOriginFunction }
  const entries: unknown[] = Array.isArray(origin) ? origin : [origin]
  if (origin === undefined || origin === false || entries.length === 0) {
    throw new InvalidOptionsError('origin', 'is required: origins, patterns, a function, or "*"')
  }
  const exact = new Set<string>()
  const patterns: RegExp[] = []
  entries.forEach((entry, i) => {
    const compiled = compileEntry(
      entry,
      Array.isArray(origin) ? `origin[${i}]` : 'origin',
      credentials
    )
    if (typeof compiled === 'string') exact.add(compiled)
    else patterns.push(compiled)
  })
  const test = (value: string): boolean => {
    const normalized = normalizeOrigin(value)
    if (normalized === undefined) return false
    if (exact.has(normalized)) return true
    for (const p of patterns) if (p.test(normalized)) return true
    return false
  }
  return { kind: 'list', test }
}

/** True when `origin` (the request's Origin header) is allowed. `null` and malformed origins never are. */
export async function originAllowed(
  matcher: OriginMatcher,
  origin: string,
  ctx: Context
): Promise<boolean> {
  if (normalizeOrigin(origin) === undefined) return false
  switch (matcher.kind) {
    case 'any':
    case 'reflect':
      return true
    case 'list':
      return matcher.test(origin)
    case 'fn':
      return (await matcher.fn(origin, ctx)) === true
  }
}
