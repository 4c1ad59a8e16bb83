/**
 * The setup of the tests of `aikitFastify` and `aikitRoute` over real Fastify servers on
 * 127.0.0.1: apps closed after the file's tests, and the app-wide chain they share (an
 * authentication middleware, a logger keeping its lines, a header-only middleware).
 */
import type { AikitFastifyOptions } from '@aikit/adapters/fastify'
import type { Context, Middleware } from '@aikit/core'
import { markStaticHeaders } from '@aikit/core/adapter'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll } from 'vitest'

export interface FastifyApps {
  /** A new app, closed after the file's tests. */
  newApp(): FastifyInstance
  /** A new app as `build` sets it up, listening on 127.0.0.1: its URL. */
  start(build: (app: FastifyInstance) => Promise<void> | void): Promise<string>
}

/** Called at a test file's top level: the apps it makes are closed after the file's tests. */
export function fastifyApps(): FastifyApps {
  const apps: FastifyInstance[] = []
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()))
  })
  const newApp = (): FastifyInstance => {
    const app = Fastify()
    apps.push(app)
    return app
  }
  return {
    newApp,
    async start(build) {
      const app = newApp()
      await build(app)
      return app.listen({ port: 0, host: '127.0.0.1' })
    },
  }
}

/** The app-wide authentication: the subject from `x-user`. */
export const auth: Middleware = async (ctx, next) => {
  const user = ctx.header('x-user')
  if (user !== undefined) ctx.state.subject = user
  await next()
}

export interface Line {
  message: string
  requestId?: string
  status?: number | null
  subject?: string
}

/** A logger keeping the lines requestLogger writes. */
export function captureLogger(): {
  lines: Line[]
  log: (l: string, m: string, meta: object) => void
} {
  const lines: Line[] = []
  return {
    lines,
    log(_level, message, meta) {
      lines.push({ message, ...meta })
    },
  }
}

/**
 * A header-only middleware (`X-Frame-Options: DENY`): a registration of it alone builds no
 * Context.
 */
export function denyFrames(): Middleware {
  return markStaticHeaders(async (_ctx: Context, next: () => Promise<void>) => next(), {
    names: ['X-Frame-Options'],
    lowerNames: ['x-frame-options'],
    values: ['DENY'],
    removePoweredBy: false,
  })
}

/**
 * An enclosing registration's options that record what each request ended with: `outer` gets
 * `[status, error message]` after its `next()`, `reported` the messages `onError` is given.
 */
export function recordErrors(): {
  outer: unknown[]
  reported: string[]
  options: AikitFastifyOptions
} {
  const outer: unknown[] = []
  const reported: string[] = []
  return {
    outer,
    reported,
    options: {
      use: [
        async (ctx, next) => {
          await next()
          outer.push([ctx.status, (ctx.error as Error | undefined)?.message])
        },
      ],
      onError: (error) => reported.push((error as Error).message),
    },
  }
}
