/** Pins the public runtime exports of each subpath: a change here is a public API change. */
import { describe, expect, it } from 'vitest'

const expected: Record<string, string[]> = {
  './express': ['ExpressContext', 'aikitErrorHandler', 'toExpress'],
  './fastify': ['FastifyContext', 'aikitFastify', 'aikitRoute'],
  './next': ['aikitProxy', 'canSetRequestHeader', 'setRequestHeader', 'withAikit'],
  './node': ['NodeContext', 'toNodeHandler'],
}

const loaders: Record<string, () => Promise<Record<string, unknown>>> = {
  './express': () => import('@aikit/adapters/express'),
  './fastify': () => import('@aikit/adapters/fastify'),
  './next': () => import('@aikit/adapters/next'),
  './node': () => import('@aikit/adapters/node'),
}

describe('@aikit/adapters exports', () => {
  for (const [subpath, names] of Object.entries(expected)) {
    it(subpath, async () => {
      const mod = await loaders[subpath]!()
      expect(Object.keys(mod).sort()).toEqual(names)
    })
  }

  it('covers every subpath of package.json', async () => {
    const pkg = (await import('../package.json', { with: { type: 'json' } })).default as {
      exports: Record<string, unknown>
    }
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json')
    expect(subpaths.sort()).toEqual(Object.keys(expected).sort())
  })
})
