// The cache layer's own cost on a store-tier hit, without Redis: a store whose get answers from a
// Map through a resolved promise, against the same promise + JSON.parse (what a raw client does
// after its reply). Interleaved rounds, medians. A tuning aid, not a target row.
//
//   pnpm --filter @aikit/cache build && node bench/cache/layer-micro.mjs [--rounds 15]
import { createCache } from '@aikit/cache'
import { KEYS, VALUES } from './fixture.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]
}

// A minimal Store on a Map of Buffers: get decodes a fresh string through one resolved promise,
// like a client reading a reply off its socket (so the text is flat and in cache, as it would be).
const texts = new Map()
const fastStore = {
  kind: 'memory',
  local: true,
  get: (key) => {
    const buf = texts.get(key)
    return Promise.resolve(buf === undefined ? undefined : buf.toString())
  },
  set: async (key, value) => {
    texts.set(key, Buffer.from(value))
  },
  delete: async (key) => texts.delete(key),
  run: async () => {
    throw new Error('not used by get')
  },
  key: (tag, ...parts) => `b:{${tag}}:${parts.join(':')}`,
  on: () => () => undefined,
  close: async () => undefined,
}
const rawTexts = KEYS.map((_, i) => Buffer.from(JSON.stringify(VALUES[i])))
const aikit = createCache({ store: fastStore, memory: { maxEntries: 1 }, ttl: 3_600_000 })
for (let i = 0; i < KEYS.length; i++) await aikit.set(KEYS[i], VALUES[i])

async function rate(ms, op) {
  let n = 0
  const start = performance.now()
  const end = start + ms
  while (performance.now() < end) {
    for (let j = 0; j < 256; j++) {
      const i = n++ % KEYS.length
      const v = await op(i)
      if (v === undefined || v.id !== VALUES[i].id) throw new Error(`wrong value for ${KEYS[i]}`)
    }
  }
  return n / ((performance.now() - start) / 1000)
}
const contenders = {
  'resolved text + JSON.parse': () =>
    rate(100, (i) => Promise.resolve(rawTexts[i].toString()).then((t) => JSON.parse(t))),
  'aikit get (store-tier hit)': () => rate(100, (i) => aikit.get(KEYS[i])),
  'envelope text, slice + JSON.parse': () =>
    rate(100, (i) =>
      Promise.resolve(envTexts[i].toString()).then((t) => JSON.parse(t.slice(t.indexOf('\n') + 1)))
    ),
}
const envTexts = KEYS.map((k) => texts.get(fastStore.key(`cache:${k}`, 'cache')))
const only = arg('only', undefined)
const names = Object.keys(contenders).filter((n) => only === undefined || n.startsWith(only))
const per = Object.fromEntries(names.map((n) => [n, []]))
const rounds = Number(arg('rounds', 15))
for (let r = 0; r < rounds; r++) {
  for (const name of r % 2 ? [...names].reverse() : names) per[name].push(await contenders[name]())
}
for (const n of names) {
  if (per[n].length === 0) continue
  const ops = median(per[n])
  console.log(`${n.padEnd(30)} ${Math.round(ops)} ops/s  ${(1e6 / ops).toFixed(3)} µs/op`)
}
const [a, b] = names
if (b !== undefined)
  console.log(
    `layer overhead: ${(1e6 / median(per[b]) - 1e6 / median(per[a])).toFixed(3)} µs/hit; ratio ${median(per[b].map((v, i) => v / per[a][i])).toFixed(3)}`
  )
const s = aikit.stats()
if (s.misses !== 0 || (names.includes('aikit get (store-tier hit)') && s.storeHits === 0))
  throw new Error(`expected store hits only: ${JSON.stringify(s)}`)
