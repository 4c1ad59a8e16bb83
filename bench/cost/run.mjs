// @aikit/cost benchmarks, in one run, as ratios (the machine is small and noisy: each round runs
// every contender back to back, alternating the order, and the medians are reported).
//
//   1. budget.reserve + reservation.settle on Redis at concurrency 16 (one EVALSHA each), over 1,000
//      subjects and on one hot subject. Target >= 20k pairs/s. The raw ioredis EVALSHA rate of a
//      one-command script is printed beside it as the ceiling (pairs/s ceiling = EVALSHA/s ÷ 2).
//   2. estimateTokens on a 10k-token conversation vs gpt-tokenizer's countTokens on the same text
//      alone (one string). Target: estimateTokens takes <= 1.2x the time of countTokens.
//
// Usage: pnpm --filter @aikit/cost build && node bench/cost/run.mjs [--rounds 5]
import { redisStore } from '@aikit/core/redis'
import { createBudget, estimateTokens } from '@aikit/cost'
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { Redis } from 'ioredis'
import { startRedisServer } from '../lib/redis-server.mjs'
import { record } from '../lib/results.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const rounds = arg('rounds', 5)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const fmt = (n) => Math.round(n).toLocaleString('en-US')

/** Runs `op(i)` `total` times with `concurrency` workers; returns ops/s. */
async function rate(total, concurrency, op) {
  let next = 0
  const start = process.hrtime.bigint()
  const worker = async () => {
    while (next < total) await op(next++)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return total / (Number(process.hrtime.bigint() - start) / 1e9)
}

/** Alternates the contenders over `rounds`; returns the per-contender medians. */
async function rounds_(contenders) {
  const names = Object.keys(contenders)
  const per = Object.fromEntries(names.map((n) => [n, []]))
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse()
    for (const name of order) per[name].push(await contenders[name]())
  }
  return { per, med: Object.fromEntries(names.map((n) => [n, median(per[n])])) }
}

// ---------------------------------------------------------------------------------------------
// 1. reserve + settle on Redis

const server = await startRedisServer()
const client = new Redis(server.url, { maxRetriesPerRequest: 1 })
const raw = new Redis(server.url, { maxRetriesPerRequest: 1 })
await Promise.all([client.ping(), raw.ping()])
raw.defineCommand('benchNoop', { numberOfKeys: 1, lua: "return redis.call('EXISTS', KEYS[1])" })

const store = redisStore(client, { prefix: 'bench', commandTimeoutMs: 5_000 })
const budget = createBudget({
  store,
  limits: [
    { period: 'day', usd: 1_000_000 },
    { period: 'month', usd: 10_000_000 },
  ],
})
const PAIRS = 20_000
const CONCURRENCY = 16
const pair = (subjectOf) => async (i) => {
  const r = await budget.reserve(subjectOf(i), {
    model: 'gpt-4o-mini',
    inputTokens: 800,
    maxOutputTokens: 400,
  })
  await r.settle({ prompt_tokens: 800, completion_tokens: 120 })
}
// warm-up (script load, JIT)
await rate(
  2000,
  CONCURRENCY,
  pair((i) => `user:${i % 1000}`)
)
await rate(2000, CONCURRENCY, (i) => raw.benchNoop(`k${i % 1000}`))

