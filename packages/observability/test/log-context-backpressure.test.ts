/**
 * The request id, route and subject of a line are those of the request that wrote it, also when
 * a transport applies backpressure. winston's Logger is a Transform stream: under backpressure
 * (winston's File transport waiting for 'drain', or any slow transport) `logger.log()` only queues
 * the line, and whatever runs on it later (formats, transports) runs in the async context that
 * resumed the stream, another request's or none. The fields are captured when the line is handed
 * to the logger.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { createLogger, requestLogger } from '@aikit/observability'
import { afterAll, describe, expect, it } from 'vitest'
import winston from 'winston'

const dir = mkdtempSync(join(tmpdir(), 'aikit-log-'))
const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  rmSync(dir, { recursive: true, force: true })
})

async function serve(...use: Middleware[]): Promise<string> {
  const server = createServer(toNodeHandler(...use))
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

interface Line {
  message: string
  requestId?: string
  subject?: string
  component?: string
}

/**
 * winston's transport base class (exported as `Transport`, typed as `transport`). Typed through
 * its instance type: winston's typings import it with `import * as`, which under
 * `esModuleInterop` (always on in TypeScript 7) makes `typeof winston.transport` a namespace.
 */
const TransportStream = (winston as unknown as { Transport: new () => winston.transport }).Transport

/** A transport that takes each line on a later timer tick: the logger's buffers fill up. */
class SlowTransport extends TransportStream {
  readonly lines: Line[] = []
  override log(info: Line, next: () => void): void {
    setTimeout(() => {
      this.lines.push({ ...info })
      next()
    }, 0)
  }
}

describe('request fields of lines written under transport backpressure', () => {
  it('winston File transport: every line carries the id of the request that wrote it', async () => {
    const filename = join(dir, 'app.log')
    const logger = createLogger({ transports: [new winston.transports.File({ filename })] })
    const payload = 'x'.repeat(400)
    const base = await serve(requestLogger(logger), async (ctx) => {
      const who = ctx.path.slice(1) // 'a' or 'b'
      const n = who === 'a' ? 2000 : 200
      for (let i = 0; i < n; i++) logger.info(`${who}-${i}`, { payload })
      ctx.respond(200, 'ok')
    })
    await (await fetch(`${base}/a`, { headers: { 'x-request-id': 'req-a' } })).text()
    await (await fetch(`${base}/b`, { headers: { 'x-request-id': 'req-b' } })).text()
    // Until all 2200 lines and the 2 request lines reached the file (bounded by attempts).
    let lines: Line[] = []
    for (let t = 0; t < 400 && lines.length < 2202; t++) {
      await new Promise((r) => setTimeout(r, 25))
      let text = ''
      try {
        text = readFileSync(filename, 'utf8')
      } catch {}
      lines = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Line)
    }
    expect(lines.length).toBe(2202)
    const wrong = lines.filter(
      (l) => l.message !== 'request' && l.requestId !== `req-${l.message.slice(0, 1)}`
    )
    expect(wrong.map((l) => `${l.message}:${l.requestId}`).slice(0, 5)).toEqual([])
    expect(lines.filter((l) => l.message.startsWith('b-')).length).toBe(200)
  })

  it('a slow transport, two requests at once, lines from a child logger: each line keeps its own fields', async () => {
    const transport = new SlowTransport()
    const logger = createLogger({ transports: [transport] })
    const child = logger.child({ component: 'llm' })
    const base = await serve(
      requestLogger(logger),
      (ctx, next) => {
        ctx.state.subject = ctx.header('x-user') ?? 'anonymous'
        return next()
      },
      async (ctx) => {
        const who = ctx.header('x-user')!
        for (let i = 0; i < 50; i++) {
          logger.info(`${who}-${i}`)
          child.warn(`${who}-child-${i}`)
          if (i % 10 === 0) await new Promise((r) => setImmediate(r))
        }
        ctx.respond(200, 'ok')
      }
    )
    await Promise.all(
      ['alice', 'bob'].map(async (user) => {
        const headers = { 'x-request-id': `id-${user}`, 'x-user': user }
        const res = await fetch(base, { headers })
        await res.text()
      })
    )
    for (let t = 0; t < 400 && transport.lines.length < 202; t++) {
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(transport.lines.length).toBe(202)
    for (const user of ['alice', 'bob']) {
      const mine = transport.lines.filter((l) => l.message.startsWith(`${user}-`))
      expect(mine.length).toBe(100)
      const wrong = mine.filter((l) => l.requestId !== `id-${user}` || l.subject !== user)
      expect(wrong.map((l) => `${l.message}:${l.requestId}:${l.subject}`).slice(0, 5)).toEqual([])
      expect(mine.filter((l) => l.component === 'llm').length).toBe(50)
    }
  })
})
