/**
 * A `Buffer` or `Uint8Array` in a logged object often holds text: a request body an HTTP client
 * error carries, a chunk read from a socket. A JSON logger writes a Buffer as
 * `{"type":"Buffer","data":[…]}` and a Uint8Array as its bytes by index, util.inspect as hex: a key
 * in it is there, a decode away. Bytes that are valid UTF-8 are scanned as the text they hold; when
 * something is censored the copy is the redacted text's bytes, of the same class. Bytes that are
 * not text (an image, a hash) are left as they are, and so are the other typed arrays.
 */
import { describe, expect, it } from 'vitest'
import { createRedactor, redact } from '../src/redact.js'

const KEY = `sk-ant-api03-${'a1B2c3D4e5'.repeat(9)}xyzAA`
const SECRET = 'q9W8e7R6t5Y4u3I2'
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

describe('redact: bytes holding text', () => {
  it('censors a key inside a Buffer holding a JSON request body', () => {
    const body = Buffer.from(JSON.stringify({ api_key: SECRET, model: 'm', note: `use ${KEY}` }))
    const out = redact({ config: { data: body } }) as { config: { data: Buffer } }
    expect(Buffer.isBuffer(out.config.data)).toBe(true)
    expect(text(out.config.data)).toBe(
      '{"api_key":"[redacted]","model":"m","note":"use sk-ant-[redacted]"}'
    )
    expect(JSON.stringify(out)).not.toContain(JSON.stringify([...Buffer.from(SECRET)]).slice(1, -1))
    expect(text(body)).toContain(SECRET) // the original is left as it was
  })

  it('censors an Authorization line inside a Uint8Array, keeping its class', () => {
    const bytes = new TextEncoder().encode(
      `GET / HTTP/1.1\r\nAuthorization: Bearer ${SECRET}\r\n\r\n`
    )
    const out = redact({ chunk: bytes }) as { chunk: Uint8Array }
    expect(out.chunk).toBeInstanceOf(Uint8Array)
    expect(Buffer.isBuffer(out.chunk)).toBe(false)
    expect(text(out.chunk)).not.toContain(SECRET)
    expect(text(out.chunk)).toContain('Authorization: Bearer [redacted]')
  })

  it('returns bytes without a secret, and bytes that are not UTF-8 text, as they are', () => {
    const clean = Buffer.from('{"model":"m","messages":[]}')
    const binary = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from(KEY)])
    const log = { clean, binary, words: new Uint16Array([1, 2, 3]) }
    expect(redact(log)).toBe(log)
  })

  it('does not scan bytes when patterns are off', () => {
    const r = createRedactor({ patterns: false })
    const log = { body: Buffer.from(`key ${KEY}`) }
    expect(r(log)).toBe(log)
  })
})
