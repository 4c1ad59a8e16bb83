import { describe, expect, it } from 'vitest'

// Pins the public surface: adding or removing an export is a deliberate, reviewed change.
describe('public exports', () => {
  it('@aikit/security', async () => {
    expect(Object.keys(await import('@aikit/security')).sort()).toEqual([
      'CorsRejectedError',
      'CsrfRejectedError',
      'DEFAULT_GUARD_RULES',
      'PERMISSIONS_POLICY_PRESET',
      'PromptInjectionError',
      'RequestValidationError',
      'SENSITIVE_HEADERS',
      'bodyLimit',
      'contentSecurityPolicy',
      'cors',
      'createRedactor',
      'cspReportHandler',
      'csrf',
      'dangerouslyDisableDefaultSrc',
      'defaultCspDirectives',
      'isCredentialHeader',
      'nextAppRouterCsp',
      'promptGuard',
      'redact',
      'securityHeaders',
      'validate',
    ])
  })
})
