/**
 * compress() through the adapter hook `ctx.transformBody`: the head-time decision for bodies the
 * framework writes itself, and the CodecTransform that compresses them. The adapters' real
 * servers are exercised in packages/adapters/test/compress.test.ts; here the hook is called
 * directly with a response head.
 */
import { createGunzip, gunzipSync } from 'node:zlib'
import type { Context } from '@aikit/core'
import type { BodyTransformFactory, ResponseHead } from '@aikit/core/adapter'
import { compress } from '@aikit/core/compress'
import { describe, expect, it } from 'vitest'
import { CodecTransform } from '../src/compress/codec-transform.js'

/** Runs compress() on a request with these headers and returns the factory it registered. */
async function registeredFactory(
  requestHeaders: Record<string, string>,
  method = 'GET',
  options: Parameters<typeof compress>[0] = {}
): Promise<{ factory: BodyTransformFactory | undefined; ctx: Context }> {
  let factory: BodyTransformFactory | undefined
  const pending: Record<string, string> = {}
  const ctx = {
    method,
    header: (name: string) => requestHeaders[name.toLowerCase()],
    setHeader: (name: string, value: string) => {
      pending[name.toLowerCase()] = value
    },
    appendHeader: (name: string, value: string) => {
      pending[name.toLowerCase()] = value
    },
    respond: () => {},
    transformBody: (f: BodyTransformFactory) => {
      factory = f
    },
  } as unknown as Context
  await compress(options)(ctx, async () => {})
  return { factory, ctx }
}

function head(
  status: number,
  headers: Record<string, string>
): ResponseHead & {
  headers: Record<string, string>
} {
  const h: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = v
  return {
    status,
    headers: h,
    getHeader: (name) => h[name.toLowerCase()],
    setHeader: (name, value) => {
      h[name.toLowerCase()] = value
    },
    removeHeader: (name) => {
      delete h[name.toLowerCase()]
    },
  }
}

const JSON_TYPE = { 'content-type': 'application/json' }

describe('compress() at head time (ctx.transformBody)', () => {
  it('compresses nothing for HEAD but adds the Vary: Accept-Encoding GET carries', async () => {
    const { factory } = await registeredFactory({ 'accept-encoding': 'gzip' }, 'HEAD')
    const h = head(200, { ...JSON_TYPE, 'content-length': '5000' })
    expect(factory!(h)).toBeUndefined()
    expect(h.headers).toEqual({
      'content-type': 'application/json',
      'content-length': '5000',
      vary: 'Accept-Encoding',
    })
  })

  it('compresses a JSON body: Content-Encoding set, Content-Length dropped, ETag weakened, Vary merged', async () => {
    const { factory } = await registeredFactory({ 'accept-encoding': 'gzip' })
    const h = head(200, { ...JSON_TYPE, 'content-length': '5000', etag: '"abc"', vary: 'Origin' })
    expect(factory!(h)).toBeInstanceOf(CodecTransform)
    expect(h.headers).toEqual({
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      etag: 'W/"abc"',
      vary: 'Origin, Accept-Encoding',
    })
  })

  it('compresses a body of unknown length (a stream) whatever its size', async () => {
    const { factory } = await registeredFactory({ 'accept-encoding': 'br' })
    const h = head(200, { 'content-type': 'text/event-stream' })
    expect(factory!(h)).toBeDefined()
    expect(h.headers['content-encoding']).toBe('br')
  })

  it.each([
    ['a body under the threshold', 200, { ...JSON_TYPE, 'content-length': '1023' }],
    ['an empty body', 200, { ...JSON_TYPE, 'content-length': '0' }],
    ['an image', 200, { 'content-type': 'image/png' }],
    ['an encoded body', 200, { ...JSON_TYPE, 'content-encoding': 'gzip' }],
    ['Cache-Control: no-transform', 200, { ...JSON_TYPE, 'cache-control': 'public, no-transform' }],
    ['a 204', 204, {}],
    ['a 304', 304, JSON_TYPE],
  ])('leaves %s alone', async (_label, status, headers) => {
    const { factory } = await registeredFactory({ 'accept-encoding': 'gzip' })
    const h = head(status, headers)
    const before = { ...h.headers }
    expect(factory!(h)).toBeUndefined()
    expect(h.headers['content-encoding']).toBe(before['content-encoding'])
    expect(h.headers['content-length']).toBe(before['content-length'])
  })

  it('adds Vary for an identity client but does not transform', async () => {
    const { factory } = await registeredFactory({})
    const h = head(200, JSON_TYPE)
    expect(factory!(h)).toBeUndefined()
    expect(h.headers.vary).toBe('Accept-Encoding')
  })

  it('leaves the body to the respond() path once respond() was called', async () => {
    const { factory, ctx } = await registeredFactory({ 'accept-encoding': 'gzip' })
    ctx.respond(200, 'x'.repeat(5000), { 'content-type': 'text/plain' })
    expect(factory!(head(200, { 'content-type': 'text/plain' }))).toBeUndefined()
  })

  it('honours no-transform set with ctx.setHeader', async () => {
    const { factory, ctx } = await registeredFactory({ 'accept-encoding': 'gzip' })
    ctx.setHeader('Cache-Control', 'no-transform')
    expect(factory!(head(200, JSON_TYPE))).toBeUndefined()
  })
})

describe('CodecTransform', () => {
  const levels = { brotliQuality: 4, gzipLevel: 6, zstdLevel: 3, syncMaxBytes: 65_536 }

  it('compresses a whole body given to end() synchronously', () => {
    const out = new CodecTransform('gzip', levels).end(Buffer.from('hello '.repeat(500)))
    expect(out).toBeInstanceOf(Uint8Array)
    expect(String(gunzipSync(out as Uint8Array))).toBe('hello '.repeat(500))
  })

  it('flushes each written chunk: its output decodes before the body ends', async () => {
    const t = new CodecTransform('gzip', levels)
    const inflate = createGunzip()
    let text = ''
    let firstDecoded!: () => void
    const first = new Promise<void>((resolve) => {
      firstDecoded = resolve
    })
    inflate.on('data', (c: Buffer) => {
      text += c
      firstDecoded()
    })
    inflate.write(await t.write(Buffer.from('data: first\n\n')))
    await first // without a flush the gzip output would still be empty here and this would hang
    expect(text).toBe('data: first\n\n')
    inflate.write(await t.write(Buffer.from('data: second\n\n')))
    inflate.end(await t.end())
    await new Promise((r) => inflate.once('end', r))
    expect(text).toBe('data: first\n\ndata: second\n\n')
  })

  it('compresses a body over syncMaxBytes through the streaming compressor', async () => {
    const big = Buffer.from('lorem ipsum '.repeat(10_000))
    const out = new CodecTransform('gzip', { ...levels, syncMaxBytes: 1024 }).end(big)
    expect(out).toBeInstanceOf(Promise)
    expect(gunzipSync(await out).equals(big)).toBe(true)
  })

  it('abort() settles a pending write', async () => {
    const t = new CodecTransform('br', levels)
    const pending = t.write(Buffer.from('x'.repeat(1000)))
    t.abort()
    await expect(pending).resolves.toBeInstanceOf(Uint8Array)
  })
})
