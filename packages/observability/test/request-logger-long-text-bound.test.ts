/**
 * The request-line writer of a logger caches the quoted text of methods, paths, routes and
 * subjects up to 256 characters only: they come from clients, and its caches keep the first 1,000
 * distinct values for the logger's life, so paths of any length (key and quoted text both held)
 * let a client pin tens of MB per logger. Longer values are quoted on each line, to the same text.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { toNodeHandler } from '@aikit/adapters/node'
import { createLogger, requestLogger } from '@aikit/observability'
import { heapAfterGc } from '@aikit/testing/heap'
import { afterAll, describe, expect, it } from 'vitest'

function heapWithoutFetchTimings(): number {
  // The test's own `fetch` (undici) keeps a timing entry, URL included, for each of its first
  // 250 requests: process-wide, not the logger's.
  performance.clearResourceTimings()
  return heapAfterGc()
}

const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
})

/** A server logging each request with `requestLogger` on its own logger; `lines` as written. */
async function loggedServer(onLine: (line: string) => void): Promise<string> {
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line !== '') onLine(line)
      cb()
    },
  })
  const logger = createLogger({ stream, level: 'info' })
  const server = createServer(
    toNodeHandler(requestLogger(logger), async (ctx) => {
      ctx.respond(200, 'ok')
    })
  )
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('request lines: the text caches are bounded in value length', () => {
  it('keeps no copy of long distinct request paths after their line is written', async () => {
    let written = 0
    const base = await loggedServer((line) => {
      written += line.length
    })
    // Warm up (JIT, sockets, the server's own state).
    for (let i = 0; i < 20; i++) await (await fetch(`${base}/warm${i}`)).text()
    const before = heapWithoutFetchTimings()
    for (let i = 0; i < 300; i++) {
      await (await fetch(`${base}/${'p'.repeat(15_000)}${i}`)).text()
    }
    await new Promise((r) => setImmediate(r))
    expect(written).toBeGreaterThan(300 * 15_000)
    // ~9 MB if each path were kept twice (the key, and its quoted text).
    expect(heapWithoutFetchTimings() - before).toBeLessThan(3 * 1024 * 1024)
  })

  it('writes a long path whole on every line', async () => {
    const lines: string[] = []
    const base = await loggedServer((line) => lines.push(line))
    const path = `/${'q'.repeat(300)}`
    for (let i = 0; i < 3; i++) await (await fetch(`${base}${path}`)).text()
    await new Promise((r) => setImmediate(r))
    const requests = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.message === 'request')
    expect(requests).toHaveLength(3)
    for (const entry of requests) expect(entry).toMatchObject({ method: 'GET', path, status: 200 })
  })
})
