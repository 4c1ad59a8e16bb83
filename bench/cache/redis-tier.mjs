// Focused Redis-tier hit bench (the c64 row of run.mjs, same setup and anchors), for profiling and
// quick interleaved measurements while tuning. run.mjs stays the official report.
//
//   pnpm --filter @aikit/cache build && node bench/cache/redis-tier.mjs [--rounds 9] [--c 64]
//   node bench/cache/redis-tier.mjs --only aikit --rounds 10 --prof /tmp/a.cpuprofile  (profile)
//   --store / --bare / --pipe / --onewrite add diagnostic contenders (see below); --c, --ms set
//   concurrency, slot.
import { createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { BentoCache, bentostore } from 'bentocache'
import { redisDriver } from 'bentocache/drivers/redis'
import { Redis } from 'ioredis'
import { startRedisServer } from '../lib/redis-server.mjs'
import { KEYS, VALUES } from './fixture.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

let misses = 0
/** Node CPU µs per hit of the last `rate` call (user+system of this process, all threads). */
let cpuPerHit = 0

async function rate(ms, concurrency, op) {
  let n = 0
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  const end = start + ms
  const worker = async () => {
    while (performance.now() < end) {
      for (let j = 0; j < 64; j++) {
        const i = n++ % KEYS.length
        const v = await op(i)
        if (v === undefined) misses++
        else if (v.id !== VALUES[i].id) throw new Error(`wrong value for ${KEYS[i]}`)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const cpu = process.cpuUsage(cpu0)
  cpuPerHit = (cpu.user + cpu.system) / (n - misses)
  return (n - misses) / ((performance.now() - start) / 1000)
}

const rounds = Number(arg('rounds', 9))
const concurrency = Number(arg('c', 64))
const only = arg('only', undefined)
const ms = Number(arg('ms', 400))
const redis = await startRedisServer()
const clients = [0, 1, 2].map(() => new Redis(redis.url, { maxRetriesPerRequest: 1 }))
const [rawClient, aikitClient, bentoClient] = clients
const prefix = `b${Date.now().toString(36)}`
const aikit = createCache({
  store: redisStore(aikitClient, { prefix, commandTimeoutMs: 1000 }),
  memory: { maxEntries: 1 },
  ttl: 3_600_000,
})
const bento = new BentoCache({
  default: 'r',
  prefix,
  stores: { r: bentostore().useL2Layer(redisDriver({ connection: bentoClient })) },
})
for (let i = 0; i < KEYS.length; i++) {
  await rawClient.set(`${prefix}:raw:${KEYS[i]}`, JSON.stringify(VALUES[i]))
  await aikit.set(KEYS[i], VALUES[i])
  await bento.set({ key: KEYS[i], value: VALUES[i], ttl: '1h' })
}
const contenders = {
  raw: () =>
    rate(ms, concurrency, async (i) => JSON.parse(await rawClient.get(`${prefix}:raw:${KEYS[i]}`))),
  aikit: () => rate(ms, concurrency, (i) => aikit.get(KEYS[i])),
  bento: () => rate(ms, concurrency, (i) => bento.get({ key: KEYS[i] })),
}
// --store: also core's redisStore.get + JSON.parse on the raw values (the ceiling under the cache).
if (process.argv.includes('--store')) {
  const storeClient = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  clients.push(storeClient)
  const store = redisStore(storeClient, { commandTimeoutMs: 1000 })
  contenders.store = () =>
    rate(ms, concurrency, async (i) => {
      const text = await store.get(`${prefix}:raw:${KEYS[i]}`)
      return text === undefined ? undefined : JSON.parse(text)
    })
}
// --bare: aikit over a store whose get is the bare client call (no timeout, no breaker): the ceiling
// the cache layer could reach with a cheaper store get (a prototype measure, not a store to use).
if (process.argv.includes('--bare')) {
  const bareClient = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  clients.push(bareClient)
  const real = redisStore(bareClient, { prefix, commandTimeoutMs: 1000 })
  const bareStore = { ...real, get: (key) => bareClient.get(key).then((v) => v ?? undefined) }
  const bare = createCache({ store: bareStore, memory: { maxEntries: 1 }, ttl: 3_600_000 })
  for (let i = 0; i < KEYS.length; i++) await bare.set(KEYS[i], VALUES[i])
  contenders.bare = () => rate(ms, concurrency, (i) => bare.get(KEYS[i]))
}
// --pipe: aikit over a get that coalesces the GETs of one tick into one write (ioredis
// autopipelining on a separate client): what a store sending a tick's reads together would give.
if (process.argv.includes('--pipe')) {
  const pipeClient = new Redis(redis.url, { maxRetriesPerRequest: 1, enableAutoPipelining: true })
  clients.push(pipeClient)
  const real = redisStore(pipeClient, { prefix, commandTimeoutMs: 1000 })
  const pipeStore = { ...real, get: (key) => pipeClient.get(key).then((v) => v ?? undefined) }
  const piped = createCache({ store: pipeStore, memory: { maxEntries: 1 }, ttl: 3_600_000 })
  for (let i = 0; i < KEYS.length; i++) await piped.set(KEYS[i], VALUES[i])
  contenders.pipe = () => rate(ms, concurrency, (i) => piped.get(KEYS[i]))
}
// --onewrite: aikit with the store's write coalescing off (one socket write per command, like raw).
if (process.argv.includes('--onewrite')) {
  const oneClient = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  clients.push(oneClient)
  const one = createCache({
    store: redisStore(oneClient, { prefix, commandTimeoutMs: 1000, coalesceWrites: false }),
    memory: { maxEntries: 1 },
    ttl: 3_600_000,
  })
  contenders.onewrite = () => rate(ms, concurrency, (i) => one.get(KEYS[i]))
}
const names = only ? [only] : Object.keys(contenders)
// --prof <file>: a CPU profile of the measured rounds only (setup excluded).
const profFile = arg('prof', undefined)
let session
if (profFile) {
  const { Session } = await import('node:inspector/promises')
  session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
}
const per = Object.fromEntries(names.map((n) => [n, []]))
const cpuPer = Object.fromEntries(names.map((n) => [n, []]))
for (let r = 0; r < rounds; r++) {
  for (const name of r % 2 === 0 ? names : [...names].reverse()) {
    misses = 0
    per[name].push(await contenders[name]())
    cpuPer[name].push(cpuPerHit)
    if (misses) console.log(`  ${name}: ${misses} misses`)
  }
}
if (session) {
  const { profile } = await session.post('Profiler.stop')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(profFile, JSON.stringify(profile))
}
for (const n of names) {
  const cpu = median(cpuPer[n]).toFixed(2)
  console.log(`${n.padEnd(6)} ${Math.round(median(per[n]))} hits/s   ${cpu} µs node CPU per hit`)
}
if (!only) {
  const ratio = (a, b) => median(per[a].map((v, i) => v / per[b][i])).toFixed(3)
  console.log(`aikit/raw ${ratio('aikit', 'raw')}  aikit/bento ${ratio('aikit', 'bento')}`)
  if (per.store)
    console.log(`store/raw ${ratio('store', 'raw')}  aikit/store ${ratio('aikit', 'store')}`)
  if (per.bare) console.log(`aikit-on-bare-get/raw ${ratio('bare', 'raw')}`)
  if (per.pipe) console.log(`aikit-on-pipelined-get/raw ${ratio('pipe', 'raw')}`)
  if (per.onewrite) console.log(`aikit-coalesceWrites-false/raw ${ratio('onewrite', 'raw')}`)
}
console.log(JSON.stringify(aikit.stats()))
await bento.disconnectAll().catch(() => undefined)
for (const c of clients) c.disconnect()
await redis.stop()
