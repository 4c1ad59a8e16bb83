import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { toNodeHandler } from '@aikit/adapters/node'
import { currentContext } from '@aikit/core'
import { runConformance } from './conformance/cases.js'
import { listen } from './conformance/listen.js'
import { PROBE_ID_HEADER, routeResult } from './conformance/probe.js'

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]
  if (req.method === 'GET' && path === '/route') {
    const id = req.headers[PROBE_ID_HEADER] as string | undefined
    res.setHeader('x-override', 'route')
    res.setHeader('vary', 'Accept-Encoding')
    res.setHeader('set-cookie', 'route=1; Path=/')
    sendJson(res, 200, routeResult(id))
  } else if (req.method === 'GET' && path === '/plain') {
    res.end('plain') // implicit head: no writeHead call
  } else if (req.method === 'POST' && path === '/body-route') {
    // node:http has no body parser of its own: the handler reads the body through the context.
    sendJson(res, 200, { routeBody: await currentContext()?.json() })
  } else {
    sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'Not found' } })
  }
}

runConformance('node:http', async ({ middleware, options }) =>
  listen(createServer(toNodeHandler(...middleware, { ...options, handler })))
)
