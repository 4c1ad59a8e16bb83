/**
 * `http_route` under Express never carries client text: random paths (mount and route segments
 * in any case, params, percent-escapes, dots, empty segments, stray text) sent to real Express 5
 * and 4 apps with many mount styles (literal, params, wildcard, optional, RegExp, arrays of paths,
 * sub-apps, nested routers with and without mergeParams, a case-sensitive router, a router called
 * from a function, one router mounted twice) are only ever labelled with a registered template or
 * left unmatched.
 */
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import type { Context } from '@aikit/core'
import { createMetrics, httpMetrics, routeOf } from '@aikit/observability'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { type App, type ExpressModule, express4, express5 } from './route-scrape.js'

const servers: Server[] = []
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
})

const ok = (_req: unknown, res: { json(body: unknown): void }): void => res.json({ ok: true })

/** Mounts of both majors' syntax; returns the templates they may be labelled with. */
function mountCommon(express: ExpressModule, app: App): string[] {
  app.get('/health', ok)
  const v1 = express.Router()
  v1.get('/items/:id', ok)
  app.use('/api/v1', v1)
  const users = express.Router()
  users.get('/posts/:postId', ok)
  users.get('/', ok)
  app.use('/users/:userId', users)
  const versioned = express.Router()
  versioned.get('/x', ok)
  app.use(/^\/v\d+/, versioned)
  const several = express.Router()
  several.get('/z', ok)
  app.use(['/one', '/two/:n'], several)
  const sub = express()
  sub.get('/s/:q', ok)
  app.use('/sub/:tenant', sub)
  const inner = express.Router({ mergeParams: true })
  inner.get('/leaf/:l', ok)
  const outer = express.Router()
  outer.use('/in/:i', inner)
  app.use('/out/:o', outer)
  const sensitive = express.Router({ caseSensitive: true })
  sensitive.get('/Q', ok)
  app.use('/CS', sensitive)
  const wrapped = express.Router()
  wrapped.get('/k', ok)
  app.use('/wrap/:w', (req, res, next) => wrapped(req, res, next))
  const twice = express.Router()
  twice.get('/y', ok)
  app.use('/m1', twice)
  app.use('/m2/:x', twice)
  return [
    '/health',
    '/api/v1/items/:id',
    '/users/:userId/posts/:postId',
    '/users/:userId/',
    `${String(/^\/v\d+/)}/x`,
    '/one/z',
    '/two/:n/z',
    '/sub/:tenant/s/:q',
    '/out/:o/in/:i/leaf/:l',
    '/cs/Q',
    '/wrap/:w/k',
    '/m1/y',
    '/m2/:x/y',
  ]
}

function mount5(app: App): string[] {
  const files = express5.Router()
  files.get('/', ok)
  files.get('/meta', ok)
  app.use('/files/*splat', files)
  const optional = express5.Router()
  optional.get('/x', ok)
  app.use('/a{/:opt}/b', optional)
  return [...mountCommon(express5, app), '/files/*splat/', '/files/*splat/meta', '/a{/:opt}/b/x']
}

function mount4(app: App): string[] {
  const files = express4.Router()
  files.get('/', ok)
  files.get('/meta', ok)
  app.use('/files/*', files)
  // A quantifier, an optional character or a class makes the expression the template: whatever
  // it prints, one value per mount (`PATTERN_MOUNTS`).
  const patterned = express4.Router()
  patterned.get('/x', ok)
  app.use('/ab+cd', patterned)
  app.use('/pq?', patterned)
  app.use('/k/[a-c]', patterned)
  return [...mountCommon(express4, app), '/files/*/', '/files/*/meta']
}

