/**
 * The logger's redaction step fails closed. `@aikit/security`'s redactor never throws: when it
 * cannot walk a value (a throwing proxy trap, a getter) it returns the censor string instead of a
 * copy. The logger used to take any non-object answer for "nothing changed" and write the original
 * line, every secret in clear; it now writes the level, the timestamp and the censor.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { toNodeHandler } from '@aikit/adapters/node'
import { createLogger, requestLogger } from '@aikit/observability'
import { expect, it } from 'vitest'

// Built at run time so no source line holds it.
const KEY = `${'sk-ant-'}api03-${'AbCdEfGhIjKlMnOpQrStUvWx0123'}`

function sink() {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk))
      cb()
    },
  })
  return { stream, text: () => chunks.join('') }
}
const settle = () => new Promise<void>((r) => setTimeout(r, 50))

/**
 * A proxy (ORM / reactive-state objects are proxies) whose getPrototypeOf trap throws: the
 * redactor cannot walk it, and JSON.stringify (which does not call the trap) still writes it.
 */
const unwalkable = (): object =>
  new Proxy(
    { id: 1 },
    {
      getPrototypeOf() {
        throw new Error('detached')
      },
    }
  )

it('does not write a line unredacted when the redactor cannot walk part of it', async () => {
  const out = sink()
  const logger = createLogger({ stream: out.stream })
  // Nested deeper than error-fields.ts looks (4 levels), so only the redactor meets it.
  const proxy = unwalkable()
  logger.info('calling provider', {
    apiKey: KEY,
    note: `using key ${KEY}`,
    a: { b: { c: { d: { e: { f: proxy } } } } },
  })
  await settle()
  const text = out.text()
  expect(text).not.toContain(KEY)
  const line = JSON.parse(text.trim())
  expect(line).toEqual({ level: 'info', message: '[redacted]', timestamp: expect.any(String) })
  expect(Number.isNaN(Date.parse(line.timestamp))).toBe(false)
})

it('writes a line a working redactor walks as before', async () => {
  const out = sink()
  const logger = createLogger({ stream: out.stream })
  logger.info('calling provider', { apiKey: KEY, a: { b: { c: { d: { e: { f: { id: 1 } } } } } } })
  await settle()
  const line = JSON.parse(out.text().trim())
  expect(line).toMatchObject({ level: 'info', message: 'calling provider', apiKey: '[redacted]' })
  expect(line.a.b.c.d.e.f).toEqual({ id: 1 })
})

it("writes requestLogger's line censored, too, when the redactor cannot walk defaultMeta", async () => {
  const out = sink()
  const logger = createLogger({ stream: out.stream })
  const proxy = unwalkable()
  logger.defaultMeta = { apiKey: KEY, a: { b: { c: { d: { e: { f: proxy } } } } } }
  const server = createServer(
    toNodeHandler(requestLogger(logger), async (ctx) => {
      ctx.respond(200, 'ok')
    })
  )
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`)
    await res.text()
    await settle()
  } finally {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
  const text = out.text()
  expect(text).not.toContain(KEY)
  expect(JSON.parse(text.trim())).toEqual({
    level: 'info',
    message: '[redacted]',
    timestamp: expect.any(String),
  })
})
