/**
 * `routeOf` reads Fastify's route template from the route context on the request (what
 * `request.routeOptions.url` returns, without the object that getter builds per read), falls back
 * to `routeOptions.url` without it, and agrees with `routeOptions.url` on a real Fastify server,
 * 404s included.
 */
import type { Context } from '@aikit/core'
import { routeOf } from '@aikit/observability'
import { afterAll, describe, expect, it } from 'vitest'
import { closeAll, fastifyApp } from './servers.js'

afterAll(closeAll)

const asContext = (request: object): Context => ({ request }) as unknown as Context

describe('routeOf on Fastify requests', () => {
  it("reads the route context's config.url, not the routeOptions getter", () => {
    const request = {
      [Symbol('fastify.context')]: { config: { url: '/from/context' } },
      get routeOptions(): { url: string } {
        throw new Error('the getter must not be read when the route context is there')
      },
    }
    expect(routeOf(asContext(request))).toBe('/from/context')
  })

  it('falls back to routeOptions.url when the request has no route context', () => {
    expect(routeOf(asContext({ routeOptions: { url: '/from/options' } }))).toBe('/from/options')
    expect(routeOf(asContext({ routeOptions: {} }))).toBeUndefined()
    expect(routeOf(asContext({}))).toBeUndefined()
  })

  it('gives what routeOptions.url gives on a real server, a 404 included', async () => {
    const seen: [string | undefined, unknown][] = []
    const base = await fastifyApp([
      async (ctx, next) => {
        await next()
        const options = (ctx as unknown as { request: { routeOptions: { url?: unknown } } }).request
          .routeOptions
        seen.push([routeOf(ctx), options.url])
      },
    ])
    for (const path of ['/items/1', '/items/2', '/nowhere']) await (await fetch(base + path)).text()
    expect(seen.map(([ours]) => ours)).toEqual(['/items/:id', '/items/:id', undefined])
    for (const [ours, fastify] of seen) expect(ours).toBe(fastify)
  })
})
