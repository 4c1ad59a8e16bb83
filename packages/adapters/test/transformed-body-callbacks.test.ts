/**
 * Under a body transform (compress(), or a middleware's `ctx.transformBody`) on node:http, the
 * adapter's `res.write` / `res.end` call their callbacks as Node's own do:
 * - a second `res.end(cb)` calls `cb`: with the first end's callback while that end is still in
 *   the transform, else as Node answers it (on 'finish', or `ERR_STREAM_ALREADY_FINISHED`); with
 *   data, `ERR_STREAM_WRITE_AFTER_END` on a later tick. If the client leaves first, it gets
 *   `ERR_STREAM_DESTROYED` like the first end's. (It used to be dropped: a route awaiting it hung.)
 * - callbacks run in write order: an empty write's, or one whose transformed output is empty,
 *   after the earlier writes' (it used to run on the next tick, ahead of them);
 * - a callback is never called inside `res.write()`, even when a synchronous transform has no
 *   output for that write (it used to be).
 */
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { compress } from '@aikit/core/compress'
import { afterEach, describe, expect, it } from 'vitest'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code ?? 'no-code'
const servers: Server[] = []
afterEach(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

async function listen(listener: RequestListener): Promise<string> {
  const server = createServer(listener)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

type Route = (res: ServerResponse, log: string[]) => void

/** A server running `route` behind the kit with `use` in the chain. */
function kit(use: Middleware[], route: Route, log: string[]): Promise<string> {
  return listen(toNodeHandler(...use, { handler: (_req, res) => route(res, log) }))
}

/** A callback logging `name:ok` / `name:<code>`, and whether it ran inside the call that got it. */
function recorder(log: string[], name: string) {
  let inside = true
  const cb = (error?: Error | null) => {
    log.push(`${name}:${error ? codeOf(error) : 'ok'}${inside ? ':sync' : ''}`)
  }
  return { cb, returned: () => (inside = false) }
}

function call(log: string[], name: string, fn: (cb: (error?: Error | null) => void) => unknown) {
  const r = recorder(log, name)
  fn(r.cb)
  r.returned()
}

async function get(base: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(base, { headers })
  await res.arrayBuffer()
}

async function until(log: string[], count: number): Promise<void> {
  for (let i = 0; i < 200 && log.length < count; i++) await sleep(10)
  await sleep(30) // Any callback called more than once shows up.
}

/** A transform holding every byte until end; `async` answers each step on a later tick. */
function holding(async: boolean): Middleware {
  return async (ctx, next) => {
    ctx.transformBody?.(() => {
      const parts: Uint8Array[] = []
      const answer = (out: Uint8Array) => (async ? Promise.resolve(out) : out)
      return {
        write(chunk) {
          parts.push(chunk)
          return answer(new Uint8Array(0))
        },
        end(last) {
          if (last) parts.push(last)
          return answer(Buffer.concat(parts))
        },
        abort() {},
      }
    })
    await next()
  }
}

/** A transform whose end never answers: the response waits until the client leaves. */
const stuckEnd: Middleware = async (ctx, next) => {
  ctx.transformBody?.(() => ({
    write: (chunk) => chunk,
    end: () => new Promise<Uint8Array>(() => {}),
    abort() {},
  }))
  await next()
}

const gzip = { 'accept-encoding': 'gzip' }

describe('a second res.end(cb) under a body transform', () => {
  it('compress(): its callback is called once', async () => {
    const log: string[] = []
    const base = await kit(
      [compress()],
      (res, log) => {
        res.setHeader('content-type', 'text/plain')
        call(log, 'end1', (cb) => res.end('x'.repeat(5000), cb))
        call(log, 'end2', (cb) => res.end(cb))
      },
      log
    )
    await get(base, gzip)
    await until(log, 2)
    expect(log).toHaveLength(2)
    expect(log).toContain('end1:ok')
    // Node answers on 'finish' (ok) while the response is finishing, with
    // ERR_STREAM_ALREADY_FINISHED once it finished (at once, as the whole body was written).
    expect(log.find((entry) => entry.startsWith('end2:'))).toMatch(
      /^end2:(ok|ERR_STREAM_ALREADY_FINISHED)/
    )
  })

  it('while the first end is still in the transform: called with it, on finish', async () => {
    const log: string[] = []
    const base = await kit(
      [holding(true)],
      (res, log) => {
        res.setHeader('content-type', 'text/plain')
        res.write('abc')
        call(log, 'end1', (cb) => res.end('def', cb))
        call(log, 'end2', (cb) => res.end(cb))
        call(log, 'end3', (cb) => res.end(cb))
      },
      log
    )
    await get(base)
    await until(log, 3)
    expect(log).toEqual(['end1:ok', 'end2:ok', 'end3:ok'])
  })

  it('once the first end reached Node: answered as plain node:http answers it', async () => {
    const route: Route = (res, log) => {
      res.setHeader('content-type', 'text/plain')
      call(log, 'end1', (cb) => res.end('x'.repeat(5000), cb))
      call(log, 'end2', (cb) => res.end(cb))
    }
    const plainLog: string[] = []
    const plain = await listen((_req, res) => route(res, plainLog))
    await get(plain)
    await until(plainLog, 2)

    const log: string[] = []
    await get(await kit([holding(false)], route, log))
    await until(log, 2)
    expect(log).toEqual(plainLog)
  })

  it('with data: ERR_STREAM_WRITE_AFTER_END on a later tick, the body unchanged', async () => {
    const log: string[] = []
    const base = await kit(
      [holding(true)],
      (res, log) => {
        res.setHeader('content-type', 'text/plain')
        res.end('body')
        call(log, 'end2', (cb) => res.end('more', cb))
      },
      log
    )
    const res = await fetch(base)
    expect(await res.text()).toBe('body')
    await until(log, 1)
    expect(log).toEqual(['end2:ERR_STREAM_WRITE_AFTER_END'])
  })

  it('the client left while the end was in the transform: ERR_STREAM_DESTROYED, like the first end', async () => {
    const log: string[] = []
    let routed!: () => void
    const reached = new Promise<void>((r) => (routed = r))
    const base = await kit(
      [stuckEnd],
      (res, log) => {
        res.setHeader('content-type', 'text/plain')
        res.write('head')
        call(log, 'end1', (cb) => res.end(cb))
        call(log, 'end2', (cb) => res.end(cb))
        routed()
      },
      log
    )
    const { port } = new URL(base)
    const socket = connect(Number(port), '127.0.0.1')
    socket.on('error', () => {})
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await reached
    await sleep(20)
    socket.destroy()
    await until(log, 2)
    expect(log).toEqual(['end1:ERR_STREAM_DESTROYED', 'end2:ERR_STREAM_DESTROYED'])
  })
})

describe('write callbacks under a body transform run in write order, never inside res.write()', () => {
  it('compress(): an empty write’s callback comes after the earlier write’s', async () => {
    const log: string[] = []
    const base = await kit(
      [compress()],
      (res, log) => {
        res.setHeader('content-type', 'text/plain')
        call(log, 'w1', (cb) => res.write('a'.repeat(3000), cb))
        call(log, 'w2-empty', (cb) => res.write('', cb))
        call(log, 'w3', (cb) => res.write('b'.repeat(3000), cb))
        call(log, 'w4-empty', (cb) => res.write(Buffer.alloc(0), cb))
        call(log, 'end', (cb) => res.end('z'.repeat(3000), cb))
      },
      log
    )
    await get(base, gzip)
    await until(log, 5)
    expect(log).toEqual(['w1:ok', 'w2-empty:ok', 'w3:ok', 'w4-empty:ok', 'end:ok'])
  })

  it('a synchronous transform with no output for a write: called later, in order', async () => {
    const log: string[] = []
    const base = await kit(
      [holding(false)],
      (res, log) => {
        res.setHeader('content-type', 'text/plain')
        call(log, 'w1', (cb) => res.write('abc', cb))
        call(log, 'w2-empty', (cb) => res.write('', cb))
        call(log, 'w3', (cb) => res.write('def', cb))
        call(log, 'end', (cb) => res.end('ghi', cb))
      },
      log
    )
    const res = await fetch(base)
    expect(await res.text()).toBe('abcdefghi')
    await until(log, 4)
    expect(log).toEqual(['w1:ok', 'w2-empty:ok', 'w3:ok', 'end:ok'])
  })

  it('an asynchronous transform with no output for a write: called in order', async () => {
    const log: string[] = []
    const base = await kit(
      [holding(true)],
      (res, log) => {
        res.setHeader('content-type', 'text/plain')
        call(log, 'w1', (cb) => res.write('abc', cb))
        call(log, 'w2-empty', (cb) => res.write('', cb))
        call(log, 'w3', (cb) => res.write('def', cb))
        call(log, 'end', (cb) => res.end(cb))
      },
      log
    )
    const res = await fetch(base)
    expect(await res.text()).toBe('abcdef')
    await until(log, 4)
    expect(log).toEqual(['w1:ok', 'w2-empty:ok', 'w3:ok', 'end:ok'])
  })
})
