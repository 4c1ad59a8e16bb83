/**
 * Authorization values: `authorization=` (logfmt, a query) censors its value only; an inspected
 * header object (`'x-api-key': '…'`) and a JSON document inside a JSON string (`\\"password\\":`)
 * are censored too.
 */
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { redact } from '../src/redact.js'

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
