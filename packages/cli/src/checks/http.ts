/**
 * @module checks/http
 * What the HTTP layer lets through: CORS and rate limits (trusted proxies: `trust-proxy.ts`).
 */

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
 * A RegExp origin as `cors()` compiles it (`@aikit/security`'s cors-origin.ts): anchored as
 * `^(?:source)$`, without the `g` and `y` flags. `cors()` tests it against the normalised origin
 * (lower-case, no default port), which is what the probes below already are.
 */
function asCorsCompilesIt(re: RegExp): RegExp {
  return new RegExp(`^(?:${re.source})$`, re.flags.replace(/[gy]/g, ''))
}

/** Origins of sites nobody would allow on purpose: a RegExp that lets one in lets in any site. */
const FOREIGN_ORIGINS = [
  'https://evil.invalid',
  'http://evil.invalid',
  'https://aikit-doctor-probe.invalid:8443',
]

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
