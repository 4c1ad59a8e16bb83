/**
 * With a body transform (compress(), or any `ctx.transformBody`) on real servers (node:http,
 * Express, Fastify on 127.0.0.1), once the client went away every `res.write` / `res.end`
 * callback is still called, once, with `ERR_STREAM_DESTROYED`, as plain node:http calls a write's:
 * a write or end made after the abort (the write returns false), and one still inside the
 * transform when the client left. A `stream.pipeline(source, res)` settles with an error and
 * destroys its source. These callbacks used to be dropped: a route awaiting a promisified write
 * hung forever and kept its memory.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { compress } from '@aikit/core/compress'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'
import { fastifyApps } from './fastify-apps.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code ?? 'no-code'

interface RouteResult {
  log: string[]
  done: Promise<void>
  finish: () => void
}

/** What each route saw, by the test's request id; `done` once the route returned. */
const results = new Map<string, RouteResult>()

function begin(id: string): RouteResult {
  let finish!: () => void
  const done = new Promise<void>((r) => (finish = r))
  const result = { log: [], done, finish }
  results.set(id, result)
  return result
}

/** A callback logging `name:ok` or `name:<code>` on each call; `called` settles on the first. */
function recorder(log: string[], name: string) {
  let resolve!: () => void
  const first = new Promise<void>((r) => (resolve = r))
  const cb = (error?: Error | null) => {
    log.push(`${name}:${error ? codeOf(error) : 'ok'}`)
    resolve()
  }
  return { cb, called: Promise.race([first, sleep(3000)]) }
}

/** Resolves once the response is closed (the client went away). */
function closed(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve()
  return new Promise((r) => res.once('close', () => r()))
}

/**
 * The route of every server: `id` from the path's last segment, what to do from the one before.
 * It writes (and flushes) something first; the client leaves as soon as it sees the response.
 */
async function route(url: string, res: ServerResponse): Promise<void> {
  const parts = url.split('/')
  const id = parts.pop()!
  const kind = parts.pop()!
  const result = begin(id)
  const log = result.log
  res.setHeader('content-type', 'text/plain')
  try {
    if (kind === 'after' || kind === 'write-after') {
      const first = recorder(log, 'w1')
      res.write('x'.repeat(2000), first.cb)
      await first.called
      await closed(res)
      const second = recorder(log, 'w2')
      log.push(`w2-returned:${res.write('y'.repeat(2000), second.cb)}`)
      await second.called
      // Plain node:http never calls back an end on a destroyed response (the kit does, as a
      // stream.Writable does): the baseline stops here.
      if (kind === 'after') {
        const end = recorder(log, 'end')
        res.end('z', end.cb)
        await end.called
      }
    } else if (kind === 'end-only') {
      const first = recorder(log, 'w1')
      res.write('x'.repeat(2000), first.cb)
      await first.called
      await closed(res)
      const end = recorder(log, 'end')
      res.end(end.cb)
      await end.called
    } else if (kind === 'pending') {
      // The transform (see `stuck`) never answers: both writes and the end wait inside it.
      res.flushHeaders()
      const a = recorder(log, 'a')
      const b = recorder(log, 'b')
      const end = recorder(log, 'end')
      res.write('a', a.cb)
      res.write('b', b.cb)
      res.end('c', end.cb)
      await Promise.all([a.called, b.called, end.called])
    } else if (kind === 'pipeline') {
      let n = 0
      const source = new Readable({
        read() {
          setTimeout(() => this.push(`event ${n++} ${'.'.repeat(500)}\n`), 5)
        },
      })
      const outcome = await Promise.race([
        pipeline(source, res).then(
          () => 'resolved',
          (error: unknown) => `rejected:${codeOf(error)}`
        ),
        sleep(3000).then(() => 'never-settled'),
      ])
      log.push(`pipeline:${outcome}`, `source-destroyed:${source.destroyed}`)
    }
    // A callback called twice shows up here.
    await sleep(50)
  } finally {
    result.finish()
  }
}

