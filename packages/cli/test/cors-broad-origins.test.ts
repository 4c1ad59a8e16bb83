/**
 * The `cors` item flags origins that let in sites the app does not own:
 * - with credentials, every tenant of a shared hosting domain: anyone can publish a site there and
 *   read the app's users' data. A wildcard (`https://*.vercel.app`, `*.github.io`) FAILs: cors()
 *   itself refuses it then, the app would not start; a RegExp matching any subdomain there WARNs
 *   (cors() accepts it);
 * - a RegExp with an unescaped `.` in a host name (`/https:\/\/app.example.com/`), which matches
 *   any character: look-alike domains such as `appxexample.com` anyone can register.
 * Exact origins, the app's own domain, and escaped dots still PASS.
 */
import { describe, expect, it } from 'vitest'
import { compileOrigin } from '../../security/src/cors-origin.js'
import { runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const corsItem = (origin: unknown, credentials = true) =>
  runDoctor({
    env: GOOD_ENV,
    config: { ...GOOD_CONFIG, cors: { origin, credentials } },
  }).items.find((i) => i.id === 'cors')

/** What cors() itself lets in (it accepts the option: the app starts). */
const corsAllows = (origin: unknown, candidate: string) => {
  const matcher = compileOrigin(origin, true)
  return matcher.kind === 'list' && matcher.test(candidate)
}

describe('cors: every tenant of a shared hosting domain, with credentials', () => {
  it.each([
    ['https://*.vercel.app', 'https://attacker.vercel.app', 'vercel.app'],
    ['HTTPS://*.GitHub.io', 'https://attacker.github.io', 'github.io'],
    ['https://*.netlify.app:443', 'https://attacker.netlify.app', 'netlify.app'],
  ])('FAILs %s (cors() refuses it with credentials)', (origin, foreign, suffix) => {
    expect(() => compileOrigin([origin], true)).toThrow(/register or host/)
    // Without credentials cors() takes it, and it lets in every tenant.
    const open = compileOrigin([origin], false)
    expect(open.kind === 'list' && open.test(foreign)).toBe(true)
    const found = corsItem(['https://app.example.com', origin])
    expect(found?.status).toBe('FAIL')
    expect(found?.detail).toContain(`every site on ${suffix}`)
  })

  it('FAILs a wildcard over a country-code registry with credentials (cors() refuses it)', () => {
    const found = corsItem(['https://*.co.uk'])
    expect(found?.status).toBe('FAIL')
    expect(found?.detail).toContain('cors() refuses this at startup')
    expect(found?.fix).toContain('a domain that is yours')
  })

  it('WARNs a RegExp letting in any subdomain of one', () => {
    const origin = /https:\/\/[a-z0-9-]+\.vercel\.app/
    expect(corsAllows(origin, 'https://attacker.vercel.app')).toBe(true)
    expect(corsItem(origin)?.status).toBe('WARN')
  })

  it.each([
    ['an exact deployment', ['https://my-app.vercel.app']],
    ["the app's own subdomains", ['https://*.example.com']],
    ["a tenant's own subdomains", ['https://*.my-app.vercel.app']],
    ['a RegExp for named deployments', /https:\/\/my-app(?:-git-[a-z0-9-]+)?\.vercel\.app/],
  ])('PASSes %s', (_, origin) => {
    expect(corsItem(origin)?.status).toBe('PASS')
  })

  it('PASSes a shared hosting wildcard without credentials (no user data to read)', () => {
    expect(corsItem(['https://*.vercel.app'], false)?.status).toBe('PASS')
  })
})

describe('cors: a RegExp with an unescaped dot in a host name', () => {
  it.each([
    /https:\/\/app.example\.com/,
    /https:\/\/(?:app|admin).example\.com/,
    /https:\/\/[a-z]+.example\.com/,
  ])('WARNs %s (it lets in look-alike domains)', (origin) => {
    expect(corsAllows(origin, 'https://appxexample.com')).toBe(true)
    const found = corsItem(origin, false)
    expect(found?.status).toBe('WARN')
    expect(found?.detail).toContain("unescaped '.'")
  })

  it.each([
    /https:\/\/app\.example\.com/,
    /https:\/\/[a-z.]+\.example\.com/,
    /https:\/\/(?:[a-z0-9-]+\.)?example\.com(?::\d+)?/,
  ])('PASSes %s', (origin) => {
    expect(corsAllows(origin, 'https://appxexample.com')).toBe(false)
    expect(corsItem(origin)?.status).toBe('PASS')
  })
})
