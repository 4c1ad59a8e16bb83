/**
 * Authorization values: `authorization=` (logfmt, a query) censors its value only; an inspected
 * header object (`'x-api-key': '…'`) and a JSON document inside a JSON string (`\\"password\\":`)
 * are censored too.
 */
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { redact } from '../src/redact.js'

const SECRET = 'Zq7Secr3tValue9x'
const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v))

describe('authorization as a parameter', () => {
  it('keeps the logfmt fields after authorization=', () => {
    const line = 'level=info authorization=abc123 user=bob status=200 path=/v1/chat'
    expect(redact(line)).toBe(
      'level=info authorization=[redacted] user=bob status=200 path=/v1/chat'
    )
  })

  it('keeps the query parameters after authorization=', () => {
    const url = 'https://api.example.com/v1/stream?authorization=abc123&user=42&trace=t-9'
    expect(redact(url)).toBe(
      'https://api.example.com/v1/stream?authorization=[redacted]&user=42&trace=t-9'
    )
  })
})

describe('util.inspect header dumps', () => {
  const headers = {
    ':method': 'POST',
    ':authority': 'api.example.com',
    'x-api-key': 'abcdEFGH1234',
    'proxy-authorization': 'Basic dXNlcjpwYXNz',
  }

  it('censors x-api-key and proxy-authorization in an inspected header object', () => {
    const out = redact(`upstream failed, headers: ${inspect(headers)}`) as string
    expect(out).not.toContain('abcdEFGH1234')
    expect(out).not.toContain('dXNlcjpwYXNz')
  })
})

describe('JSON text with escaped quotes (a JSON document held in a JSON string)', () => {
  it('censors "password" and "authorization" members of an escaped JSON document', () => {
    // e.g. an upstream error whose body (JSON) was embedded in a JSON log message
    const inner = JSON.stringify({ authorization: 'Basic dXNlcjpwYXNz', password: 'hunter2' })
    const text = JSON.stringify({ upstreamBody: inner })
    const out = redact(text) as string
    expect(out).not.toContain('dXNlcjpwYXNz')
    expect(out).not.toContain('hunter2')
  })
})

describe('Authorization credentials with parameters (Digest, whatever the scheme)', () => {
  // A Digest response is MD5(HA1:nonce:HA2): with the nonce next to it, an offline guess of the
  // password; the cnonce/nc pair also lets it be replayed while the nonce is valid.
  const RESPONSE = '6629fae49393a05397450978507c4ef1'
  const DIGEST =
    `Digest username="alice", realm="api@example.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ` +
    `uri="/v1/chat", qop=auth, nc=00000001, cnonce="0a4f113b", response="${RESPONSE}", ` +
    `opaque="5ccc069c403ebaf9f0171e9517f40e41"`

  it('censors every Digest parameter of an Authorization header line, keeping the next line', () => {
    const out = redact(`upstream 401, sent:\r\nAuthorization: ${DIGEST}\r\nHost: x`)
    expect(out).toBe('upstream 401, sent:\r\nAuthorization: Digest [redacted]\r\nHost: x')
  })

  it('censors the whole Digest credentials of a Proxy-Authorization header line', () => {
    expect(redact(`Proxy-Authorization: ${DIGEST}`)).toBe('Proxy-Authorization: Digest [redacted]')
  })

  it('censors the whole Digest credentials in an inspected header object', () => {
    const out = redact(`request headers: ${inspect({ authorization: DIGEST, host: 'h' })}`)
    expect(out).not.toContain(RESPONSE)
    expect(out).not.toContain('alice')
    expect(out).toContain("host: 'h'")
  })

  it('censors the whole Digest credentials in JSON text and leaves valid JSON', () => {
    const out = redact(`upstream said ${JSON.stringify({ authorization: DIGEST, keep: 1 })}`)
    expect(out).not.toContain(RESPONSE)
    expect(out).not.toContain('alice')
    expect(JSON.parse((out as string).slice('upstream said '.length))).toEqual({
      authorization: '[redacted]',
      keep: 1,
    })
  })

  it('censors the whole Digest credentials in a JSON document held in a JSON string', () => {
    const text = JSON.stringify({ body: JSON.stringify({ authorization: DIGEST, keep: 'k' }) })
    const out = redact(text) as string
    expect(out).not.toContain(RESPONSE)
    expect(out).not.toContain('alice')
    expect(JSON.parse(JSON.parse(out).body)).toEqual({ authorization: '[redacted]', keep: 'k' })
  })

  it('stops a Basic credential ending in = at the quote closing its JSON string', () => {
    const text = JSON.stringify({ msg: 'sent Authorization: Basic YWxhZGRpbjpvcGVu=', status: 401 })
    expect(redact(text)).toBe('{"msg":"sent Authorization: Basic [redacted]","status":401}')
  })

  it('censors a provider API-key header line (x-goog-api-key)', () => {
    expect(redact('x-goog-api-key: AbCdEf0123456789')).toBe('x-goog-api-key: [redacted]')
  })
})

describe('auth-header: every Digest / OAuth parameter is censored, whatever follows the header', () => {
  it.each([
    ['in parentheses', `(Authorization: Digest username="alice", response="${SECRET}")`],
    ['at the end of a sentence', `sent Authorization: Digest username="a", response="${SECRET}".`],
    ['before a semicolon', `Authorization: Digest username="a", response="${SECRET}"; retrying`],
    [
      'an OAuth 1.0a signature in brackets',
      `[Authorization: OAuth oauth_token="t1", oauth_signature="${SECRET}"]`,
    ],
  ])('censors the last quoted parameter of an Authorization header %s', (_label, line) => {
    expect(text(redact(line))).not.toContain(SECRET)
  })

  it('still stops a Basic value at the quote closing its JSON string', () => {
    const line = JSON.stringify({ msg: 'Authorization: Basic abc=', status: 401 })
    expect(redact(line)).toBe('{"msg":"Authorization: Basic [redacted]","status":401}')
  })
})

describe('cookie: an inspected header object', () => {
  it('censors the Set-Cookie values of util.inspect(res.getHeaders())', () => {
    // inspect quotes the key ('set-cookie'), as the auth-header names may be.
    const headers = { 'content-type': 'text/html', 'set-cookie': [`sid=${SECRET}; Path=/`] }
    const out = text(redact(`upstream headers: ${inspect(headers)}`))
    expect(out).not.toContain(SECRET)
    expect(out).toContain("'content-type': 'text/html'")
  })
})
