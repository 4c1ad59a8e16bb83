/**
 * @module checks/http
 * What the HTTP layer lets through: CORS and rate limits (trusted proxies: `trust-proxy.ts`).
 */

import { cors } from '@aikit/security'
import type { Check } from '../types.js'
import { fail, failInProduction, invalidSection, pass, warn } from './item.js'

const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/

/**
 * An origin string that is not HTTPS and not the developer's own machine. Case-insensitive, as
 * `cors()` lower-cases an origin before comparing it: `HTTP://App.example.com` is plain http.
 */
function plainHttp(origin: string): boolean {
  const lower = origin.toLowerCase()
  if (!lower.startsWith('http://')) return false
  return !LOOPBACK_HOST.test(hostOf(lower))
}

/**
 * The host of a lower-cased `http://` origin as the URL parser reads it (`[::1]` keeps its
 * brackets). An origin the parser refuses falls back to the text before the first `:` or `/`.
 */
function hostOf(origin: string): string {
  try {
    return new URL(origin).hostname
  } catch {
    return origin.slice('http://'.length).split(/[:/]/)[0] ?? ''
  }
}

/**
 * A RegExp origin as `cors()` compiles it (`anchored()` in `@aikit/security`'s cors-origin.ts,
 * which is not exported; a test pins the parity): anchored as `^(?:source)$`, without the `g` and
 * `y` flags, and always case-insensitive (`i`), since `cors()` compares origins in lower case:
 * `/HTTPS:\/\/[A-Z0-9.-]+/` matches every https site there. `cors()` tests it against the
 * normalised origin (lower-case, no default port), which is what the probes below already are.
 */
export function asCorsCompilesIt(re: RegExp): RegExp {
  return new RegExp(`^(?:${re.source})$`, `${re.flags.replace(/[gyi]/g, '')}i`)
}

/** Origins of sites nobody would allow on purpose: a RegExp that lets one in lets in any site. */
const FOREIGN_ORIGINS = [
  'https://evil.invalid',
  'http://evil.invalid',
  'https://aikit-doctor-probe.invalid:8443',
]

/**
 * Domains under which anyone can publish a site on a subdomain of their choice (free hosting; the
 * public suffix list's private section): a pattern covering every subdomain of one lets in every
 * tenant's site, not only the app's deployments.
 */
const SHARED_HOSTING_SUFFIXES = [
  'vercel.app',
  'netlify.app',
  'github.io',
  'gitlab.io',
  'pages.dev',
  'workers.dev',
  'herokuapp.com',
  'web.app',
  'firebaseapp.com',
  'appspot.com',
  'azurewebsites.net',
  'azurestaticapps.net',
  'cloudfront.net',
  'amplifyapp.com',
  'onrender.com',
  'fly.dev',
  'up.railway.app',
  'deno.dev',
  'glitch.me',
  'surge.sh',
  'ngrok.io',
  'ngrok-free.app',
  'trycloudflare.com',
  'blogspot.com',
] as const

/** `scheme://*.domain[:port]`, as `cors()` reads a wildcard entry: the domain, lower-case. */
const WILDCARD_ENTRY = /^[a-z][a-z0-9+.-]*:\/\/\*\.([a-z0-9.-]+?)(?::\d{1,5})?$/

/**
 * The shared hosting domain whose every tenant `entry` lets in: a wildcard entry on the domain
 * itself (`https://*.vercel.app`), or a RegExp that lets in an arbitrary subdomain of it.
 */
function sharedTenants(entry: string | RegExp): string | undefined {
  if (typeof entry === 'string') {
    const domain = WILDCARD_ENTRY.exec(entry.trim().toLowerCase())?.[1]
    return SHARED_HOSTING_SUFFIXES.find((suffix) => suffix === domain)
  }
  const compiled = asCorsCompilesIt(entry)
  return SHARED_HOSTING_SUFFIXES.find((suffix) =>
    compiled.test(`https://aikit-doctor-probe.${suffix}`)
  )
}

/**
 * True when a RegExp's source has a `.` that is not escaped nor in a character class, followed by
 * a letter or digit: written as a host's dot (`app.example`), it matches any character, so a
 * look-alike domain (`appxexample.com`) anyone can register is let in. A quantified `.*` / `.+` is
 * a deliberate wildcard (judged by the any-site probes).
 */
function hasLooseDot(re: RegExp): boolean {
  const src = re.source
  // With the `v` flag, classes nest.
  const nests = re.flags.includes('v')
  let classDepth = 0
  for (let i = 0; i < src.length; i++) {
    const c = src[i]
    if (c === '\\') {
      i++
    } else if (classDepth > 0) {
      if (c === ']') classDepth--
      else if (c === '[' && nests) classDepth++
    } else if (c === '[') {
      classDepth = 1
    } else if (c === '.' && /[a-z0-9]/i.test(src[i + 1] ?? '')) {
      return true
    }
  }
  return false
}

