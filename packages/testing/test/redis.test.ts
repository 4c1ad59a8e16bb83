import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { rawCommand, startRedis, startRedisCluster, whenReady } from '../src/redis.js'

/** Pids of the redis-server processes whose parent is this test process (from /proc). */
function childRedisPids(): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (comm.startsWith('redis-server') && ppid === process.pid) pids.push(Number(entry))
  }
  return pids
}

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

  it('kills a server that never answers PING and names its last error reply (NOAUTH)', async () => {
    const before = new Set(childRedisPids())
    // --requirepass: the server runs, but answers every PING with -NOAUTH. 3 s, not less: on a
    // loaded runner the server may not answer the first PINGs at all (the last error is then "no
    // reply"), and the test is about the NOAUTH one it names once it answers.
    const error = await startRedis({ args: ['--requirepass', 'pw'], timeoutMs: 3000 }).then(
      () => undefined,
      (e: unknown) => e
    )
    const leaked = childRedisPids().filter((pid) => !before.has(pid))
    try {
      expect(error).toBeInstanceOf(Error)
      expect(String(error)).toMatch(/timed out .* waiting for PING on port \d+ .*NOAUTH/)
      expect(leaked).toEqual([])
    } finally {
      for (const pid of leaked) process.kill(pid, 'SIGKILL')
    }
  })

  it('restart() kills a relaunched server that never answers PING, and rejects', async () => {
    // The relaunch reads the same --include file, which now sets a password.
    const dir = mkdtempSync(join(tmpdir(), 'aikit-redis-test-'))
    const conf = join(dir, 'extra.conf')
    writeFileSync(conf, '')
    // 3 s: the same wait bounds the first start, which must succeed, and the relaunch, which must
    // get as far as the NOAUTH reply (a loaded runner can take >0.3 s to spawn redis-server).
    const server = await startRedis({ args: ['--include', conf], timeoutMs: 3_000 })
    try {
      writeFileSync(conf, 'requirepass pw\n')
      const before = new Set(childRedisPids())
      await expect(server.restart()).rejects.toThrow(/NOAUTH/)
      expect(childRedisPids().filter((pid) => !before.has(pid))).toEqual([])
    } finally {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
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

describe('whenReady', () => {
  it('resolves for a ready client and rejects after its timeout with the status and last error', async () => {
    const server = await startRedis()
    try {
      await whenReady(server.client())
      await server.kill()
      // A client created while the server is down never becomes ready, and ioredis never ends it.
      const late = server.client()
      const error = await whenReady(late, 500).then(
        () => undefined,
        (e: unknown) => e
      )
      expect(error).toBeInstanceOf(Error)
      expect(String(error)).toMatch(
        /not ready after 500 ms \(status \w+, last error: .*ECONNREFUSED/
      )
    } finally {
      await server.stop()
    }
  })

  it('rejects at once for a client that has ended', async () => {
    const server = await startRedis()
    try {
      const client = server.client({ lazyConnect: true })
      client.disconnect()
      await expect(whenReady(client)).rejects.toThrow(/ended/)
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