/** Client text for a param or a stray segment: values equal to literal segments included. */
const LITERALS = [
  'api',
  'v1',
  'items',
  'users',
  'posts',
  'files',
  'meta',
  'a',
  'b',
  'x',
  'one',
  'two',
  'z',
  'sub',
  's',
  'out',
  'in',
  'leaf',
  'wrap',
  'k',
  'm1',
  'm2',
  'y',
  'cs',
  'Q',
  'health',
  'abcd',
]
const value = fc.oneof(
  fc.constantFrom(
    ...LITERALS,
    '1',
    '42',
    '%41',
    '%61pi',
    '%2F',
    '%zz',
    '%',
    '.',
    '..',
    ';x',
    '%E2%82%AC'
  ),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{1,8}$/)
)
/** A literal segment as a client may spell it: any case, or percent-escaped. */
const spelt = (text: string) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(text) },
    fc.constant(text.toUpperCase()),
    fc
      .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
      .map((up) => [...text].map((c, i) => (up[i] ? c.toUpperCase() : c)).join('')),
    fc.constant(`%${text.charCodeAt(0).toString(16)}${text.slice(1)}`)
  )
const P = Symbol('param')
/** The shapes the mounts take, `P` a param; other segments literal. */
const SHAPES: (string | typeof P)[][] = [
  ['health'],
  ['api', 'v1', 'items', P],
  ['users', P, 'posts', P],
  ['users', P],
  ['v1', 'x'],
  ['v2024', 'x'],
  ['one', 'z'],
  ['two', P, 'z'],
  ['sub', P, 's', P],
  ['out', P, 'in', P, 'leaf', P],
  ['CS', 'Q'],
  ['wrap', P, 'k'],
  ['m1', 'y'],
  ['m2', P, 'y'],
  ['files', P],
  ['files', P, P, 'meta'],
  ['a', 'b', 'x'],
  ['a', P, 'b', 'x'],
  ['abcd', 'x'],
  ['abbbbcd', 'x'],
  ['p', 'x'],
  ['pq', 'x'],
  ['k', 'a', 'x'],
  ['k', 'c', 'x'],
]
/** Express 4 mounts recorded as their expression (`mount4`). */
const PATTERN_MOUNTS = 3
const shaped = fc
  .constantFrom(...SHAPES)
  .chain((shape) => fc.tuple(...shape.map((part) => (part === P ? value : spelt(part)))))
  .map((parts) => parts)
const noise = fc.array(fc.oneof(value, fc.constant('')), { maxLength: 2 })
const path = fc
  .tuple(shaped, noise, fc.boolean(), fc.boolean())
  .map(
    ([parts, extra, extraFirst, slash]) =>
      `/${(extraFirst ? [...extra, ...parts] : [...parts, ...extra]).join('/')}${slash ? '/' : ''}`
  )

/** GETs `target` as written (no URL normalisation of dots or escapes). */
function get(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: target }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}

describe.each([
  ['Express 5', express5, mount5],
  ['Express 4', express4, mount4],
])('http_route of random paths through %s mounts', (_name, express, mount) => {
  it('is a registered template or unmatched, whatever the client sends', async () => {
    const labels: (string | undefined)[] = []
    const record = (ctx: Context): string | undefined => {
      const label = routeOf(ctx)
      labels.push(label)
      return label
    }
    const metrics = createMetrics({ key: false })
    const app = express()
    app.use(toExpress(httpMetrics(metrics, { route: record })))
    const templates = new Set(mount(app))
    const server = createServer(app)
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    const extra = new Set<string>()
    let matched = 0
    await fc.assert(
      fc.asyncProperty(path, async (target) => {
        labels.length = 0
        const status = await get(port, target)
        await new Promise((r) => setImmediate(r))
        for (const label of labels) {
          if (label === undefined) continue
          matched++
          if (templates.has(label)) continue
          // Express 4's compiled pattern mounts, never the text they matched.
          expect(label, `${target} (${status})`).toMatch(/^\/\^.*\/i\/x$/)
          expect(label).not.toMatch(/abb|abcd|\/pq?\/|\/k\/[a-c]\//i)
          extra.add(label)
        }
      }),
      { numRuns: 400 }
    )
    expect(extra.size).toBeLessThanOrEqual(PATTERN_MOUNTS)
    expect(matched).toBeGreaterThan(40)
  })
})
