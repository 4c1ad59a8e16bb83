/**
 * @module env/preset
 * The variables the kit itself reads, ready to spread into an app's own schema.
 */
import { z } from 'zod'
import { list, logLevel, port, trustProxy, url } from './fields.js'
import { secret } from './secret.js'

/**
 * `defineEnv({ ...aikitEnv, MY_VAR: z.string() })`. Defaults: `NODE_ENV` development, `PORT`
 * 3000, `LOG_LEVEL` info, `TRUST_PROXY` false; the rest are optional. `REDIS_URL` (it may carry a
 * password) and the API keys and `METRICS_TOKEN` are `secret()`s: read them with `.reveal()`.
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
  /** The bearer token the metrics endpoint requires; a `Secret`. */
  METRICS_TOKEN: secret().optional(),
  /** The adapters' `trustProxy`: false, a hop count, or CIDRs. @default false */
  TRUST_PROXY: trustProxy().default(false),
}
