/**
 * @module checks/http
 * What the HTTP layer lets through: CORS, rate limits, which proxies are trusted.
 */

import { createIpResolver } from '@aikit/core/adapter'
import { trustProxy as trustProxyField } from '@aikit/core/env'
import type { Check } from '../types.js'
import { fail, failInProduction, invalidSection, pass, warn } from './item.js'

const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/

/** An origin string that is not HTTPS and not the developer's own machine. */
function plainHttp(origin: string): boolean {
  if (!origin.startsWith('http://')) return false
  const host = origin.slice('http://'.length).split(/[:/]/)[0] ?? ''
  return !LOOPBACK_HOST.test(host)
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

/**
 * `TRUST_PROXY` as the app reads it (`aikitEnv`'s field): an all-digits value is a hop count, a
 * comma list is CIDRs. A value the field refuses (`true`) is kept as is for the checks below.
 */
function fromEnv(raw: string | undefined): TrustProxySetting | undefined {
  if (raw === undefined) return undefined
  const parsed = trustProxyField().safeParse(raw)
  return parsed.success ? parsed.data : raw
}

type TrustProxySetting = boolean | number | string | readonly string[]

/** Values that trust every hop: any client could then choose its own IP. */
const TRUST_ALL = new Set(['true', '*', 'all', '0.0.0.0/0', '::/0'])

export const trustProxyCheck: Check = (facts) => {
  const id = 'trust-proxy'
  const title = 'trusted proxies'
  const invalid = invalidSection(facts, 'trustProxy', id, title)
  if (invalid) return invalid
  const fromConfig: TrustProxySetting | undefined = facts.config.trustProxy
  const value = fromConfig ?? fromEnv(facts.env.TRUST_PROXY) ?? false
  const items =
    typeof value === 'string'
      ? value.split(',').map((s) => s.trim().toLowerCase())
      : Array.isArray(value)
        ? value.map((s) => s.trim().toLowerCase())
        : []
  if (value === true || items.some((i) => TRUST_ALL.has(i))) {
    return fail(
      id,
      title,
      'every hop is trusted: any client can set X-Forwarded-For and pick its own IP (per-IP limits are bypassed)',
      'set TRUST_PROXY to the number of proxies in front of the app (1 behind one load balancer) or their CIDRs'
    )
  }
  if (
    value === false ||
    value === 0 ||
    (typeof value !== 'number' && items.every((i) => i === '' || i === 'false' || i === '0'))
  ) {
    return pass(
      id,
      title,
      'off: the socket address is the client IP (behind a load balancer, set the hop count)'
    )
  }
  // The configuration's value goes to the adapters as is, and they read a string as addresses:
  // trustProxy: '2' would trust the address 0.0.0.2, not 2 hops. (TRUST_PROXY=2 is a hop count:
  // the env field above parsed it.)
  const digits = fromConfig === undefined ? undefined : items.find((i) => /^\d+$/.test(i))
  if (digits !== undefined) {
    return fail(
      id,
      title,
      `trustProxy '${digits}' is a string: the adapters read it as an IP address, not a hop count`,
      `give the number (trustProxy: ${Number(digits)}), or TRUST_PROXY as aikitEnv parses it`
    )
  }
  // The adapters' own parser: a value they would refuse at startup fails here.
  try {
    createIpResolver(typeof value === 'string' ? value : (value as number | readonly string[]))
  } catch (error) {
    return fail(
      id,
      title,
      `not a valid proxy setting: ${error instanceof Error ? error.message : String(error)}`,
      'give a hop count (e.g. 1) or a comma-separated list of IPs / CIDRs / loopback, linklocal, uniquelocal'
    )
  }
  if (typeof value === 'number') return pass(id, title, `${value} hop(s) trusted`)
  return pass(id, title, `${items.length} proxy address range(s) trusted`)
}
