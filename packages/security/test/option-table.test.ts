/**
 * One table for every public factory of @aikit/security: an unknown key, at the top and inside
 * each nested option object, and a wrong-typed value of each option, each throw
 * InvalidOptionsError naming the field at construction. A valid configuration of each still
 * constructs (test/unknown-options.test.ts builds each with every documented option).
 *
 * Two documented leniencies are not in the table: a header without options given a non-boolean
 * (`xPoweredBy: {}`) stays on with a process warning, as helmet does (headers-helmet-parity), and
 * `csrf`'s `trustedOrigins` takes one origin as a string, as `origin` does.
 */
import { invalidField } from '@aikit/testing/invalid-field'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { bodyLimit } from '../src/body-limit.js'
import { cors } from '../src/cors.js'
import { contentSecurityPolicy } from '../src/csp.js'
import { nextAppRouterCsp } from '../src/csp-next.js'
import { cspReportHandler } from '../src/csp-report.js'
import { csrf } from '../src/csrf.js'
import { securityHeaders } from '../src/headers.js'
import { promptGuard } from '../src/prompt-guard.js'
import { createRedactor } from '../src/redact.js'
import { validate } from '../src/validate.js'

const SECRET = 's'.repeat(32)
const TOKEN = { secrets: [SECRET], sessionId: () => 'session' }
const onReport = (): void => {}
const origin = 'https://a.example'

type Row = readonly [label: string, build: () => unknown, field: string]

