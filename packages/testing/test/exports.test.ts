/**
 * Pins the runtime exports of each subpath of the (private) test harness: the other packages'
 * tests import these names, so a change here is a deliberate, reviewed change.
 */
import { describe, expect, it } from 'vitest'

const expected: Record<string, string[]> = {
  './fake-provider': ['estimateTokens', 'startFakeProvider'],
  './fuzz': [
    'JSON_TYPES',
    'NOT_JSON_TYPES',
    'OTHER_CHARSETS',
    'UTF8_CHARSETS',
    'adversarialBody',
    'adversarialText',
    'badBytes',
    'contentType',
    'hop',
    'jsonPiece',
    'socketPeer',
    'xff',
  ],
  './heap': ['collectGarbage', 'heapAfterGc'],
  './invalid-field': ['invalidField', 'rejectedField'],
  './next-app': ['nextFixture', 'serve', 'walk'],
  './raw-http': ['rawRequest'],
  './redis': ['freePort', 'rawCommand', 'startRedis', 'startRedisCluster', 'whenReady'],
  './sentinel': ['SENTINEL_MASTER_NAME', 'startRedisSentinel', 'startRedisSentinelWithReplica'],
}

const loaders: Record<string, () => Promise<Record<string, unknown>>> = {
  './fake-provider': () => import('@aikit/testing/fake-provider'),
  './fuzz': () => import('@aikit/testing/fuzz'),
  './heap': () => import('@aikit/testing/heap'),
  './invalid-field': () => import('@aikit/testing/invalid-field'),
  './next-app': () => import('@aikit/testing/next-app'),
  './raw-http': () => import('@aikit/testing/raw-http'),
  './redis': () => import('@aikit/testing/redis'),
  './sentinel': () => import('@aikit/testing/sentinel'),
}

describe('@aikit/testing exports', () => {
  for (const [subpath, names] of Object.entries(expected)) {
    it(subpath, async () => {
      const load = loaders[subpath]
      if (load === undefined) throw new Error(`no loader for ${subpath}`)
      expect(Object.keys(await load()).sort()).toEqual(names)
    })
  }

  it('covers every subpath of package.json', async () => {
    const pkg = (await import('../package.json', { with: { type: 'json' } })).default as {
      exports: Record<string, unknown>
    }
    expect(Object.keys(pkg.exports).sort()).toEqual(Object.keys(expected).sort())
    expect(Object.keys(loaders).sort()).toEqual(Object.keys(expected).sort())
  })
})
