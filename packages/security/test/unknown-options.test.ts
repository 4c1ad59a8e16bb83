/**
 * Unknown option keys: every public factory of the headers, CSP, CORS, CSRF, body-limit and
 * validate middleware refuses a key it does not know (a typo would otherwise leave a security
 * setting at its default without a word), naming the field and the key it probably meant, and
 * still accepts every documented option.
 */
import { InvalidOptionsError } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { bodyLimit } from '../src/body-limit.js'
import { cors } from '../src/cors.js'
import { contentSecurityPolicy } from '../src/csp.js'
import { nextAppRouterCsp } from '../src/csp-next.js'
import { cspReportHandler } from '../src/csp-report.js'
import { csrf } from '../src/csrf.js'
import { resolveSecurityHeaders, securityHeaders } from '../src/headers.js'
import { validate } from '../src/validate.js'

const SECRET = 's'.repeat(32)
const TOKEN = { secrets: [SECRET], sessionId: () => 'session' }
const onReport = (): void => {}

function refusal(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (e) {
    if (e instanceof InvalidOptionsError) return e
    throw e
  }
  throw new Error('expected InvalidOptionsError, nothing was thrown')
}

describe('a misspelt option key is refused with its field and a hint', () => {
  it.each([
    {
      factory: 'securityHeaders',
      field: 'contentSecurityPolicys',
      hint: 'contentSecurityPolicy',
      make: () => securityHeaders({ contentSecurityPolicys: false } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'xFrameOptions.acton',
      hint: 'xFrameOptions.action',
      make: () => securityHeaders({ xFrameOptions: { acton: 'deny' } } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'strictTransportSecurity.preLoad',
      hint: 'strictTransportSecurity.preload',
      make: () =>
        securityHeaders({ strictTransportSecurity: { maxAge: 60, preLoad: true } } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'strictTransportSecurity.maxage',
      hint: 'strictTransportSecurity.maxAge',
      make: () => securityHeaders({ strictTransportSecurity: { maxage: 60 } } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'strictTransportSecurity.includeSubdomains',
      hint: 'strictTransportSecurity.includeSubDomains',
      make: () =>
        securityHeaders({ strictTransportSecurity: { includeSubdomains: false } } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'crossOriginEmbedderPolicy.polcy',
      hint: 'crossOriginEmbedderPolicy.policy',
      make: () =>
        securityHeaders({ crossOriginEmbedderPolicy: { polcy: 'credentialless' } } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'crossOriginOpenerPolicy.polici',
      hint: 'crossOriginOpenerPolicy.policy',
      make: () => securityHeaders({ crossOriginOpenerPolicy: { polici: 'unsafe-none' } } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'crossOriginResourcePolicy.Policy',
      hint: 'crossOriginResourcePolicy.policy',
      make: () => securityHeaders({ crossOriginResourcePolicy: { Policy: 'same-site' } } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'referrerPolicy.polices',
      hint: 'referrerPolicy.policy',
      make: () => securityHeaders({ referrerPolicy: { polices: 'origin' } } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'xDnsPrefetchControl.allows',
      hint: 'xDnsPrefetchControl.allow',
      make: () => securityHeaders({ xDnsPrefetchControl: { allows: true } } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'xPermittedCrossDomainPolicies.permitedPolicies',
      hint: 'xPermittedCrossDomainPolicies.permittedPolicies',
      make: () =>
        securityHeaders({ xPermittedCrossDomainPolicies: { permitedPolicies: 'all' } } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'permissionsPolicy.feature',
      hint: 'permissionsPolicy.features',
      make: () => securityHeaders({ permissionsPolicy: { feature: { camera: [] } } } as never),
    },
    {
      factory: 'securityHeaders',
      field: 'contentSecurityPolicy.reportonly',
      hint: 'contentSecurityPolicy.reportOnly',
      make: () => securityHeaders({ contentSecurityPolicy: { reportonly: true } } as never),
    },
    {
      factory: 'contentSecurityPolicy',
      field: 'useDefault',
      hint: 'useDefaults',
      make: () => contentSecurityPolicy({ useDefault: false } as never),
    },
    {
      factory: 'nextAppRouterCsp',
      field: 'reportonly',
      hint: 'reportOnly',
      make: () => nextAppRouterCsp({ reportonly: true } as never),
    },
    {
      factory: 'cspReportHandler',
      field: 'maxbytes',
      hint: 'maxBytes',
      make: () => cspReportHandler({ onReport, maxbytes: 100 } as never),
    },
    {
      factory: 'cors',
      field: 'credential',
      hint: 'credentials',
      make: () => cors({ origin: 'https://a.example', credential: true } as never),
    },
    {
      factory: 'cors',
      field: 'exposeHeaders',
      hint: 'exposedHeaders',
      make: () => cors({ origin: 'https://a.example', exposeHeaders: ['x-id'] } as never),
    },
    {
      factory: 'csrf',
      field: 'trustedOrigin',
      hint: 'trustedOrigins',
      make: () => csrf({ trustedOrigin: ['https://sso.example'] } as never),
    },
    {
      factory: 'csrf',
      field: 'token.cookiename',
      hint: 'token.cookieName',
      make: () => csrf({ token: { ...TOKEN, cookiename: '__Host-x' } } as never),
    },
    {
      factory: 'bodyLimit',
      field: 'maxbytes',
      hint: 'maxBytes',
      make: () => bodyLimit({ maxbytes: 10 } as never),
    },
    {
      factory: 'bodyLimit',
      field: 'timeoutMS',
      hint: 'timeoutMs',
      make: () => bodyLimit({ timeoutMS: 10 } as never),
    },
    {
      factory: 'validate',
      field: 'maxissues',
      hint: 'maxIssues',
      make: () => validate({ body: z.object({}), maxissues: 3 } as never),
    },
  ])('$factory refuses `$field`, hinting `$hint`', ({ make, field, hint }) => {
    const error = refusal(make)
    expect(error.field).toBe(field)
    expect(error.message).toContain(`did you mean \`${hint}\``)
  })

  it('refuses an unknown key whose value is undefined (still a typo)', () => {
    expect(refusal(() => bodyLimit({ maxbytes: undefined } as never)).field).toBe('maxbytes')
    expect(refusal(() => cors({ origin: '*', credential: undefined } as never)).field).toBe(
      'credential'
    )
  })

  it('refuses options other libraries take that these factories do not', () => {
    // expressjs/cors and @fastify/cors, body-parser: their behaviour is not offered here.
    expect(refusal(() => cors({ origin: '*', preflightContinue: true } as never)).field).toBe(
      'preflightContinue'
    )
    expect(refusal(() => cors({ origin: '*', optionsSuccessStatus: 200 } as never)).field).toBe(
      'optionsSuccessStatus'
    )
    expect(refusal(() => bodyLimit({ limit: '1mb' } as never)).field).toBe('limit')
    expect(refusal(() => validate({ query: z.object({}), strict: true } as never)).field).toBe(
      'strict'
    )
  })

  it("still refuses helmet's legacy aliases with the name to use", () => {
    const error = refusal(() => securityHeaders({ noSniff: true } as never))
    expect(error.field).toBe('noSniff')
    expect(error.message).toContain('xContentTypeOptions')
  })

  it('does not look inside the schemas given to validate() (they are the app data model)', () => {
    const mw = validate({
      body: z.object({ maxbytes: z.number(), preflightContinue: z.boolean() }),
      query: z.object({ anything: z.string().optional() }),
      params: z.object({ id: z.string() }),
    })
    expect(typeof mw).toBe('function')
  })
})

describe('every documented option is still accepted', () => {
  it('securityHeaders: every header key, each with every key of its options', () => {
    const { headers, csp, removePoweredBy } = resolveSecurityHeaders({
      contentSecurityPolicy: {
        directives: { imgSrc: ["'self'", 'https://cdn.example'] },
        useDefaults: true,
        reportOnly: true,
        nonce: ['script-src'],
      },
      crossOriginEmbedderPolicy: { policy: 'credentialless' },
      crossOriginOpenerPolicy: { policy: 'same-origin-allow-popups' },
      crossOriginResourcePolicy: { policy: 'same-site' },
      originAgentCluster: true,
      referrerPolicy: { policy: ['origin', 'strict-origin'] },
      strictTransportSecurity: { maxAge: 60, includeSubDomains: false, preload: true },
      xContentTypeOptions: true,
      xDnsPrefetchControl: { allow: true },
      xDownloadOptions: true,
      xFrameOptions: { action: 'deny' },
      xPermittedCrossDomainPolicies: { permittedPolicies: 'master-only' },
      xPoweredBy: false,
      xXssProtection: true,
      permissionsPolicy: { features: { camera: ['self'] }, useDefaults: false },
    })
    expect(Object.fromEntries(headers)).toEqual({
      'Cross-Origin-Embedder-Policy': 'credentialless',
      'Cross-Origin-Opener-Policy': 'same-origin-allow-popups',
      'Cross-Origin-Resource-Policy': 'same-site',
      'Origin-Agent-Cluster': '?1',
      'Referrer-Policy': 'origin,strict-origin',
      'Strict-Transport-Security': 'max-age=60; preload',
      'X-Content-Type-Options': 'nosniff',
      'X-DNS-Prefetch-Control': 'on',
      'X-Download-Options': 'noopen',
      'X-Frame-Options': 'DENY',
      'X-Permitted-Cross-Domain-Policies': 'master-only',
      'X-XSS-Protection': '0',
      'Permissions-Policy': 'camera=(self)',
    })
    expect(csp?.headerName).toBe('Content-Security-Policy-Report-Only')
    expect(removePoweredBy).toBe(false)
  })

  it('contentSecurityPolicy, nextAppRouterCsp and cspReportHandler', () => {
    expect(
      typeof contentSecurityPolicy({
        directives: { scriptSrc: ["'self'"] },
        useDefaults: true,
        reportOnly: false,
        nonce: true,
      })
    ).toBe('function')
    const next = nextAppRouterCsp({
      dev: true,
      directives: { imgSrc: ["'self'"] },
      reportOnly: true,
    })
    expect(next.reportOnly).toBe(true)
    expect(typeof contentSecurityPolicy(next)).toBe('function')
    expect(typeof cspReportHandler({ onReport, maxBytes: 1024, path: '/csp', maxReports: 5 })).toBe(
      'function'
    )
  })

  it('cors, csrf (with every token option), bodyLimit and validate', () => {
    expect(
      typeof cors({
        origin: ['https://app.example'],
        credentials: true,
        methods: ['GET', 'POST'],
        allowedHeaders: ['content-type'],
        exposedHeaders: ['x-request-id'],
        maxAge: 60,
      })
    ).toBe('function')
    expect(
      typeof csrf({
        trustedOrigins: ['https://sso.example'],
        origin: 'https://app.example',
        strictCookies: true,
        token: {
          secrets: [SECRET],
          sessionId: () => 'session',
          cookieName: '__Host-csrf',
          headerName: 'x-csrf',
          httpOnly: false,
        },
        skip: () => false,
      })
    ).toBe('function')
    expect(
      typeof bodyLimit({
        maxBytes: '64kb',
        maxDepth: 16,
        decompress: true,
        timeoutMs: 5000,
        allowEncodings: ['zstd'],
        requireJson: true,
      })
    ).toBe('function')
    expect(
      typeof validate({
        body: z.object({ a: z.string() }),
        query: z.object({ q: z.string().optional() }),
        params: z.object({ id: z.string() }),
        getParams: () => ({ id: '1' }),
        maxIssues: 5,
        maxQueryParams: 50,
      })
    ).toBe('function')
  })
})
