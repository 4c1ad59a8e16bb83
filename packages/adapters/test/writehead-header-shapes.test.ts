/**
 * Every shape of headers a route may give `res.writeHead` (a frozen or null-prototype object, a
 * getter, `Set-Cookie` next to `set-cookie`, a status message, flat and nested raw arrays, values
 * set before with `setHeader`) keeps the route's headers and the middleware's alike, with and
 * without compress() (node:http).
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { compress } from '@aikit/core/compress'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'
import { rawExchange } from './raw-exchange.js'

const mw: Middleware = async (ctx, next) => {
  ctx.setHeader('set-cookie', 'mw=1')
  ctx.setHeader('vary', 'Origin')
  ctx.setHeader('x-mw', 'yes')
  await next()
}

const BIG = 'hello world '.repeat(200)
const routes: Record<string, (res: ServerResponse) => void> = {
  nullproto: (res) => {
    const h = Object.create(null) as Record<string, string>
    h['content-type'] = 'text/plain'
    h['set-cookie'] = 'route=1'
    Object.freeze(h)
    res.writeHead(200, h)
    res.end('ok')
  },
  getter: (res) => {
    const h = {
      get 'set-cookie'() {
        return 'route=1'
      },
      'content-type': 'text/plain',
    }
    res.writeHead(200, h)
    res.end('ok')
  },
  mixed: (res) => {
    res.writeHead(200, { 'Set-Cookie': 'route=1', 'content-type': 'text/plain' })
    res.end('ok')
  },
  message: (res) => {
    res.writeHead(201, 'Made', { 'Set-Cookie': ['route=1', 'route=2'], Vary: 'Accept' })
    res.end('ok')
  },
  flat: (res) => {
    res.writeHead(200, ['Set-Cookie', 'route=1', 'Vary', 'Accept', 'Content-Type', 'text/plain'])
    res.end('ok')
  },
  nested: (res) => {
    res.writeHead(200, [
      ['Set-Cookie', 'route=1'],
      ['Vary', 'Accept'],
      ['Content-Type', 'text/plain'],
    ] as never)
    res.end('ok')
  },
  setPlusObject: (res) => {
    res.setHeader('Set-Cookie', 'early=1')
    res.setHeader('x-other', 'o')
    res.writeHead(200, { Vary: 'Accept', 'content-type': 'text/plain' })
    res.end('ok')
  },
  setPlusFlat: (res) => {
    res.setHeader('x-other', 'o')
    res.writeHead(200, ['Vary', 'Accept', 'content-type', 'text/plain'])
    res.end('ok')
  },
  compressObjLength: (res) => {
    res.writeHead(200, {
      'Content-Type': 'text/plain',
      'Content-Length': String(Buffer.byteLength(BIG)),
      ETag: '"abc"',
    })
    res.end(BIG)
  },
}

let server: ConformanceServer
let port = 0
beforeAll(async () => {
  server = await listen(
    createServer(
      toNodeHandler(compress({ threshold: 1 }), mw, {
        handler: (req, res) => {
          const name = (req.url ?? '/').slice(1)
          routes[name]!(res)
        },
      })
    ) as Server
  )
  port = Number(new URL(server.url).port)
})
afterAll(() => server.close())

async function head(
  path: string,
  enc = false
): Promise<{ status: string; lines: string[]; text: string }> {
  const r = await rawExchange(
    port,
    `GET /${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${enc ? 'Accept-Encoding: gzip\r\n' : ''}\r\n`,
    3000
  )
  const [h] = r.text.split('\r\n\r\n')
  const [status, ...lines] = (h ?? '').split('\r\n')
  return { status: status ?? '', lines: lines.map((l) => l.toLowerCase()), text: r.text }
}
const values = (lines: string[], name: string) =>
  lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).trim())

describe('writeHead header shapes keep route and middleware headers', () => {
  for (const name of ['nullproto', 'getter', 'mixed']) {
    it(`${name}: route cookie and middleware cookie both sent`, async () => {
      const r = await head(name)
      expect(r.status).toMatch(/ 200 /)
      expect(values(r.lines, 'set-cookie').sort()).toEqual(['mw=1', 'route=1'])
      expect(values(r.lines, 'x-mw')).toEqual(['yes'])
    })
  }
  it('message + object', async () => {
    const r = await head('message')
    expect(r.status).toBe('HTTP/1.1 201 Made')
    expect(values(r.lines, 'set-cookie').sort()).toEqual(['mw=1', 'route=1', 'route=2'])
    expect(values(r.lines, 'vary').join(', ').split(/,\s*/).sort()).toEqual(['accept', 'origin'])
  })
  for (const name of ['flat', 'nested']) {
    it(`${name} raw array`, async () => {
      const r = await head(name)
      expect(r.status).toMatch(/ 200 /)
      expect(values(r.lines, 'set-cookie').sort()).toEqual(['mw=1', 'route=1'])
      expect(values(r.lines, 'vary').join(', ').split(/,\s*/).sort()).toEqual(['accept', 'origin'])
      expect(values(r.lines, 'x-mw')).toEqual(['yes'])
    })
  }
  it('setHeader + object', async () => {
    const r = await head('setPlusObject')
    expect(values(r.lines, 'set-cookie').sort()).toEqual(['early=1', 'mw=1'])
    expect(values(r.lines, 'vary').join(', ').split(/,\s*/).sort()).toEqual([
      'accept',
      'accept-encoding',
      'origin',
    ])
    expect(values(r.lines, 'x-other')).toEqual(['o'])
  })
  it('setHeader + flat array', async () => {
    const r = await head('setPlusFlat')
    expect(r.status).toMatch(/ 200 /)
    expect(values(r.lines, 'vary').join(', ').split(/,\s*/).sort()).toEqual(['accept', 'origin'])
    expect(values(r.lines, 'x-other')).toEqual(['o'])
    expect(values(r.lines, 'set-cookie')).toEqual(['mw=1'])
  })
  it('compress with a writeHead object holding Content-Length and a strong ETag', async () => {
    const r = await head('compressObjLength', true)
    expect(values(r.lines, 'content-encoding')).toEqual(['gzip'])
    expect(values(r.lines, 'content-length')).toEqual([])
    expect(values(r.lines, 'etag')).toEqual(['w/"abc"'])
    expect(values(r.lines, 'vary').join(', ').split(/,\s*/).sort()).toEqual([
      'accept-encoding',
      'origin',
    ])
  })
})
