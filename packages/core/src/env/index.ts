/**
 * @module @aikit/core/env
 * Typed, validated environment configuration on zod 4 (an optional peer dependency needed by this
 * entry only). Edge-safe: no `node:` import; `process.env` is read only when no `env` is given.
 */
export { type DefineEnvOptions, defineEnv, type Env, type EnvSchema } from './define-env.js'
export { EnvError, type EnvIssue } from './env-error.js'
export { bool, LOG_LEVELS, list, logLevel, num, port, trustProxy, url } from './fields.js'
export { aikitEnv } from './preset.js'
export { looksSecret, SECRET_NAME, SECRET_VALUE_PATTERNS } from './public-leak.js'
export { isSecret, REDACTED, Secret, secret } from './secret.js'
