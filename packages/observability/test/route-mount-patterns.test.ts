/**
 * `http_route` is "the route template …, never the raw path" (README): the mount part of an
 * Express route comes from the mount paths as registered, whatever their form. A regular
 * expression (or, on Express 4, a string path with a quantifier such as `/ab+cd`) matches text no
 * template describes, so the text it matched is never the label: the expression is. Express 5's
 * wildcard (`/*splat`) and optional (`{/:opt}`) mount paths are recorded as written; a param
 * whose value equals a literal segment (`/users/users`) is still the param. The first mount in
 * stack order that explains `baseUrl` is the one Express took, whichever requests came first.
 * Real Express 5 and Express 4 servers on 127.0.0.1.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { closeServers, express4, express5, ok, routesAfter } from './route-scrape.js'

afterAll(closeServers)

describe.each([
  ['Express 5', express5],
  ['Express 4', express4],
])('httpMetrics route of a router mounted on a pattern (%s)', (_name, express) => {
  it('records a regular-expression mount path as the expression, never the text it matched', async () => {
    const { routes, overflow } = await routesAfter(
      express,
      (app) => {
        const r = express.Router()
        r.get('/x', ok)
        app.use(/^\/v\d+/, r)
      },
      [
        ['/v1/x', 200],
        ['/v22/x', 200],
        ['/v333/x', 200],
      ],
      2
    )
    expect(overflow).toBe(0)
    // As exposed: Prometheus escapes the backslashes of a label value.
    expect(routes).toEqual([[`${String(/^\/v\d+/)}/x`.replaceAll('\\', '\\\\'), 3]])
  })

  it('records a param whose value equals a literal segment of the mount path as the param', async () => {
    const { routes } = await routesAfter(
      express,
      (app) => {
        const r = express.Router()
        r.get('/x', ok)
        app.use('/users/:id', r)
      },
      [
        ['/users/users/x', 200],
        ['/users/x/x', 200],
        ['/users/7/x', 200],
      ]
    )
    expect(routes).toEqual([['/users/:id/x', 3]])
  })

  it('records the mount Express took (the first in stack order), whichever request came first', async () => {
    const { routes } = await routesAfter(
      express,
      (app) => {
        const r = express.Router()
        r.get('/x', ok)
        app.use('/a/b', r)
        app.use('/a/:id', r)
      },
      [
        ['/a/1/x', 200],
        ['/a/b/x', 200],
        ['/a/2/x', 200],
      ]
    )
    expect(routes).toEqual([
      ['/a/:id/x', 2],
      ['/a/b/x', 1],
    ])
  })
})

describe('httpMetrics route of a router mounted on a pattern (Express 5 syntax)', () => {
  it('records a wildcard mount path as written', async () => {
    const { routes } = await routesAfter(
      express5,
      (app) => {
        const r = express5.Router()
        r.get('/', ok)
        app.use('/files/*splat', r)
      },
      [
        ['/files/a', 200],
        ['/files/a/b/c', 200],
      ]
    )
    expect(routes).toEqual([['/files/*splat/', 2]])
  })

  it('records a mount path with an optional segment as written, present or not', async () => {
    const { routes } = await routesAfter(
      express5,
      (app) => {
        const r = express5.Router()
        r.get('/x', ok)
        app.use('/a{/:opt}/B', r)
      },
      [
        ['/a/b/x', 200],
        ['/a/q/b/x', 200],
        ['/A/r/B/x', 200],
      ]
    )
    expect(routes).toEqual([['/a{/:opt}/b/x', 3]])
  })
})

describe('httpMetrics route of a router mounted on a pattern (Express 4 syntax)', () => {
  it('never records the text a quantifier in a string mount path matched', async () => {
    const { routes, overflow } = await routesAfter(
      express4,
      (app) => {
        const r = express4.Router()
        r.get('/x', ok)
        app.use('/ab+cd', r)
      },
      [
        ['/abcd/x', 200],
        ['/abbbcd/x', 200],
        ['/abbbbbbcd/x', 200],
      ],
      2
    )
    expect(overflow).toBe(0)
    expect(routes).toHaveLength(1)
    expect(routes[0]![1]).toBe(3)
    expect(routes[0]![0]).not.toMatch(/abb|abcd/)
  })

  it.each([
    ['an optional character', '/abc?', ['/ab/x', '/abc/x', '/ABC/x']],
    ['a character class', '/x/[a-z]', ['/x/a/x', '/x/z/x', '/x/q/x']],
    ['an alternation', '/(ab|cd)e', ['/abe/x', '/cde/x']],
    ['an optional group', '/(ab)?c', ['/c/x', '/abc/x']],
  ])(
    'records a mount path with %s as one value, never the text it matched',
    async (_what, mountPath, paths) => {
      const { routes, overflow } = await routesAfter(
        express4,
        (app) => {
          const r = express4.Router()
          r.get('/x', ok)
          app.use(mountPath, r)
        },
        paths.map((p): [string, number] => [p, 200])
      )
      expect(overflow).toBe(0)
      expect(routes).toHaveLength(1)
      expect(routes[0]![1]).toBe(paths.length)
      // The compiled expression, as a RegExp mount is recorded.
      expect(routes[0]![0]).toMatch(/^\/\^.*\/i\/x$/)
    }
  )

  it('still records literal, param, wildcard and array mount paths from their text', async () => {
    const { routes } = await routesAfter(
      express4,
      (app) => {
        const r = express4.Router()
        r.get('/x', ok)
        app.use('/API/v1.2', r)
        app.use('/file-:name', r)
        app.use('/:from-:to', r)
        app.use(['/one', '/two/:n'], r)
        app.use(/^\/re\/(\d+)/, r)
      },
      [
        ['/api/V1.2/x', 200],
        ['/file-a/x', 200],
        ['/q-r/x', 200],
        ['/one/x', 200],
        ['/two/7/x', 200],
        ['/re/42/x', 200],
      ]
    )
    expect(routes).toEqual([
      ['/api/v1.2/x', 1],
      ['/file-:name/x', 1],
      ['/:from-:to/x', 1],
      ['/one/x', 1],
      ['/two/:n/x', 1],
      ['/re/*/x', 1],
    ])
  })

  it('records a wildcard mount path as *', async () => {
    const { routes } = await routesAfter(
      express4,
      (app) => {
        const r = express4.Router()
        r.get('/', ok)
        app.use('/files/*', r)
      },
      [
        ['/files/a', 200],
        ['/files/a/b/c', 200],
      ]
    )
    expect(routes).toEqual([['/files/*/', 2]])
  })
})

describe('httpMetrics route when the router tree cannot be read (Express 5)', () => {
  it('records _unmatched, never the mount text, when the app router does not expose its stack', async () => {
    const { routes } = await routesAfter(
      express5,
      (app) => {
        const r = express5.Router()
        r.get('/', ok)
        app.use('/users/:id', r)
        // A router version that keeps its layers elsewhere: dispatch works, the tree is hidden.
        const real = app.router as unknown as { handle: (...args: unknown[]) => unknown }
        const hidden = { handle: real.handle.bind(real) }
        Object.defineProperty(app, 'router', { get: () => hidden, configurable: true })
      },
      [
        ['/users/1', 200],
        ['/users/2', 200],
      ]
    )
    expect(routes).toEqual([['_unmatched', 2]])
  })
})
