/**
 * @module @aikit/security
 * Security middleware for AI apps: helmet-level headers on every response (Web `Headers` path
 * included), CSP with per-request nonces, strict CORS, token-free CSRF (Go 1.25 semantics) with an
 * optional signed double-submit token, body limits, validation, redaction and prompt guards.
 * Edge-safe: the main entry imports only `@aikit/core`.
 */

// --- headers, csp, cors, csrf ---
export { type CorsOptions, cors } from './cors.js'
export type { CorsOrigin, CorsOriginFunction } from './cors-origin.js'
export {
  type ContentSecurityPolicyOptions,
  contentSecurityPolicy,
} from './csp.js'
export {
  type CspDirectives,
  type CspDirectiveValue,
  type CspValueFunction,
  dangerouslyDisableDefaultSrc,
  defaultCspDirectives,
} from './csp-directives.js'
export { type NextAppRouterCspOptions, nextAppRouterCsp } from './csp-next.js'
export {
  type CspReportHandlerOptions,
  type CspViolation,
  cspReportHandler,
} from './csp-report.js'
export { type CsrfOptions, csrf } from './csrf.js'
export type { CsrfTokenOptions } from './csrf-token.js'
export { CorsRejectedError, CsrfRejectedError, type CsrfRejectReason } from './errors.js'
export { type SecurityHeadersOptions, securityHeaders } from './headers.js'
export type {
  CrossOriginEmbedderPolicyOptions,
  CrossOriginOpenerPolicyOptions,
  CrossOriginResourcePolicyOptions,
  ReferrerPolicyOptions,
  ReferrerPolicyToken,
  StrictTransportSecurityOptions,
  XDnsPrefetchControlOptions,
  XFrameOptionsOptions,
  XPermittedCrossDomainPoliciesOptions,
} from './headers-options.js'
export {
  PERMISSIONS_POLICY_PRESET,
  type PermissionsAllowList,
  type PermissionsPolicyOptions,
} from './headers-permissions.js'

// --- body, validate, redact, promptGuard ---
export {
  DEFAULT_GUARD_RULES,
  type DetectorVerdict,
  type FindingSource,
  type GuardAction,
  type GuardFinding,
  type GuardResult,
  type GuardRuleId,
  type InputGuardResult,
  type PromptDetector,
  type PromptGuard,
  type PromptGuardMiddlewareOptions,
  type PromptGuardOptions,
  PromptInjectionError,
  promptGuard,
} from './prompt-guard.js'
export type {
  PromptInputItem,
  PromptItem,
  PromptItemReference,
  PromptMessage,
} from './prompt-messages.js'
export { createRedactor, type Redactor, type RedactorOptions, redact } from './redact.js'
export { isCredentialHeader, SENSITIVE_HEADERS } from './redact-names.js'
export {
  type BodyLimitOptions,
  bodyLimit,
  RequestValidationError,
  type ValidatedParts,
  type ValidateMiddleware,
  type ValidateOptions,
  type ValidationIssue,
  validate,
  type ZodLikeIssue,
  type ZodLikeSchema,
} from './validate-request.js'
