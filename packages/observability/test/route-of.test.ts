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

/** A Context over an Express request as routing leaves it when the response finishes. */
const expressContext = (baseUrl: string, path: unknown, params: Record<string, unknown>) =>
  ({ req: { baseUrl, route: { path }, params } }) as unknown as Context

describe('routeOf on Express requests', () => {
  it('joins a literal mount path and the route path; a route on the app has no mount path', () => {
    expect(routeOf(expressContext('/api/v1', '/items/:id', { id: 'a' }))).toBe('/api/v1/items/:id')
    expect(routeOf(expressContext('', '/items/:id', { id: 'a' }))).toBe('/items/:id')
    expect(routeOf(expressContext('/api', '/health', {}))).toBe('/api/health')
  })

  it('puts the params of a mount path back as :name (baseUrl is the matched text)', () => {
    expect(
      routeOf(expressContext('/users/42/posts', '/:postId', { userId: '42', postId: '9' }))
    ).toBe('/users/:userId/posts/:postId')
    // Two mount levels, and a route param whose value is also a literal segment of the mount.
    expect(
      routeOf(
        expressContext('/orgs/acme/users/42', '/:section', {
          orgId: 'acme',
          userId: '42',
          section: 'users',
        })
      )
    ).toBe('/orgs/:orgId/users/:userId/:section')
    // Express decodes param values; baseUrl keeps the percent-encoding.
    expect(routeOf(expressContext('/users/a%20b/posts', '/', { userId: 'a b' }))).toBe(
      '/users/:userId/posts/'
    )
  })

  it.each([
    ['a value in two segments (two params)', '/orgs/7/users/7', { orgId: '7', userId: '7' }],
    ['a value equal to a literal segment', '/users/users/posts', { userId: 'users' }],
    ['a value that is only part of a segment', '/v2/chat', { version: '2' }],
    ['a value spanning segments (a wildcard)', '/files/a/b', { rest: ['a', 'b'] }],
    ['a value found nowhere', '/users/42/posts', { userId: '43' }],
  ])('gives undefined (unmatched), never the raw path, for %s', (_name, baseUrl, params) => {
    expect(routeOf(expressContext(baseUrl, '/:postId', { ...params, postId: '9' }))).toBeUndefined()
  })
})
