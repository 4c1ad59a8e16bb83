/**
 * HEAD on the metrics and health endpoints (`/metrics`, `/readyz`, `/livez`, `/health`) answers
 * GET's status and headers with no content, its Content-Length being the GET body's
 * (RFC 9110 §8.6), on the Express, Fastify and node:http adapters.
 */
import { request } from 'node:http'
import { createMetrics, healthCheck, metricsHandler } from '@aikit/observability'
import { afterAll, describe, expect, it } from 'vitest'
import { closeAll, expressApp, fastifyApp, nodeApp } from './servers.js'

afterAll(closeAll)

interface Answer {
  status: number
  length: string | undefined
  type: string | undefined
  body: string
}

function call(base: string, method: string, path: string): Promise<Answer> {
  const u = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path }, (res) => {
      let body = ''
      res.on('data', (c) => {
        body += c
      })
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          length: res.headers['content-length'],
          type: res.headers['content-type'],
          body,
        })
      )
    })
    req.on('error', reject)
    req.end()
  })
}

describe.each([
  ['Express', expressApp],
  ['Fastify', fastifyApp],
  ['node:http', nodeApp],
])('HEAD on the metrics and health endpoints on %s', (_name, start) => {
  it.each(['/metrics', '/readyz', '/livez', '/health'])(
    'HEAD %s: no content, the Content-Length of GET',
    async (path) => {
      const metrics = createMetrics({ key: false })
      const base = await start([metricsHandler(metrics), healthCheck()])
      const got = await call(base, 'GET', path)
      const h = await call(base, 'HEAD', path)
      expect(got.body).not.toBe('')
      expect(h.status).toBe(got.status)
      expect(h.type).toBe(got.type)
      expect(h.body).toBe('')
      expect(h.length).toBe(String(Buffer.byteLength(got.body)))
    }
  )
})
