/**
 * Next 16 proxy (the successor of middleware.ts; runs on Node before every page and route):
 * helmet's security headers with a strict Content-Security-Policy for the App Router. Each request
 * gets its own nonce; there is no 'unsafe-inline' for scripts ('strict-dynamic' trusts what the
 * nonced scripts load). `aikitProxy` hands the nonce to the app as the `x-nonce` request header and
 * puts the CSP on the request too, which is where Next reads the nonce for its own scripts.
 */
import { aikitProxy } from '@aikit/adapters/next'
import {
  type ContentSecurityPolicyOptions,
  nextAppRouterCsp,
  securityHeaders,
} from '@aikit/security'

// `next start` runs with NODE_ENV=production; `next dev` does not.
const dev = process.env.NODE_ENV !== 'production'

/**
 * The preset in production. Under `next dev`, React's dev tooling needs 'unsafe-eval' (the
 * preset's `dev`) and Next's dev overlay sets inline styles, which a nonce cannot allow (a
 * style-src with a nonce ignores 'unsafe-inline'), so only there style-src has no nonce.
 */
function csp(): ContentSecurityPolicyOptions {
  const preset = nextAppRouterCsp({ dev })
  if (!dev) return preset
  return {
    ...preset,
    nonce: ['script-src'],
    directives: { ...preset.directives, 'style-src': ["'self'", "'unsafe-inline'"] },
  }
}

export default aikitProxy(
  securityHeaders({ contentSecurityPolicy: csp(), permissionsPolicy: true })
)

export const config = {
  // Pages and API routes; not the static assets, which carry no nonce.
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