const rows: Record<string, Row[]> = {
  securityHeaders: [
    ['unknown key', () => securityHeaders({ xframeOptions: false } as never), 'xframeOptions'],
    ['options: a string', () => securityHeaders('strict' as never), 'options'],
    [
      'contentSecurityPolicy: a string',
      () => securityHeaders({ contentSecurityPolicy: "default-src 'self'" as never }),
      'contentSecurityPolicy',
    ],
    [
      'contentSecurityPolicy.directives: a string',
      () => securityHeaders({ contentSecurityPolicy: { directives: 'x' as never } }),
      'contentSecurityPolicy.directives',
    ],
    [
      'crossOriginEmbedderPolicy.policy: a number',
      () => securityHeaders({ crossOriginEmbedderPolicy: { policy: 1 as never } }),
      'crossOriginEmbedderPolicy.policy',
    ],
    [
      'crossOriginOpenerPolicy: a string',
      () => securityHeaders({ crossOriginOpenerPolicy: 'same-origin' as never }),
      'crossOriginOpenerPolicy',
    ],
    [
      'crossOriginResourcePolicy.policy: a number',
      () => securityHeaders({ crossOriginResourcePolicy: { policy: 1 as never } }),
      'crossOriginResourcePolicy.policy',
    ],
    [
      'referrerPolicy.policy: a number',
      () => securityHeaders({ referrerPolicy: { policy: 1 as never } }),
      'referrerPolicy.policy',
    ],
    [
      'strictTransportSecurity.maxAge: a string',
      () => securityHeaders({ strictTransportSecurity: { maxAge: '1y' as never } }),
      'strictTransportSecurity.maxAge',
    ],
    [
      'strictTransportSecurity.includeSubDomains: a string',
      () => securityHeaders({ strictTransportSecurity: { includeSubDomains: 'yes' as never } }),
      'strictTransportSecurity.includeSubDomains',
    ],
    [
      'strictTransportSecurity.preload: a string',
      () => securityHeaders({ strictTransportSecurity: { preload: 'yes' as never } }),
      'strictTransportSecurity.preload',
    ],
    [
      'xDnsPrefetchControl.allow: a string',
      () => securityHeaders({ xDnsPrefetchControl: { allow: 'yes' as never } }),
      'xDnsPrefetchControl.allow',
    ],
    [
      'xFrameOptions.action: a number',
      () => securityHeaders({ xFrameOptions: { action: 1 as never } }),
      'xFrameOptions.action',
    ],
    [
      'xPermittedCrossDomainPolicies.permittedPolicies: a number',
      () => securityHeaders({ xPermittedCrossDomainPolicies: { permittedPolicies: 1 as never } }),
      'xPermittedCrossDomainPolicies.permittedPolicies',
    ],
    [
      'permissionsPolicy.features: a string',
      () => securityHeaders({ permissionsPolicy: { features: 'camera=()' as never } }),
      'permissionsPolicy.features',
    ],
    [
      'permissionsPolicy.useDefaults: a string',
      () => securityHeaders({ permissionsPolicy: { useDefaults: 'no' as never } }),
      'permissionsPolicy.useDefaults',
    ],
  ],
  contentSecurityPolicy: [
    ['unknown key', () => contentSecurityPolicy({ directive: {} } as never), 'directive'],
    [
      'directives: an array',
      () => contentSecurityPolicy({ directives: ["default-src 'self'"] as never }),
      'directives',
    ],
    [
      'useDefaults: a string',
      () => contentSecurityPolicy({ useDefaults: 'no' as never }),
      'useDefaults',
    ],
    [
      'reportOnly: a string',
      () => contentSecurityPolicy({ reportOnly: 'yes' as never }),
      'reportOnly',
    ],
    ['nonce: a string', () => contentSecurityPolicy({ nonce: 'abc' as never }), 'nonce'],
  ],
  nextAppRouterCsp: [
    ['unknown key', () => nextAppRouterCsp({ development: true } as never), 'development'],
    ['dev: a string', () => nextAppRouterCsp({ dev: 'yes' as never }), 'dev'],
    ['directives: a string', () => nextAppRouterCsp({ directives: 'x' as never }), 'directives'],
    ['reportOnly: a string', () => nextAppRouterCsp({ reportOnly: 'no' as never }), 'reportOnly'],
  ],
  cspReportHandler: [
    ['unknown key', () => cspReportHandler({ onReport, pth: '/csp' } as never), 'pth'],
    ['onReport: a string', () => cspReportHandler({ onReport: 'log' as never }), 'onReport'],
    [
      'maxBytes: a string',
      () => cspReportHandler({ onReport, maxBytes: '10kb' as never }),
      'maxBytes',
    ],
    ['path: a number', () => cspReportHandler({ onReport, path: 5 as never }), 'path'],
    [
      'maxReports: a string',
      () => cspReportHandler({ onReport, maxReports: '5' as never }),
      'maxReports',
    ],
  ],
  cors: [
    ['unknown key', () => cors({ origin, maxage: 5 } as never), 'maxage'],
    ['origin: a number', () => cors({ origin: 5 as never }), 'origin'],
    ['credentials: a string', () => cors({ origin, credentials: 'yes' as never }), 'credentials'],
    ['methods: a string', () => cors({ origin, methods: 'GET' as never }), 'methods'],
    [
      'allowedHeaders: a string',
      () => cors({ origin, allowedHeaders: 'x-a' as never }),
      'allowedHeaders',
    ],
    [
      'exposedHeaders: a string',
      () => cors({ origin, exposedHeaders: 'x-a' as never }),
      'exposedHeaders',
    ],
    ['maxAge: a string', () => cors({ origin, maxAge: '600' as never }), 'maxAge'],
  ],
  csrf: [
    ['unknown key', () => csrf({ trustedOrigin: [origin] } as never), 'trustedOrigin'],
    ['origin: a number', () => csrf({ origin: 5 as never }), 'origin'],
    ['strictCookies: a string', () => csrf({ strictCookies: 'yes' as never }), 'strictCookies'],
    ['skip: a string', () => csrf({ skip: '/webhooks' as never }), 'skip'],
    ['token: a string', () => csrf({ token: SECRET as never }), 'token'],
    [
      'token unknown key',
      () => csrf({ token: { ...TOKEN, secret: SECRET } as never }),
      'token.secret',
    ],
    [
      'token.secrets: a string',
      () => csrf({ token: { ...TOKEN, secrets: SECRET as never } }),
      'token.secrets',
    ],
    [
      'token.sessionId: a string',
      () => csrf({ token: { ...TOKEN, sessionId: 'sid' as never } }),
      'token.sessionId',
    ],
    [
      'token.cookieName: a number',
      () => csrf({ token: { ...TOKEN, cookieName: 5 as never } }),
      'token.cookieName',
    ],
    [
      'token.headerName: a number',
      () => csrf({ token: { ...TOKEN, headerName: 5 as never } }),
      'token.headerName',
    ],
    [
      'token.httpOnly: a string',
      () => csrf({ token: { ...TOKEN, httpOnly: 'yes' as never } }),
      'token.httpOnly',
    ],
  ],
  bodyLimit: [
    ['unknown key', () => bodyLimit({ maxbytes: 5 } as never), 'maxbytes'],
    ['maxBytes: a boolean', () => bodyLimit({ maxBytes: true as never }), 'maxBytes'],
    ['maxDepth: a string', () => bodyLimit({ maxDepth: '5' as never }), 'maxDepth'],
    ['decompress: a string', () => bodyLimit({ decompress: 'no' as never }), 'decompress'],
    ['timeoutMs: a string', () => bodyLimit({ timeoutMs: '5' as never }), 'timeoutMs'],
    [
      'allowEncodings: a string',
      () => bodyLimit({ allowEncodings: 'gzip' as never }),
      'allowEncodings',
    ],
    ['requireJson: a string', () => bodyLimit({ requireJson: 'yes' as never }), 'requireJson'],
  ],
  validate: [
    ['unknown key', () => validate({ bdy: z.object({}) } as never), 'bdy'],
    ['body: an object', () => validate({ body: {} as never }), 'body'],
    ['query: a string', () => validate({ query: 'q' as never }), 'query'],
    ['params: a string', () => validate({ params: 'p' as never }), 'params'],
    [
      'getParams: a string',
      () => validate({ params: z.object({}), getParams: 'x' as never }),
      'getParams',
    ],
    [
      'maxIssues: a string',
      () => validate({ body: z.object({}), maxIssues: '5' as never }),
      'maxIssues',
    ],
    [
      'maxQueryParams: a string',
      () => validate({ query: z.object({}), maxQueryParams: '5' as never }),
      'maxQueryParams',
    ],
  ],
  promptGuard: [
    ['unknown key', () => promptGuard({ mod: 'monitor' } as never), 'mod'],
    [
      'maxInputTokens: a string',
      () => promptGuard({ maxInputTokens: '5' as never }),
      'maxInputTokens',
    ],
    ['rules: a string', () => promptGuard({ rules: 'strict' as never }), 'rules'],
    [
      'rules: unknown rule',
      () => promptGuard({ rules: { jailbreak: 'block' } as never }),
      'rules.jailbreak',
    ],
    [
      'rules: a wrong action',
      () => promptGuard({ rules: { 'pii.email': true } as never }),
      'rules.pii.email',
    ],
    ['mode: a boolean', () => promptGuard({ mode: true as never }), 'mode'],
    ['roles: a string', () => promptGuard({ roles: 'user' as never }), 'roles'],
    ['canaries: a string', () => promptGuard({ canaries: 'c4n4ry' as never }), 'canaries'],
    ['censor: a number', () => promptGuard({ censor: 5 as never }), 'censor'],
    ['detector: a string', () => promptGuard({ detector: 'llm' as never }), 'detector'],
    [
      'detectorTimeoutMs: a string',
      () => promptGuard({ detectorTimeoutMs: '5' as never }),
      'detectorTimeoutMs',
    ],
    [
      'detectorTimeoutMs: past the longest timer delay (it fired after 1 ms)',
      () => promptGuard({ detectorTimeoutMs: 2 ** 31 }),
      'detectorTimeoutMs',
    ],
    ['onFinding: a string', () => promptGuard({ onFinding: 'log' as never }), 'onFinding'],
    [
      'middleware: unknown key',
      () => promptGuard().middleware({ extrct: () => 'x' } as never),
      'extrct',
    ],
    [
      'middleware: extract a string',
      () => promptGuard().middleware({ extract: 'body' as never }),
      'extract',
    ],
  ],
  createRedactor: [
    ['unknown key', () => createRedactor({ path: ['a'] } as never), 'path'],
    ['paths: a string', () => createRedactor({ paths: 'a.b' as never }), 'paths'],
    ['keys: a string', () => createRedactor({ keys: 'password' as never }), 'keys'],
    ['patterns: a string', () => createRedactor({ patterns: 'sk-' as never }), 'patterns'],
    ['censor: a number', () => createRedactor({ censor: 5 as never }), 'censor'],
    ['keepPrefix: a string', () => createRedactor({ keepPrefix: 'yes' as never }), 'keepPrefix'],
    ['maxDepth: a string', () => createRedactor({ maxDepth: '5' as never }), 'maxDepth'],
    [
      'maxStringLength: a string',
      () => createRedactor({ maxStringLength: '5' as never }),
      'maxStringLength',
    ],
  ],
}

for (const [factory, table] of Object.entries(rows)) {
  describe(`${factory} names an unknown key and each wrong-typed option`, () => {
    it.each(table)('%s', (_label, build, field) => {
      expect(invalidField(build)).toBe(field)
    })
  })
}
