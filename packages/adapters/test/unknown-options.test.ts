/**
 * A misspelt option key (`trustproxy`) would otherwise be ignored and its default used: every
 * adapter refuses it with `InvalidOptionsError` naming the key, at construction (at `register`
 * for Fastify), while every documented key, and the keys Fastify reads at `register` (`prefix`,
 * `logLevel`, `logSerializers`), are still accepted.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import { type AikitFastifyOptions, aikitFastify } from '@aikit/adapters/fastify'
import { aikitProxy, withAikit } from '@aikit/adapters/next'
import { type NodeHandlerOptions, toNodeHandler } from '@aikit/adapters/node'
import { InvalidOptionsError, type Middleware } from '@aikit/core'
import type { AdapterOptions } from '@aikit/core/adapter'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'

const tagged: Middleware = async (ctx, next) => {
  ctx.setHeader('x-kit', 'ran')
  await next()
}

/** Every `AdapterOptions` key, each with a valid value. */
const everyAdapterOption: Required<AdapterOptions> = {
  trustProxy: 1,
  maxBodyBytes: 4096,
  maxJsonDepth: 8,
  maxJsonKeys: 20_000,
  onError: () => {},
  asyncContext: 'auto',
}

function refusal(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function fastifyApp(build: (app: FastifyInstance) => Promise<void>): Promise<string> {
  const app = Fastify()
  closers.push(() => app.close())
  await build(app)
  return app.listen({ port: 0, host: '127.0.0.1' })
}

async function fastifyRefusal(opts: unknown): Promise<InvalidOptionsError> {
  const app = Fastify()
  closers.push(() => app.close())
  try {
    await app.register(aikitFastify, opts as AikitFastifyOptions)
    await app.ready()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

describe('toExpress', () => {
  it('refuses a misspelt option key at construction, naming it', () => {
    const error = refusal(() => toExpress(tagged, { trustproxy: 1 } as never))
    expect(error.field).toBe('trustproxy')
    expect(error.message).toContain('`trustProxy`')
    expect(refusal(() => toExpress(tagged, { maxBodyByte: 10 } as never)).field).toBe('maxBodyByte')
  })

  it('accepts every adapter option and runs the chain', async () => {
    const app = express()
    app.use(toExpress(tagged, everyAdapterOption))
    app.get('/', (_req, res) => {
      res.end('route')
    })
    const res = await fetch(await listen(createServer(app)))
    expect(res.headers.get('x-kit')).toBe('ran')
    expect(await res.text()).toBe('route')
  })
})

describe('aikitErrorHandler', () => {
  it('refuses a misspelt option key, naming it', () => {
    expect(refusal(() => aikitErrorHandler({ onErorr: () => {} } as never)).field).toBe('onErorr')
    expect(() => aikitErrorHandler({ onError: () => {} })).not.toThrow()
  })
})

describe('toNodeHandler', () => {
  it('refuses a misspelt option key at construction, naming it', () => {
    expect(refusal(() => toNodeHandler(tagged, { trustproxy: 1 } as never)).field).toBe(
      'trustproxy'
    )
    expect(refusal(() => toNodeHandler(tagged, { handlr: () => {} } as never)).field).toBe('handlr')
  })

  it('accepts every option, its own handler included, and runs the chain', async () => {
    const options: Required<NodeHandlerOptions> = {
      ...everyAdapterOption,
      handler: (_req, res) => {
        res.end('route')
      },
    }
    const res = await fetch(await listen(createServer(toNodeHandler(tagged, options))))
    expect(res.headers.get('x-kit')).toBe('ran')
    expect(await res.text()).toBe('route')
  })
})

describe('aikitFastify', () => {
  it('refuses a misspelt option key at register, naming it', async () => {
    const error = await fastifyRefusal({ use: [tagged], trustproxy: 1 })
    expect(error.field).toBe('trustproxy')
    expect(error.message).toContain('`trustProxy`')
    expect((await fastifyRefusal({ use: [tagged], errorhandler: true })).field).toBe('errorhandler')
  })

  it('refuses a misspelt key in options given as a function of the instance', async () => {
    const error = await fastifyRefusal(() => ({ use: [tagged], maxJsonDeph: 3 }))
    expect(error.field).toBe('maxJsonDeph')
  })

  it("accepts every option plus Fastify's register keys (prefix, logLevel, logSerializers)", async () => {
    const options: Required<AikitFastifyOptions> & {
      prefix: string
      logLevel: 'warn'
      logSerializers: Record<string, (value: unknown) => string>
    } = {
      ...everyAdapterOption,
      use: [tagged],
      errorHandler: true,
      prefix: '/api',
      logLevel: 'warn',
      logSerializers: { req: () => 'req' },
    }
    const url = await fastifyApp(async (app) => {
      await app.register(aikitFastify, options)
      app.get('/api/chat', async () => 'route')
    })
    const res = await fetch(`${url}/api/chat`)
    expect(res.headers.get('x-kit')).toBe('ran')
    expect(await res.text()).toBe('route')
  })

  it('works registered inside a prefixed plugin, its routes included', async () => {
    const url = await fastifyApp(async (app) => {
      await app.register(
        async (api) => {
          await api.register(aikitFastify, { use: [tagged], prefix: '/inner' })
          api.get('/chat', async () => 'route')
        },
        { prefix: '/api' }
      )
    })
    const res = await fetch(`${url}/api/chat`)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-kit')).toBe('ran')
    expect(await res.text()).toBe('route')
  })
})

describe('withAikit and aikitProxy', () => {
  const ok = () => new Response('route')

  it('refuse a misspelt option key at construction, naming it', () => {
    const error = refusal(() => withAikit(ok, tagged, { trustproxy: 1 } as never))
    expect(error.field).toBe('trustproxy')
    expect(error.message).toContain('`trustProxy`')
    expect(refusal(() => aikitProxy(tagged, { asyncContex: true } as never)).field).toBe(
      'asyncContex'
    )
  })

  it('accept every adapter option and run the chain', async () => {
    const res = await withAikit(
      ok,
      tagged,
      everyAdapterOption
    )(new Request('http://127.0.0.1/chat'), {})
    expect(res.headers.get('x-kit')).toBe('ran')
    expect(await res.text()).toBe('route')
    const proxied = await aikitProxy(tagged, everyAdapterOption)(new Request('http://127.0.0.1/'))
    expect(proxied.headers.get('x-kit')).toBe('ran')
  })
})
