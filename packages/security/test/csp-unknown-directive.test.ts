/**
 * CSP directive names: a name that is no CSP directive (a typo such as `scriptSrcc` or
 * `img-scr`) is refused at construction with the directive in the field path, since browsers
 * ignore it and the resource type silently falls back to `default-src`. Every real directive,
 * deprecated ones included, still builds.
 */
import { InvalidOptionsError } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { compileCsp, contentSecurityPolicy } from '../src/csp.js'
import { KNOWN_CSP_DIRECTIVES } from '../src/csp-directive-names.js'
import { nextAppRouterCsp } from '../src/csp-next.js'
import { securityHeaders } from '../src/headers.js'

function refusal(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (e) {
    if (e instanceof InvalidOptionsError) return e
    throw e
  }
  throw new Error('expected InvalidOptionsError, nothing was thrown')
}

function header(options: unknown): string {
  let value = ''
  compileCsp(options, 'csp').apply({
    state: {},
    headersSent: false,
    setHeader: (_name: string, v: string) => {
      value = v
    },
  } as never)
  return value
}

describe('unknown CSP directive names', () => {
  it.each([
    [
      () => contentSecurityPolicy({ directives: { scriptSrcc: ["'self'"] } }),
      'directives.scriptSrcc',
    ],
    [() => contentSecurityPolicy({ directives: { 'img-scr': ["'self'"] } }), 'directives.img-scr'],
    [
      () =>
        securityHeaders({ contentSecurityPolicy: { directives: { frameAncestor: ["'none'"] } } }),
      'contentSecurityPolicy.directives.frameAncestor',
    ],
    [() => contentSecurityPolicy({ directives: { reportUrl: '/csp' } }), 'directives.reportUrl'],
    [() => nextAppRouterCsp({ directives: { connectSrcc: ["'self'"] } }), 'directives.connectSrcc'],
  ])('are refused, naming the directive (%#)', (make, field) => {
    expect(refusal(make).field).toBe(field)
  })

  it('are refused even when the value is null (dropping a directive that does not exist)', () => {
    expect(
      refusal(() => contentSecurityPolicy({ directives: { upgradeInsecureRequest: null } })).field
    ).toBe('directives.upgradeInsecureRequest')
  })

  it('hint at the directive a name differs from only by case or dashes', () => {
    const error = refusal(() => contentSecurityPolicy({ directives: { scriptsrc: ["'self'"] } }))
    expect(error.field).toBe('directives.scriptsrc')
    expect(error.message).toContain('did you mean `script-src`')
  })

  it('accepts every known directive, deprecated ones included', () => {
    const directives = Object.fromEntries(KNOWN_CSP_DIRECTIVES.map((name) => [name, []]))
    const value = header({ useDefaults: false, directives })
    expect(value.split(';')).toEqual(KNOWN_CSP_DIRECTIVES)
    // camelCase forms too, as helmet takes them.
    expect(
      header({ directives: { blockAllMixedContent: [], requireTrustedTypesFor: ["'script'"] } })
    ).toContain("block-all-mixed-content;require-trusted-types-for 'script'")
  })
})
