/**
 * `securityHeaders()` validates its options as helmet 8.3 does, compared with the real helmet
 * running next to ours:
 * - a header that takes no options, given some, only warns (a process warning here, where helmet
 *   `console.warn`s) and is still sent;
 * - `strictTransportSecurity.maxAge: null`, `referrerPolicy.policy: null` and a non-string `xFrameOptions.action` throw;
 * - a CSP directive value may be any iterable (a `Set`), giving the same policy.
 */
import helmet from 'helmet'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { resolveSecurityHeaders, type SecurityHeadersOptions } from '../src/headers.js'

type Outcome = { threw: true } | { threw: false; headers: Record<string, string> }

function viaHelmet(options: unknown): Outcome {
  const headers: Record<string, string> = {}
  const warn = console.warn
  console.warn = () => {}
  try {
    const mw = helmet(options as never)
    const res = {
      setHeader: (k: string, v: string) => {
        headers[k.toLowerCase()] = v
      },
      removeHeader() {},
    }
    let failed = false
    mw({} as never, res as never, (e?: unknown) => {
      if (e !== undefined) failed = true
    })
    return failed ? { threw: true } : { threw: false, headers }
  } catch {
    return { threw: true }
  } finally {
    console.warn = warn
  }
}

function viaOurs(options: unknown): Outcome {
  try {
    const r = resolveSecurityHeaders(options as SecurityHeadersOptions)
    const headers: Record<string, string> = {}
    for (const [k, v] of r.headers) headers[k.toLowerCase()] = v
    if (r.csp?.staticValue !== undefined) {
      headers[r.csp.headerName.toLowerCase()] = r.csp.staticValue
    }
    return { threw: false, headers }
  } catch {
    return { threw: true }
  }
}

describe('securityHeaders option validation matches helmet 8.3', () => {
  let warnings: { message: string; code: string | undefined }[]
  beforeEach(() => {
    warnings = []
    vi.spyOn(process, 'emitWarning').mockImplementation(((
      message: string | Error,
      options?: { code?: string }
    ) => {
      warnings.push({ message: String(message), code: options?.code })
    }) as never)
  })
  afterEach(() => vi.restoreAllMocks())

  it.each([
    ['originAgentCluster', {}, 'Origin-Agent-Cluster'],
    ['originAgentCluster', 'yes', 'Origin-Agent-Cluster'],
    ['xContentTypeOptions', {}, 'X-Content-Type-Options'],
    ['xDownloadOptions', { on: 1 }, 'X-Download-Options'],
    ['xXssProtection', 1, 'X-XSS-Protection'],
  ])('%s: %j only warns and still sends the header, as helmet does', (key, value, header) => {
    const options = { [key]: value }
    const theirs = viaHelmet(options)
    expect(theirs.threw).toBe(false)
    expect(viaOurs(options)).toEqual(theirs)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.code).toBe('AIKIT_SECURITY_HEADER_OPTIONS')
    expect(warnings[0]?.message).toContain(`${header} does not take options`)
  })

  it('xPoweredBy: an options object warns and still removes X-Powered-By', () => {
    expect(resolveSecurityHeaders({ xPoweredBy: {} as never }).removePoweredBy).toBe(true)
    expect(warnings.map((w) => w.code)).toEqual(['AIKIT_SECURITY_HEADER_OPTIONS'])
  })

  it('does not warn for true, false or an absent flag', () => {
    resolveSecurityHeaders({ originAgentCluster: true, xXssProtection: false })
    expect(warnings).toEqual([])
  })

  it.each([
    ['strictTransportSecurity.maxAge: null', { strictTransportSecurity: { maxAge: null } }],
    ['strictTransportSecurity.maxAge: a string', { strictTransportSecurity: { maxAge: '5' } }],
    ["xFrameOptions.action: ['deny']", { xFrameOptions: { action: ['deny'] } }],
    ['xFrameOptions.action: null', { xFrameOptions: { action: null } }],
    ['referrerPolicy.policy: null', { referrerPolicy: { policy: null } }],
  ])('refuses %s, as helmet does', (_name, options) => {
    expect(viaHelmet(options).threw).toBe(true)
    expect(viaOurs(options).threw).toBe(true)
  })

  it('names the field of a refused maxAge or action', () => {
    expect(() =>
      resolveSecurityHeaders({ strictTransportSecurity: { maxAge: null as never } })
    ).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'strictTransportSecurity.maxAge' })
    )
    expect(() => resolveSecurityHeaders({ xFrameOptions: { action: ['deny'] as never } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'xFrameOptions.action' })
    )
    expect(() => resolveSecurityHeaders({ referrerPolicy: { policy: null as never } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'referrerPolicy.policy' })
    )
  })

  it('accepts a Set as a CSP directive value (helmet takes any iterable) and sends the same policy', () => {
    const options = {
      contentSecurityPolicy: {
        directives: { scriptSrc: new Set(["'self'", 'https://cdn.example']) },
      },
    }
    const theirs = viaHelmet(options)
    expect(theirs.threw).toBe(false)
    expect(viaOurs(options)).toEqual(theirs)
  })

  it('reads any other iterable once, at construction, and validates its items', () => {
    function* sources() {
      yield "'self'"
      yield 'https://cdn.example'
    }
    const ours = viaOurs({ contentSecurityPolicy: { directives: { imgSrc: sources() } } })
    expect(ours.threw).toBe(false)
    if (!ours.threw) {
      expect(ours.headers['content-security-policy']).toContain(
        "img-src 'self' https://cdn.example;"
      )
    }
    expect(() =>
      resolveSecurityHeaders({
        contentSecurityPolicy: { directives: { scriptSrc: new Set(['self']) } },
      })
    ).toThrow(expect.objectContaining({ field: 'contentSecurityPolicy.directives.scriptSrc[0]' }))
    expect(() =>
      resolveSecurityHeaders({ contentSecurityPolicy: { directives: { scriptSrc: 5 as never } } })
    ).toThrow(expect.objectContaining({ field: 'contentSecurityPolicy.directives.scriptSrc' }))
  })
})
