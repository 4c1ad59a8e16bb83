// @upstash/ratelimit's slidingWindow against @aikit/ratelimit's sliding window on Redis. Upstash's
// client speaks HTTP (its REST API), so here it runs through bench/lib/upstash-rest-proxy.mjs: a
// local node:http server translating the REST calls to the same local redis-server. That proxy is
// an HTTP hop ours does not pay (and that Upstash's real service pays over the internet), so the
// ratio is indicative only: it says what a check costs through each client, not which Redis-side
// algorithm is faster. The hop's own cost is printed (a GET through @upstash/redis vs ioredis).
// Paired rounds, order alternating, medians of per-round ratios.
// Usage: pnpm --filter @aikit/ratelimit... build && node bench/ratelimit/upstash.mjs [--rounds 5]
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter } from '@aikit/ratelimit'
import { Ratelimit } from '@upstash/ratelimit'
import { Redis as UpstashRedis } from '@upstash/redis'
import { Redis } from 'ioredis'
import { startRedisServer } from '../lib/redis-server.mjs'
import { median, record } from '../lib/results.mjs'
import { startUpstashRestProxy } from '../lib/upstash-rest-proxy.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const rounds = arg('rounds', 5)
const total = arg('checks', 10_000)
const CONCURRENCY = 16
const fmt = (n) => Math.round(n).toLocaleString('en-US')

/** Runs `op(i)` `total` times with `concurrency` workers; returns ops/s. */
async function rate(n, concurrency, op) {
  let next = 0
  const start = process.hrtime.bigint()
  const worker = async () => {
    while (next < n) await op(next++)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return n / (Number(process.hrtime.bigint() - start) / 1e9)
}

const redis = await startRedisServer()
const proxy = await startUpstashRestProxy(redis.url)
const ioredis = new Redis(redis.url, { maxRetriesPerRequest: 1 })
const upstashRedis = new UpstashRedis({ url: proxy.url, token: 'local', retry: false })
try {
  // Correctness first: both deny the 4th of 3 allowed in a window, through the proxy too.
  const probeUp = new Ratelimit({
    redis: upstashRedis,
    limiter: Ratelimit.slidingWindow(3, '60 s'),
    prefix: 'probe',
  })
  const probeOurs = createRateLimiter({
    store: redisStore(ioredis),
    limits: [{ algorithm: 'sliding-window', limit: 3, window: '1m' }],
    prefix: 'probe',
  })
  const up = []
  const ours = []
  for (let i = 0; i < 4; i++) {
    up.push((await probeUp.limit('p')).success)
    ours.push((await probeOurs.check('p')).allowed)
  }
  const expected = 'true,true,true,false'
  if (String(up) !== expected || String(ours) !== expected) {
    throw new Error(`probe: upstash ${up}, aikit ${ours}, expected ${expected}`)
  }
  console.log('probe: both allow 3 of 4 checks in a 3-per-minute sliding window (proxy works)')

  const keys = Array.from({ length: 1000 }, (_, i) => `user-${i}`)
  let run = 0
  const contenders = {
    '@upstash/ratelimit slidingWindow (via REST proxy)': () => {
      const limiter = new Ratelimit({
        redis: upstashRedis,
        limiter: Ratelimit.slidingWindow(1_000_000, '60 s'),
        prefix: `up${run++}`,
      })
      return rate(total, CONCURRENCY, async (i) => {
        const r = await limiter.limit(keys[i % keys.length])
        if (!r.success) throw new Error('expected an allowed check')
      })
    },
    'aikit sliding-window (redisStore)': () => {
      const limiter = createRateLimiter({
        store: redisStore(ioredis),
        limits: [{ algorithm: 'sliding-window', limit: 1_000_000, window: '1m' }],
        prefix: `ai${run++}`,
      })
      return rate(total, CONCURRENCY, async (i) => {
        const r = await limiter.check(keys[i % keys.length])
        if (!r.allowed) throw new Error('expected an allowed check')
      })
    },
    'hop: GET via @upstash/redis + proxy': () =>
      rate(total, CONCURRENCY, (i) => upstashRedis.get(keys[i % keys.length])),
    'hop: GET via ioredis': () =>
      rate(total, CONCURRENCY, (i) => ioredis.get(keys[i % keys.length])),
  }
  const names = Object.keys(contenders)
  for (const name of names) await contenders[name]() // warm-up: scripts loaded, JIT, sockets
  const per = Object.fromEntries(names.map((n) => [n, []]))
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse())
      per[name].push(await contenders[name]())
  }
  const [UP, AI, HOP_UP, HOP_IO] = names
  const ratio = (a, b) => median(per[a].map((v, i) => v / per[b][i]))
  console.log(
    `\nallowed checks, concurrency ${CONCURRENCY}, 1,000 keys, ${fmt(total)} checks x ${rounds} rounds (medians)`
  )
  for (const name of names)
    console.log(`  ${name.padEnd(52)} ${fmt(median(per[name])).padStart(9)} ops/s`)
  const r = ratio(AI, UP)
  console.log(
    `  aikit vs @upstash/ratelimit: ${r.toFixed(2)}x (indicative: their client pays an HTTP hop)`
  )
  console.log(
    `  the hop alone: a GET through @upstash/redis + the proxy runs at ${ratio(HOP_UP, HOP_IO).toFixed(2)}x ioredis GET`
  )
  record({
    area: 'ratelimit',
    benchmark: 'Redis sliding window, allowed checks, c16 (indicative: local REST proxy hop)',
    ours: median(per[AI]),
    anchor: median(per[UP]),
    anchorName: '@upstash/ratelimit slidingWindow',
    unit: 'checks/s',
    ratio: r,
    target: null,
    issue: '10',
    note: `their client goes through a local HTTP proxy (a GET through it runs at ${ratio(HOP_UP, HOP_IO).toFixed(2)}x ioredis)`,
  })
} finally {
  ioredis.disconnect()
  await proxy.close()
  await redis.stop()
}
