/**
 * Credentials given as lists rather than keyed objects: Node's `req.rawHeaders`
 * (`[name, value, name, value, …]`), `[name, value]` pairs (`Object.entries`, a `Headers`'
 * entries), argument vectors, and `{ name, value }` records (HAR / undici request dumps,
 * Kubernetes env entries). A string naming a credential censors the value that goes with it.
 */
import { describe, expect, it } from 'vitest'
import { createRedactor, redact } from '../src/redact.js'

const SECRET = 'Zq7Secr3tValue9x'
const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v))

describe('raw header arrays and [name, value] pairs', () => {
  const raw = [
    'Host',
    'api.example.com',
    'Authorization',
    `Basic ${Buffer.from(`alice:${SECRET}`).toString('base64').replace(/=+$/, '')}`,
    'Cookie',
    `sid=${SECRET}`,
    'X-Api-Key',
    `key-${SECRET}`,
    'Proxy-Authorization',
    `Basic ${SECRET}`,
  ]

  it('censors the value that follows a credential header name in a raw header array', () => {
    const out = redact({ rawHeaders: raw }) as { rawHeaders: string[] }
    expect(out.rawHeaders).toEqual([
      'Host',
      'api.example.com',
      'Authorization',
      '[redacted]',
      'Cookie',
      '[redacted]',
      'X-Api-Key',
      '[redacted]',
      'Proxy-Authorization',
      '[redacted]',
    ])
    expect(raw[5]).toBe(`sid=${SECRET}`) // the input is not mutated
  })

  it('censors credential headers given as [name, value] pairs (Headers entries)', () => {
    const headers = [...new Headers({ authorization: `Token ${SECRET}`, accept: '*/*' })]
    expect(redact({ headers })).toEqual({
      headers: [
        ['accept', '*/*'],
        ['authorization', '[redacted]'],
      ],
    })
  })

  it('censors the value after a credential flag in an argument vector', () => {
    expect(redact(['node', '--password', SECRET, '--port', '3000'])).toEqual([
      'node',
      '--password',
      '[redacted]',
      '--port',
      '3000',
    ])
  })

  it('does not take a censored value for a name (the item after it is kept)', () => {
    expect(redact(['Authorization', 'password', 'Host', 'h'])).toEqual([
      'Authorization',
      '[redacted]',
      'Host',
      'h',
    ])
  })

  it('leaves arrays without credential names as the same reference', () => {
    const tags = ['email', 'password']
    expect(redact(tags)).toBe(tags)
  })
})

describe('{ name, value } records', () => {
  it('censors the value of a header record whose name is a credential header', () => {
    const out = redact({
      request: {
        headers: [
          { name: 'Accept', value: 'application/json' },
          { name: 'Authorization', value: `Token ${SECRET}` },
          { name: 'Cookie', value: `sid=${SECRET}` },
        ],
      },
    })
    expect(out).toEqual({
      request: {
        headers: [
          { name: 'Accept', value: 'application/json' },
          { name: 'Authorization', value: '[redacted]' },
          { name: 'Cookie', value: '[redacted]' },
        ],
      },
    })
  })

  it('censors an environment entry named like a credential, and { Key, Value } tags', () => {
    const out = redact({
      env: [
        { name: 'DB_PASSWORD', value: SECRET },
        { name: 'PORT', value: '8080' },
      ],
      tags: [{ Key: 'api_key', Value: SECRET }],
      cache: { key: 'user:1', value: 'kept' },
    })
    expect(text(out)).not.toContain(SECRET)
    expect(out).toMatchObject({ env: [{}, { value: '8080' }], cache: { value: 'kept' } })
  })

  it('keys: false turns the names off here too', () => {
    const r = createRedactor({ keys: false, patterns: false })
    const input = { raw: ['Authorization', 'x'], rec: { name: 'password', value: 'v' } }
    expect(r(input)).toBe(input)
  })
})
