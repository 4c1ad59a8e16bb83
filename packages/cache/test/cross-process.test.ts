/**
 * Two separate Node processes (500 calls each) share one redis-server: 1,000 concurrent getOrSet on
 * a missing key with a 50 ms fetcher must run the fetcher exactly once in total. The children run
 * the real cache code (bundled from source, see fixtures/bundle.ts), each with its own connections.
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleChildEntry } from './fixtures/bundle.js'

const CHILD = `
const cfg = JSON.parse(process.env.AIKIT_CACHE_CHILD)
const { createCache, redisStore } = await import(cfg.bundle)
const { Redis } = await import(cfg.ioredis)
const client = new Redis(cfg.url, { maxRetriesPerRequest: 1 })
const subscriber = new Redis(cfg.url)
const store = redisStore(client, { prefix: cfg.prefix, commandTimeoutMs: 2000 })
const cache = createCache({ store, bus: { publisher: client, subscriber, channel: cfg.prefix } })
await client.ping()
await subscriber.ping()
process.stdout.write('ready\\n')
await new Promise((resolve) => process.stdin.once('data', resolve))
let fetches = 0
const fetcher = async () => { fetches++; await new Promise((r) => setTimeout(r, 50)); return { filled: true } }
const results = await Promise.all(Array.from({ length: cfg.calls }, () => cache.getOrSet('stampede', fetcher)))
const ok = results.filter((r) => r && r.filled === true).length
process.stdout.write(JSON.stringify({ fetches, ok }) + '\\n')
await cache.close()
client.disconnect()
subscriber.disconnect()
process.exit(0)
`

let server: RedisServer
let bundle: string
beforeAll(async () => {
  ;[server, bundle] = await Promise.all([startRedis(), bundleChildEntry()])
}, 30_000)
afterAll(async () => {
  await server?.stop()
})

function child(cfg: Record<string, unknown>) {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, AIKIT_CACHE_CHILD: JSON.stringify(cfg) },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  let onReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    onReady = resolve
  })
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    if (out.startsWith('ready\n')) onReady()
  })
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const result = new Promise<{ fetches: number; ok: number }>((resolve, reject) => {
    proc.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (code !== 0 || line === undefined)
        reject(new Error(`child exited with ${code}: ${err || out}`))
      else resolve(JSON.parse(line) as { fetches: number; ok: number })
    })
  })
  result.catch(() => onReady())
  return { proc, ready, result }
}

describe('cross-process single-flight', () => {
  it('1,000 concurrent getOrSet from two processes (500 each) make one fetch', async () => {
    const cfg = {
      bundle: pathToFileURL(bundle).href,
      ioredis: pathToFileURL(createRequire(import.meta.url).resolve('ioredis')).href,
      url: server.url,
      prefix: `xp${Math.random().toString(36).slice(2, 8)}`,
      calls: 500,
    }
    const children = [child(cfg), child(cfg)]
    await Promise.all(children.map((c) => c.ready))
    for (const c of children) c.proc.stdin.write('go\n')
    const results = await Promise.all(children.map((c) => c.result))
    expect(results.map((r) => r.ok)).toEqual([500, 500])
    expect(results[0]!.fetches + results[1]!.fetches).toBe(1)
  }, 20_000)
})