/** Why `cors()` refuses these options (its error message), or undefined when it accepts them. */
function corsRefusal(origin: unknown, credentials: boolean): string | undefined {
  try {
    cors({ origin: origin as never, credentials })
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

export const corsCheck: Check = (facts) => {
  const id = 'cors'
  const title = 'CORS'
  const invalid = invalidSection(facts, 'cors', id, title)
  if (invalid) return invalid
  const fromConfig = facts.config.cors
  const fromEnv = facts.env.CORS_ORIGIN?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (fromConfig === false || (fromConfig === undefined && fromEnv === undefined)) {
    return pass(id, title, 'not enabled: browsers allow same-origin requests only')
  }
  const origin = fromConfig?.origin ?? fromEnv!
  const credentials = fromConfig?.credentials ?? false
  if (typeof origin === 'function') {
    return pass(id, title, 'origin decided by a function (not checked)')
  }
  const list = Array.isArray(origin) ? origin : [origin]
  const strings = list.filter((o): o is string => typeof o === 'string')
  const patterns = list
    .filter((o): o is RegExp => o instanceof RegExp)
    .map((given) => ({ given, compiled: asCorsCompilesIt(given) }))
  // A RegExp that accepts a foreign probe origin accepts every site, like '*'.
  const anySite = patterns.find((p) => FOREIGN_ORIGINS.some((o) => p.compiled.test(o)))?.given
  const wildcard = origin === true || strings.includes('*') || anySite !== undefined
  if (wildcard && credentials) {
    return fail(
      id,
      title,
      anySite === undefined
        ? "any origin ('*' or true) with credentials: true lets every site read your users' data"
        : `the RegExp origin ${anySite} matches any site (e.g. ${FOREIGN_ORIGINS[0]}): with credentials: true every site can read your users' data`,
      "list exact origins: cors({ origin: ['https://app.example.com'], credentials: true })"
    )
  }
  if (strings.some((o) => o.toLowerCase() === 'null')) {
    return fail(
      id,
      title,
      "origin 'null' is allowed (sandboxed iframes and file: pages of any site send it)",
      "remove 'null' from the allowed origins"
    )
  }
  const matchesNull = patterns.find((p) => p.compiled.test('null'))?.given
  if (matchesNull !== undefined) {
    return fail(
      id,
      title,
      `the RegExp origin ${matchesNull} matches the origin 'null': cors() refuses it at startup`,
      'anchor the RegExp to your own origins, e.g. /https:\\/\\/(?:app|admin)\\.example\\.com/'
    )
  }
  const tenants = credentials
    ? list
        .filter((o): o is string | RegExp => typeof o === 'string' || o instanceof RegExp)
        .map((entry) => ({ entry, suffix: sharedTenants(entry) }))
        .find((t) => t.suffix !== undefined)
    : undefined
  const tenantsDetail = (t: { entry: string | RegExp; suffix: string | undefined }): string =>
    `the origin ${String(t.entry)} lets in every site on ${t.suffix} (anyone can publish one there): with credentials: true each of them can read your users' data`
  const tenantsFix = (t: { suffix: string | undefined }): string =>
    `list your deployments' exact origins (e.g. https://my-app.${t.suffix}) or use your own domain`
  // A wildcard string there is refused by cors() itself (with credentials) since 2026-11-29: the
  // app would not start; a RegExp is accepted, and warned about below.
  if (tenants !== undefined && typeof tenants.entry === 'string') {
    return fail(id, title, tenantsDetail(tenants), tenantsFix(tenants))
  }
  // What cors() itself refuses when the app starts (an origin with a path or a trailing slash, a
  // bare host name, '*' inside a list: CORS_ORIGIN=* read as a list): the app would not boot.
  const refusal = corsRefusal(origin, credentials)
  if (refusal !== undefined) {
    return fail(
      id,
      title,
      `cors() refuses this at startup: ${refusal}`,
      Array.isArray(origin) && strings.includes('*')
        ? "pass origin: '*' (a string, not in a list) to allow any origin, or list exact origins"
        : refusal.includes('register or host')
          ? 'list your own origins, or a pattern under a domain that is yours'
          : "list origins as scheme://host[:port], no path or trailing slash: 'https://app.example.com'"
    )
  }
  if (wildcard) {
    return facts.production
      ? warn(
          id,
          title,
          anySite === undefined
            ? "any origin ('*') may call the API from a browser"
            : `the RegExp origin ${anySite} lets any site call the API from a browser`,
          'list the origins of your front ends unless the API is public by design'
        )
      : pass(id, title, 'any origin, without credentials')
  }
  if (tenants !== undefined) return warn(id, title, tenantsDetail(tenants), tenantsFix(tenants))
  const loose = patterns.find((p) => hasLooseDot(p.given))?.given
  if (loose !== undefined) {
    return warn(
      id,
      title,
      `the RegExp origin ${loose} has an unescaped '.', which matches any character: look-alike domains anyone can register are let in`,
      'escape the dots of host names: /https:\\/\\/app\\.example\\.com/'
    )
  }
  const insecure = strings.filter(plainHttp)
  if (facts.production && insecure.length > 0) {
    return warn(
      id,
      title,
      `${insecure.length} allowed origin(s) use plain http://`,
      'allow only https:// origins in production'
    )
  }
  return pass(
    id,
    title,
    `${list.length} allowed origin(s)${credentials ? ', with credentials' : ''}`
  )
}

export const rateLimitCheck: Check = (facts) => {
  const id = 'rate-limit'
  const title = 'rate limit'
  const invalid = invalidSection(facts, 'rateLimit', id, title)
  if (invalid) return invalid
  const rl = facts.config.rateLimit
  if (rl === undefined || rl === false) {
    return failInProduction(
      facts,
      id,
      title,
      'no rate limit configured: one client can exhaust your LLM quota and budget',
      "mount rateLimit({ limits: [{ limit: 60, window: '1m' }] }) and declare it in aikit.config"
    )
  }
  if (rl.dryRun === true && facts.production) {
    return warn(
      id,
      title,
      'dryRun: true never denies a request',
      'remove dryRun once the limits are tuned'
    )
  }
  const what =
    rl.tiers !== undefined
      ? `${Object.keys(rl.tiers).length} tier(s)`
      : rl.limits !== undefined
        ? `${rl.limits.length} limit(s)`
        : 'a limiter'
  return pass(id, title, `configured (${what})`)
}