const redisRounds = await rounds_({
  'aikit reserve+settle, 1k subjects': () =>
    rate(
      PAIRS,
      CONCURRENCY,
      pair((i) => `user:${i % 1000}`)
    ),
  'aikit reserve+settle, 1 hot subject': () =>
    rate(
      PAIRS,
      CONCURRENCY,
      pair(() => 'user:hot')
    ),
  'ceiling: raw ioredis EVALSHA': () =>
    rate(PAIRS * 2, CONCURRENCY, (i) => raw.benchNoop(`k${i % 1000}`)),
})
const CEILING = 'ceiling: raw ioredis EVALSHA'
console.log(`\nreserve + settle on Redis, concurrency ${CONCURRENCY}, ${rounds} rounds (medians)`)
for (const [name, v] of Object.entries(redisRounds.med)) {
  if (name === CEILING) {
    console.log(
      `  ${name.padEnd(38)} ${fmt(v).padStart(9)} EVALSHA/s  (= ${fmt(v / 2)} pairs/s ceiling)`
    )
    continue
  }
  // Each pair is two EVALSHA round trips: compare with half the raw rate of the same round.
  const ratio = median(redisRounds.per[name].map((x, i) => x / (redisRounds.per[CEILING][i] / 2)))
  const ok = v >= 20_000 ? 'OK' : 'BELOW TARGET'
  record({
    area: 'cost',
    benchmark: `${name.replace('aikit ', '')}, Redis, c${CONCURRENCY}`,
    ours: v,
    anchor: 20_000,
    anchorName: 'the target rate, 20,000 pairs/s',
    unit: 'pairs/s',
    ratio: v / 20_000,
    target: 1,
    issue: '7',
    note: `${ratio.toFixed(2)}x of the raw EVALSHA ceiling (two round trips per pair)`,
  })
  console.log(
    `  ${name.padEnd(38)} ${fmt(v).padStart(9)} pairs/s    ${ratio.toFixed(2)}x of ceiling  target >= 20,000: ${ok}`
  )
}

await Promise.all([client.quit(), raw.quit()])
await server.stop()

// ---------------------------------------------------------------------------------------------
// 2. estimateTokens vs countTokens alone

const sentences = [
  'The quarterly budget review found that most of the spend came from streamed completions.',
  'Please summarise the attached report and list the three largest cost drivers.',
  'Streaming responses must be metered even when the client disconnects early.',
  'function total(xs) { return xs.reduce((a, b) => a + b.cost, 0) }',
  '{"model":"gpt-4o-mini","max_tokens":400,"temperature":0.2}',
]
const messages = [{ role: 'system', content: 'You are a careful financial assistant.' }]
let k = 0
while (countTokens(messages.map((m) => m.content).join('\n')) < 10_000) {
  const text = Array.from({ length: 6 }, () => sentences[k++ % sentences.length]).join(' ')
  messages.push({ role: messages.length % 2 ? 'user' : 'assistant', content: text })
}
const joined = messages.map((m) => m.content).join('\n')
const tokens = countTokens(joined)

function timeIt(fn, iterations) {
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) fn()
  return Number(process.hrtime.bigint() - start) / 1e6 / iterations
}
const ITER = 40
timeIt(() => estimateTokens(messages, 'gpt-4o'), 10)
timeIt(() => countTokens(joined), 10)
const tokRounds = await rounds_({
  estimateTokens: () => timeIt(() => estimateTokens(messages, 'gpt-4o'), ITER),
  countTokens: () => timeIt(() => countTokens(joined), ITER),
})
const ratios = tokRounds.per.estimateTokens.map((v, i) => v / tokRounds.per.countTokens[i])
const ratio = median(ratios)
console.log(
  `\nestimateTokens on a ${messages.length}-message, ${fmt(tokens)}-token conversation (gpt-4o, o200k_base)`
)
console.log(`  estimateTokens(messages, 'gpt-4o')   ${tokRounds.med.estimateTokens.toFixed(3)} ms`)
console.log(`  gpt-tokenizer countTokens(text)      ${tokRounds.med.countTokens.toFixed(3)} ms`)
console.log(
  `  ratio (median of per-round ratios)   ${ratio.toFixed(2)}x  target <= 1.2x: ${ratio <= 1.2 ? 'OK' : 'ABOVE TARGET'}`
)
record({
  area: 'cost',
  benchmark: `estimateTokens, ${fmt(tokens)}-token conversation (time, lower is better)`,
  ours: tokRounds.med.estimateTokens,
  anchor: tokRounds.med.countTokens,
  anchorName: 'gpt-tokenizer countTokens',
  unit: 'ms',
  ratio,
  targetOp: '<=',
  target: 1.2,
  issue: '7',
})
