/** A configured Unicode host matches the punycode origin browsers send; the usual edges hold. */
import { describe, expect, it } from 'vitest'
import { compileOrigin } from '../src/cors-origin.js'

/** The matcher of an origin list (throws when the option did not compile to one). */
function list(origin: unknown): (origin: string) => boolean {
  const m = compileOrigin(origin, false)
  if (m.kind !== 'list') throw new Error('not list')
  return m.test
}

describe('cors origin matching', () => {
  it('normalises case, default ports, and rejects suffix attacks', () => {
    const t = list(['https://App.Example.com:443', 'https://*.example.org', 'http://x.test:80'])
    expect(t('HTTPS://app.example.COM')).toBe(true)
    expect(t('https://app.example.com:443')).toBe(true)
    expect(t('http://x.test')).toBe(true)
    expect(t('https://a.b.example.org')).toBe(true)
    expect(t('https://evil-example.org')).toBe(false)
    expect(t('https://example.org')).toBe(false)
    expect(t('https://a.example.org.evil.com')).toBe(false)
    expect(t('https://app.example.com.evil.com')).toBe(false)
    expect(t('http://app.example.com')).toBe(false)
    expect(t('https://a.example.org:8443')).toBe(false)
    expect(t('null')).toBe(false)
    expect(t('https://app.example.com/')).toBe(false)
  })

  it('accepts a configured Unicode host and matches the punycode origin browsers send', () => {
    // Browsers serialise https://bücher.example as https://xn--bcher-kva.example
    const t = list(['https://bücher.example', 'https://*.bücher.example:8443'])
    expect(t('https://xn--bcher-kva.example')).toBe(true)
    expect(t('https://shop.xn--bcher-kva.example:8443')).toBe(true)
    expect(t('https://xn--bcher-kva.example:8443')).toBe(false)
    expect(t('https://bcher.example')).toBe(false)
  })

  it('a Unicode entry with a path is still refused', () => {
    expect(() => compileOrigin(['https://bücher.example/shop'], false)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' })
    )
    expect(() => compileOrigin(['https://bücher.example/'], false)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' })
    )
  })
})

describe('cors entries a browser could never match, or too wide', () => {
  it('a port written with leading zeros matches the port browsers send', () => {
    const t = list([
      'https://a.example:0443',
      'https://b.example:08080',
      'https://*.c.example:08443',
    ])
    expect(t('https://a.example')).toBe(true)
    expect(t('https://b.example:8080')).toBe(true)
    expect(t('https://x.c.example:8443')).toBe(true)
  })

  it('a RegExp naming a host with capitals matches its (lower-case) origin', () => {
    const t = list([/https:\/\/App\.Example\.com/])
    expect(t('https://app.example.com')).toBe(true)
    expect(t('https://APP.example.com')).toBe(true)
    expect(t('https://app.example.com.evil.test')).toBe(false)
  })

  it('a wildcard over a whole top-level domain is refused', () => {
    expect(() => compileOrigin(['https://*.com'], false)).toThrow(
      expect.objectContaining({ field: 'origin[0]' })
    )
    expect(list(['https://*.example.com'])('https://a.example.com')).toBe(true)
  })
})
