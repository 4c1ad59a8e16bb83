/**
 * @module checks/operations
 * Running it: log level, error tracking, the metrics endpoint's token, the spending budget.
 */
import { LOG_LEVELS } from '@aikit/core/env'
import { MIN_METRICS_TOKEN_LENGTH, SENDABLE_METRICS_TOKEN } from '../config.js'
import type { Check } from '../types.js'
import { fail, invalidSection, pass, warn } from './item.js'

/** Levels that log request payloads and prompts, and flood the log pipeline. */
const NOISY = new Set(['debug', 'silly'])

const KNOWN_LEVELS: ReadonlySet<string> = new Set(LOG_LEVELS)

/**
 * The logger's level: the configuration's (validated), else `LOG_LEVEL` as `aikitEnv` reads it
 * (trimmed, case-insensitive), else `'info'`. Only a known level is ever printed: the variable may
 * hold anything, even a pasted secret.
 */
export const logLevelCheck: Check = (facts) => {
  const id = 'log-level'
  const title = 'log level'
  const fromEnv = facts.env.LOG_LEVEL?.trim().toLowerCase()
  if (facts.config.logLevel === undefined && fromEnv !== undefined && !KNOWN_LEVELS.has(fromEnv)) {
    return fail(
      id,
      title,
      'LOG_LEVEL is not a known level: aikitEnv and the logger refuse it at startup',
      `set LOG_LEVEL to one of ${LOG_LEVELS.join(', ')}`
    )
  }
  const level = facts.config.logLevel ?? fromEnv ?? 'info'
  const source = facts.config.logLevel !== undefined ? 'config logLevel' : 'LOG_LEVEL'
  if (facts.production && NOISY.has(level)) {
    return fail(
      id,
      title,
      `${source} is '${level}' in production: payloads and prompts reach the logs`,
      'set LOG_LEVEL=info (or warn) in production'
    )
  }
  return pass(id, title, `'${level}'`)
}

/**
 * Missing error tracking is a WARN, not a FAIL: the app may report errors through another tool
 * the doctor cannot see. `sentry: false` in the configuration records that decision (PASS).
 */
export const errorTrackingCheck: Check = (facts) => {
  const id = 'error-tracking'
  const title = 'error tracking'
  const invalid = invalidSection(facts, 'sentry', id, title)
  if (invalid) return invalid
  const sentry = facts.config.sentry
  if (sentry === false) return pass(id, title, 'Sentry off in config (errors tracked elsewhere)')
  if ((sentry?.dsn !== undefined && sentry.dsn !== '') || facts.env.SENTRY_DSN !== undefined) {
    return pass(id, title, 'Sentry DSN set')
  }
  if (!facts.production) return pass(id, title, 'SENTRY_DSN unset (checked in production only)')
  return warn(
    id,
    title,
    'SENTRY_DSN unset: errors in production go unnoticed',
    'set SENTRY_DSN and call initSentry() (@aikit/observability/sentry), or set sentry: false if another tool reports errors'
  )
}

const MIN_TOKEN_LENGTH = MIN_METRICS_TOKEN_LENGTH

export const metricsTokenCheck: Check = (facts) => {
  const id = 'metrics-token'
  const title = 'metrics endpoint'
  const invalid = invalidSection(facts, 'metrics', id, title)
  if (invalid) return invalid
  const { metrics } = facts.config
  if (metrics === false) return pass(id, title, 'no /metrics endpoint (config)')
  // The config's `metricsHandler()` options, long enough (the schema checked it).
  if (typeof metrics === 'object' && metrics.token !== undefined) {
    return pass(id, title, 'metrics.token set (config)')
  }
  const token = facts.env.METRICS_TOKEN
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    return fail(
      id,
      title,
      `METRICS_TOKEN is shorter than ${MIN_TOKEN_LENGTH} characters (metricsHandler refuses it)`,
      'use a random token of 32+ characters, e.g. openssl rand -hex 32'
    )
  }
  if (token !== undefined && !SENDABLE_METRICS_TOKEN.test(token)) {
    return fail(
      id,
      title,
      'METRICS_TOKEN has a leading or trailing space, or a character outside visible ASCII (metricsHandler refuses it: no scraper could send it)',
      'use a random token of 32+ characters, e.g. openssl rand -hex 32'
    )
  }
  if (token !== undefined) return pass(id, title, 'METRICS_TOKEN set')
  if (!facts.production) return pass(id, title, 'METRICS_TOKEN unset (checked in production only)')
  return warn(
    id,
    title,
    'METRICS_TOKEN unset: /metrics (routes, models, spend) is open to anyone who reaches the port',
    'set METRICS_TOKEN and pass it: metricsHandler(metrics, { token }); or keep /metrics on a private network'
  )
}

export const budgetCheck: Check = (facts) => {
  const id = 'budget'
  const title = 'spending budget'
  const invalid = invalidSection(facts, 'budget', id, title)
  if (invalid) return invalid
  const budget = facts.config.budget
  if (budget === undefined || budget === false) {
    return warn(
      id,
      title,
      'no budget: one user (or a leaked session) can spend without limit',
      "createBudget({ limits: [{ period: 'day', usd: 5 }] }), pass it to wrapAnthropic/wrapOpenAI, declare it in aikit.config"
    )
  }
  if (budget.mode === 'soft') {
    return warn(
      id,
      title,
      "mode 'soft' only warns, it never stops spending",
      "use mode: 'hard' (the default)"
    )
  }
  return pass(id, title, 'configured')
}