/** A transform that never answers (a stalled codec), for callbacks waiting inside it. */
const stuck: Middleware = async (ctx, next) => {
  if (ctx.path.includes('/pending/')) {
    ctx.transformBody?.(() => ({
      write: () => new Promise<Uint8Array>(() => {}),
      end: () => new Promise<Uint8Array>(() => {}),
      abort: () => {},
    }))
  }
  return next()
}

let seq = 0

/**
 * Requests `path` with a raw socket and leaves once the response starts: the route's log, and
 * the start of the response.
 */
async function leaveEarly(base: string, path: string): Promise<{ log: string[]; head: string }> {
  const id = `r${++seq}`
  const { port } = new URL(base)
  const socket = connect(Number(port), '127.0.0.1')
  socket.on('error', () => {})
  let head = ''
  const seen = new Promise<void>((r) =>
    socket.once('data', (data: Buffer) => {
      head = data.toString('latin1').toLowerCase()
      r()
    })
  )
  socket.write(`GET ${path}/${id} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n`)
  await Promise.race([seen, sleep(3000)])
  socket.destroy()
  for (let i = 0; i < 400 && !results.has(id); i++) await sleep(10)
  const entry = results.get(id)
  if (entry === undefined) throw new Error(`the route never saw ${path}/${id}`)
  await Promise.race([entry.done, sleep(8000)])
  return { log: entry.log, head }
}

const servers: ConformanceServer[] = []
const fastify = fastifyApps()
const base: Record<string, string> = {}

beforeAll(async () => {
  const node = await listen(
    createServer(
      toNodeHandler(compress({ threshold: 0 }), stuck, {
        handler: (req, res) => route(req.url ?? '/', res),
      })
    ) as Server
  )
  servers.push(node)
  base.node = node.url

  const app = express()
  app.use(toExpress(compress({ threshold: 0 })), toExpress(stuck))
  app.use((req, res) => void route(req.url, res))
  const ex = await listen(createServer(app) as Server)
  servers.push(ex)
  base.express = ex.url

  base.fastify = await fastify.start(async (f) => {
    await f.register(aikitFastify, { use: [compress({ threshold: 0 }), stuck] })
    f.get('/*', (req, reply) => {
      reply.hijack()
      void route(req.url, reply.raw)
    })
  })
})

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

describe('plain node:http, the behaviour matched', () => {
  it('calls a write callback after the client left with ERR_STREAM_DESTROYED', async () => {
    const srv = await listen(createServer((req, res) => void route(req.url ?? '/', res)) as Server)
    servers.push(srv)
    const { log } = await leaveEarly(srv.url, '/write-after')
    expect(log).toEqual(['w1:ok', 'w2-returned:false', 'w2:ERR_STREAM_DESTROYED'])
  })
})

describe.each(['node', 'express', 'fastify'])('a body transform on %s, client gone', (name) => {
  it('a write after the client left returns false and calls back ERR_STREAM_DESTROYED once; so does end(chunk, cb)', async () => {
    const { log, head } = await leaveEarly(base[name]!, '/after')
    expect(head).toContain('content-encoding: gzip')
    expect(log).toEqual([
      'w1:ok',
      'w2-returned:false',
      'w2:ERR_STREAM_DESTROYED',
      'end:ERR_STREAM_DESTROYED',
    ])
  })

  it('end(cb) after the client left calls back ERR_STREAM_DESTROYED once', async () => {
    const { log } = await leaveEarly(base[name]!, '/end-only')
    expect(log).toEqual(['w1:ok', 'end:ERR_STREAM_DESTROYED'])
  })

  it('writes and the end still inside the transform call back ERR_STREAM_DESTROYED once each, in order', async () => {
    const { log } = await leaveEarly(base[name]!, '/pending')
    expect(log).toEqual([
      'a:ERR_STREAM_DESTROYED',
      'b:ERR_STREAM_DESTROYED',
      'end:ERR_STREAM_DESTROYED',
    ])
  })

  it('stream.pipeline(source, res) rejects and destroys its source', async () => {
    const { log } = await leaveEarly(base[name]!, '/pipeline')
    expect(log).toHaveLength(2)
    expect(log[0]).toMatch(/^pipeline:rejected:/)
    expect(log[1]).toBe('source-destroyed:true')
  })
})
