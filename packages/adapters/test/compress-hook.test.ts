/**
 * The `ctx.transformBody` protocol itself, on the four adapters: a middleware registers a byte
 * transform (ASCII upper-casing, chunk by chunk), and both a `ctx.respond` body and the body the
 * framework writes (node:http `res.write`/`res.end`, Express `res.send`, a Fastify reply, a Next
 * route's `Response`) go through it, with the head edits the factory made.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { withAikit } from '@aikit/adapters/next'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import type { BodyTransform } from '@aikit/core/adapter'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

const TEXT = { 'content-type': 'text/plain' }

function upper(chunk: Uint8Array): Uint8Array {
  return Uint8Array.from(chunk, (b) => (b >= 97 && b <= 122 ? b - 32 : b))
}

/** Upper-cases the body; an async write, a sync end, as a real codec may mix them. */
const upperCase: BodyTransform = {
  write: async (chunk) => upper(chunk),
  end: (last) => (last === undefined ? new Uint8Array(0) : upper(last)),
  abort: () => {},
}

/** Registers the transform for every text/plain response except `/untouched`. */
const transformText: Middleware = async (ctx, next) => {
  ctx.transformBody?.((head) => {
    if (!head.getHeader('content-type')?.startsWith('text/plain') || ctx.path === '/untouched')
      return undefined
    head.removeHeader('content-length')
    head.setHeader('x-transformed', String(head.status))
    return upperCase
  })
  return next()
}

const viaRespond: Middleware = async (ctx, next) => {
  if (ctx.path === '/respond') return ctx.respond(201, 'from respond', TEXT)
  return next()
}

const stack = [transformText, viaRespond] as const

function nodeRoute(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('content-type', 'text/plain')
  if (req.url === '/chunks') {
    res.write('one, ')
    res.write(Buffer.from('two, '))
    res.end('three')
  } else res.end('from the framework')
}

interface Answer {
  status: number
  headers: Headers
  text: string
}

type Get = (path: string) => Promise<Answer>

const servers: ConformanceServer[] = []
const fastifyApps: FastifyInstance[] = []
const targets: Record<string, Get> = {}

function httpGet(base: string): Get {
  return async (path) => {
    const res = await fetch(`${base}${path}`)
    return { status: res.status, headers: res.headers, text: await res.text() }
  }
}

beforeAll(async () => {
  const node = await listen(createServer(toNodeHandler(...stack, { handler: nodeRoute })) as Server)
  servers.push(node)
  targets.node = httpGet(node.url)

  const app = express()
  app.use(toExpress(...stack))
  app.get('/chunks', nodeRoute)
  app.get('/*splat', (_req, res) => {
    res.type('text/plain').send('from the framework')
  })
  const ex = await listen(createServer(app) as Server)
  servers.push(ex)
  targets.express = httpGet(ex.url)

  const fastify = Fastify()
  fastifyApps.push(fastify)
  await fastify.register(aikitFastify, { use: [...stack] })
  fastify.get('/chunks', (req, reply) => {
    reply.hijack()
    nodeRoute(req.raw, reply.raw)
  })
  fastify.get('/*', (_req, reply) => {
    reply.type('text/plain').send('from the framework')
  })
  targets.fastify = httpGet(await fastify.listen({ port: 0, host: '127.0.0.1' }))

  const handler = withAikit(
    (req: Request) => {
      if (new URL(req.url).pathname === '/chunks') {
        const parts = ['one, ', 'two, ', 'three']
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            const part = parts.shift()
            if (part === undefined) controller.close()
            else controller.enqueue(new TextEncoder().encode(part))
          },
        })
        return new Response(body, { headers: TEXT })
      }
      return new Response('from the framework', { headers: TEXT })
    },
    ...stack
  )
  targets.next = async (path) => {
    const res = await handler(new Request(`http://127.0.0.1${path}`), {})
    return { status: res.status, headers: res.headers, text: await res.text() }
  }
})

afterAll(async () => {
  await Promise.all([...servers.map((s) => s.close()), ...fastifyApps.map((a) => a.close())])
})

describe.each(['node', 'express', 'fastify', 'next'])('ctx.transformBody on %s', (name) => {
  const get: Get = (path) => targets[name]!(path)

  it('transforms the body the framework writes in one piece, with the head edits', async () => {
    const res = await get('/framework')
    expect(res.text).toBe('FROM THE FRAMEWORK')
    expect(res.headers.get('x-transformed')).toBe('200')
  })

  it('transforms a body written in chunks, in order', async () => {
    const res = await get('/chunks')
    expect(res.text).toBe('ONE, TWO, THREE')
  })

  it('transforms a ctx.respond body and sees its status', async () => {
    const res = await get('/respond')
    expect(res.status).toBe(201)
    expect(res.text).toBe('FROM RESPOND')
    expect(res.headers.get('x-transformed')).toBe('201')
  })

  it('leaves the body alone when the factory returns undefined', async () => {
    const res = await get('/untouched')
    expect(res.text).toBe('from the framework')
    expect(res.headers.get('x-transformed')).toBeNull()
  })
})
