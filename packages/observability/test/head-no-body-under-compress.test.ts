/**
 * HEAD on /metrics and the health paths with compress()
 * in the chain and a client that accepts gzip sends no body bytes on the wire: a GET pipelined
 * after it on the same connection is the next thing read.
 */
import { connect } from 'node:net'
import { compress } from '@aikit/core/compress'
import { createMetrics, healthCheck, metricsHandler } from '@aikit/observability'
import { afterAll, describe, expect, it } from 'vitest'
import { closeAll, expressApp, fastifyApp, nodeApp } from './servers.js'

afterAll(closeAll)

function raw(base: string, payload: string, ms = 1500): Promise<string> {
  const port = Number(new URL(base).port)
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1')
    let text = ''
    const t = setTimeout(() => {
      sock.destroy()
      resolve(text)
    }, ms)
    sock.on('data', (d) => (text += d.toString('latin1')))
    sock.on('close', () => {
      clearTimeout(t)
      resolve(text)
    })
    sock.on('error', () => undefined)
    sock.write(payload)
  })
}

function head(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\r\n\r\n')[0]!.split('\r\n').slice(1)) {
    const i = line.indexOf(':')
    out[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim()
  }
  return out
}

describe.each([
  ['Express', expressApp],
  ['Fastify', fastifyApp],
  ['node:http', nodeApp],
])('HEAD under compress() on %s', (_name, start) => {
  it.each(['/metrics', '/readyz'])(
    'HEAD %s then GET pipelined: HEAD sends no body',
    async (path) => {
      const metrics = createMetrics({ key: false })
      const base = await start([compress({ threshold: 0 }), metricsHandler(metrics), healthCheck()])
      const req = (m: string, close = false) =>
        `${m} ${path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n${close ? 'Connection: close\r\n' : ''}\r\n`
      const text = await raw(base, req('HEAD') + req('GET', true))
      const second = text.indexOf('HTTP/1.1 ', 1)
      expect(second).toBeGreaterThan(0)
      const headPart = text.slice(0, second)
      // Nothing after the HEAD's blank line.
      expect(headPart.endsWith('\r\n\r\n')).toBe(true)
      expect(headPart.indexOf('\r\n\r\n')).toBe(headPart.length - 4)
      // HEAD is left uncompressed (documented): its length is the identity body's.
      expect(head(headPart)['content-encoding']).toBeUndefined()
    }
  )
})
