import { existsSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { rawCommand, startRedis, startRedisCluster } from '../src/redis.js'

describe('startRedis', () => {
  it('starts a server, hands out clients, survives kill/restart on the same port, and stops', async () => {
    const server = await startRedis()
    try {
      expect(server.host).toBe('127.0.0.1')
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
      const client = server.client()
      await client.set('k', 'v')
      expect(await client.get('k')).toBe('v')
      const dir = await client.config('GET', 'dir')
      expect(existsSync(String(dir[1]))).toBe(true)

      await server.kill()
      await expect(rawCommand(server.port, ['PING'], 300)).rejects.toThrow()
      await server.restart()
      expect(await rawCommand(server.port, ['PING'])).toBe('PONG')
      // No persistence: the data is gone after the restart.
      const fresh = server.client({ maxRetriesPerRequest: 1 })
      expect(await fresh.get('k')).toBeNull()

      await server.stop()
      expect(existsSync(String(dir[1]))).toBe(false)
      await expect(rawCommand(server.port, ['PING'], 300)).rejects.toThrow()
    } finally {
      await server.stop()
    }
  })

  it('passes extra arguments to redis-server', async () => {
    const server = await startRedis({ args: ['--maxmemory', '12mb'] })
    try {
      expect(await server.client().config('GET', 'maxmemory')).toEqual(['maxmemory', '12582912'])
    } finally {
      await server.stop()
    }
  })
})

describe('startRedisCluster', () => {
  let handle: Awaited<ReturnType<typeof startRedisCluster>> | undefined
  afterAll(async () => {
    await handle?.stop()
  })

  it('starts 3 masters covering all slots and a Cluster client that routes by slot', async () => {
    handle = await startRedisCluster()
    expect(handle.nodes).toHaveLength(3)
    for (const node of handle.nodes) {
      expect(await rawCommand(node.port, ['CLUSTER', 'INFO'])).toContain(
        'cluster_slots_assigned:16384'
      )
    }
    const cluster = handle.cluster()
    for (let i = 0; i < 20; i++) await cluster.set(`key-${i}`, String(i))
    expect(await cluster.get('key-13')).toBe('13')
    const sizes = await Promise.all(
      handle.nodes.map((n) => rawCommand(n.port, ['DBSIZE']).then(Number))
    )
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(20)
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThan(1)
  }, 130_000) // cluster creation may retry once on a loaded machine
})
