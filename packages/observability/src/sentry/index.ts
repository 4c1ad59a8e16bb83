/**
 * @module @aikit/observability/sentry
 * Sentry for AI apps: `initSentry()` with prompts, bodies, cookies and credentials kept out.
 * A subpath so that `@sentry/node` (an optional peer dependency) is loaded only by those who use it.
 */
export { initSentry, type SentryModule, type SentryOptions } from './init-sentry.js'
export { SENSITIVE_HEADERS } from './scrub.js'
