/**
 * @module csp-next
 * A strict CSP preset for a Next.js App Router app: no `'unsafe-inline'` for scripts. Next injects
 * inline bootstrap scripts, so the policy uses a per-request nonce plus `'strict-dynamic'` (the
 * scripts those load are trusted through the nonce), as Next's own CSP guide does. Use it in
 * `proxy.ts` with `aikitProxy(contentSecurityPolicy(nextAppRouterCsp()))`: the nonce reaches Next
 * through the request's CSP header and pages read it from the `x-nonce` request header. Pages get
 * rendered dynamically (a nonce must never end up in cached HTML).
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import type { ContentSecurityPolicyOptions } from './csp.js'
import { isKnownDirective, unknownDirectiveMessage } from './csp-directive-names.js'
import type { CspDirectives } from './csp-directives.js'

/** Options of `nextAppRouterCsp()`. */
export interface NextAppRouterCspOptions {
  /** Development mode: adds `'unsafe-eval'` to `script-src` (React needs it for dev tooling). @default false */
  dev?: boolean
  /** Directives merged over the preset (`null` drops one). @default {} */
  directives?: CspDirectives
  /** Report-only mode. @default false */
  reportOnly?: boolean
}
const NEXT_APP_ROUTER_CSP_KEYS = Object.keys({
  dev: true,
  directives: true,
  reportOnly: true,
} satisfies Record<keyof NextAppRouterCspOptions, true>)

const dashify = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** Builds `contentSecurityPolicy` options for a Next.js App Router app (nonce + `'strict-dynamic'`). */
export function nextAppRouterCsp(
  options: NextAppRouterCspOptions = {}
): ContentSecurityPolicyOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, NEXT_APP_ROUTER_CSP_KEYS)
  for (const key of ['dev', 'reportOnly'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      throw new InvalidOptionsError(key, 'must be a boolean')
    }
  }
  const directives: CspDirectives = {
    'default-src': ["'self'"],
    'script-src': ["'self'", "'strict-dynamic'", ...(options.dev ? ["'unsafe-eval'"] : [])],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'blob:', 'data:'],
    'font-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'upgrade-insecure-requests': [],
  }
  const overrides = options.directives ?? {}
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new InvalidOptionsError('directives', 'must be an object')
  }
  for (const name of Object.keys(overrides)) {
    const value = overrides[name]
    const dashed = dashify(name)
    // Refused here too, not only when the policy is compiled, so the error names the key given.
    if (!isKnownDirective(dashed)) {
      throw new InvalidOptionsError(`directives.${name}`, unknownDirectiveMessage(dashed))
    }
    if (value !== undefined) directives[dashed] = value
  }
  const nonce = ['script-src', 'style-src'].filter((d) => directives[d] != null)
  const result: ContentSecurityPolicyOptions = {
    useDefaults: false,
    nonce,
    directives: Object.fromEntries(Object.entries(directives).filter(([, v]) => v !== null)),
  }
  if (options.reportOnly !== undefined) result.reportOnly = options.reportOnly
  return result
}
