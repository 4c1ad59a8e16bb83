/**
 * @module env/preset
 * The variables the kit itself reads, ready to spread into an app's own schema.
 */
import { z } from 'zod'
import { list, logLevel, port, trustProxy, url } from './fields.js'
import { secret } from './secret.js'

/**
 * What `metricsHandler`'s `token` (`@aikit/observability`) accepts: visible ASCII, spaces inside
 * only (a header value loses its leading and trailing ones, so no scraper could send it).
 */
const SENDABLE_TOKEN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/

/** `METRICS_TOKEN`: the same rule as `metricsHandler`'s `token`, so a bad one is in the `EnvError`. */
function metricsToken() {
  return secret(
    z
      .string()
      .min(16)
      .refine(
        (token) => SENDABLE_TOKEN.test(token),
        'expected visible ASCII with no leading or trailing space'
      )
  )
}

/**
 * `defineEnv({ ...aikitEnv, MY_VAR: z.string() })`. Defaults: `NODE_ENV` development, `PORT`
 * 3000, `LOG_LEVEL` info, `TRUST_PROXY` false; the rest are optional. `REDIS_URL` (it may carry a
 * password) and the API keys and `METRICS_TOKEN` are `secret()`s: read them with `.reveal()`.
 * `METRICS_TOKEN` is checked as `metricsHandler` checks its `token` (16+ characters of visible
 * ASCII, spaces inside only).
 */
export const aikitEnv = {
  /** `development` | `production` | `test`. @default 'development' */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** The HTTP port. @default 3000 */
  PORT: port().default(3000),
  /** The logger's level (winston npm levels). @default 'info' */
  LOG_LEVEL: logLevel().default('info'),
  /** The Redis the stores use (`redis://` or `rediss://`); a `Secret<URL>`. */
  REDIS_URL: secret(url(['redis', 'rediss'])).optional(),
  /** A `Secret`. */
  ANTHROPIC_API_KEY: secret().optional(),
  /** A `Secret`. */
  OPENAI_API_KEY: secret().optional(),
  /** Allowed CORS origins, comma-separated. */
  CORS_ORIGIN: list().optional(),
  /** Sentry's DSN (public by Sentry's design). */
  SENTRY_DSN: url(['http', 'https']).optional(),
  /**
   * The bearer token the metrics endpoint requires, as `metricsHandler`'s `token` takes it: at
   * least 16 characters of visible ASCII, spaces inside only. A `Secret`.
   */
  METRICS_TOKEN: metricsToken().optional(),
  /** The adapters' `trustProxy`: false, a hop count, or CIDRs. @default false */
  TRUST_PROXY: trustProxy().default(false),
}
