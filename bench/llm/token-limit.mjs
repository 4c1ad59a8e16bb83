// @aikit/llm benchmark: what the `tokenLimit` option adds to a cache miss, in one run.
//
// 1. Over HTTP. Contenders, each calling a local fake Anthropic provider with a new prompt:
//      bare    the bare SDK (the anchor)
//      core    the wrapper with no parts (`coalesce: false`): its own cost
//      tokens  the wrapper with only `tokenLimit` (an in-memory @aikit/ratelimit limiter with a
//              limit so large that nothing is denied; `coalesce: false`)
//    The token limit's cost is `tokens - core`, taken per round.
// 2. Cold caches, no HTTP: `core` and `tokens` again, against a stub client that answers at once,
//    with 8 MB of memory touched between two calls (outside the timed part). A server runs a lot
//    of other code (the HTTP stack above all) between two LLM calls, which evicts the wrapper's
//    code and data from the CPU caches: the per-call cost that matters is the cold one, often
//    several times the hot one. Much steadier than the HTTP figures on a busy machine.
// 3. The limiter alone, hot: reserve + settle (what one miss does) and a plain `check`.
//
// With `--baseline <dir>` (a copy of an older packages/llm/dist, with a `node_modules` link to
// packages/llm/node_modules beside it) the wrapped contenders also run from that build, so a fix
// is measured before/after in the same run.
//
// The machine is small and shared: rounds interleave the contenders (rotating order) and the
// medians of the per-round medians are reported.
//
// Usage: pnpm --filter @aikit/llm... build && pnpm --filter @aikit/ratelimit build &&
//        node bench/llm/token-limit.mjs [--rounds 9] [--calls 300] [--baseline <dir>]
//        [--only tokens --calls 20000]   (one HTTP contender alone, e.g. under `node --cpu-prof`)
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startFakeAnthropic, stubClient } from './fake-anthropic.mjs'

// The SDK and @aikit/* resolve from packages/llm (its devDependencies).
const llmRequire = createRequire(new URL('../../packages/llm/package.json', import.meta.url))
const load = (id) => import(pathToFileURL(llmRequire.resolve(id)).href)
const { default: Anthropic } = await load('@anthropic-ai/sdk')
const { createRateLimiter } = await load('@aikit/ratelimit')
const { wrapAnthropic } = await import('../../packages/llm/dist/anthropic/index.js')

const option = (name) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}
const rounds = Number(option('rounds') ?? 9)
const calls = Number(option('calls') ?? 300)
const only = option('only')
const baselineDir = option('baseline')
const baseline = baselineDir
  ? (await import(pathToFileURL(resolve(baselineDir, 'dist/anthropic/index.js')).href))
      .wrapAnthropic
  : undefined

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const server = await startFakeAnthropic()
const baseURL = server.baseURL

const newClient = () => new Anthropic({ apiKey: 'bench', baseURL, maxRetries: 0 })
// Nothing is ever denied: the limit dwarfs every call's estimate.
const newLimiter = () => createRateLimiter({ limits: [{ limit: 10_000_000_000, window: '1m' }] })
const params = (text) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 64,
  temperature: 0,
  messages: [{ role: 'user', content: text }],
})

const bare = newClient()
const wrappers = { '': wrapAnthropic }
if (baseline) wrappers[' (baseline)'] = baseline
let unique = 0
const contenders = { bare: () => bare.messages.create(params(`q${unique++}`)) }
for (const [suffix, wrap] of Object.entries(wrappers)) {
  const core = wrap(newClient(), { coalesce: false })
  const tokens = wrap(newClient(), { coalesce: false, tokenLimit: newLimiter() })
  contenders[`core${suffix}`] = () => core.messages.create(params(`q${unique++}`))
  contenders[`tokens${suffix}`] = () => tokens.messages.create(params(`q${unique++}`))
}

/** Microseconds of one call. */
async function once(fn) {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start) / 1e3
}

if (only !== undefined) {
  // One contender back to back (for a CPU profile): no interleaving, no report but the mean.
  const fn = contenders[only]
  if (!fn) throw new Error(`--only: one of ${Object.keys(contenders).join(', ')}`)
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) await fn()
  const us = Number(process.hrtime.bigint() - start) / 1e3 / calls
  console.log(`${only}: ${us.toFixed(1)} µs/call (mean of ${calls} back to back)`)
  server.close()
  process.exit(0)
}

// 2. Cold caches, no HTTP. Run before the HTTP part: a heap and code cache grown by it make these
// figures noisier. A stub client answers at once (a fixed message with usage).
const cold = {}
for (const [suffix, wrap] of Object.entries(wrappers)) {
  const core = wrap(stubClient(), { coalesce: false })
  const tokens = wrap(stubClient(), { coalesce: false, tokenLimit: newLimiter() })
  cold[`core${suffix}`] = () => core.messages.create(params(`q${unique++}`))
  cold[`tokens${suffix}`] = () => tokens.messages.create(params(`q${unique++}`))
}
const evict = new Float64Array((8 * 1024 * 1024) / 8)
let sink = 0
/** Microseconds of one call after 8 MB of memory was touched (one write per 64-byte line). */
const onceCold = (fn) => {
  for (let i = 0; i < evict.length; i += 8) sink += evict[i]++
  return once(fn)
}

/**
 * Rounds of interleaved calls: every step times one call of each contender in a rotating order,
 * so drift and other people's load hit all of them alike. Returns, per contender, the median
 * per-call time of each round, and per wrapper build the round's `tokens - core`.
 */
async function interleave(set, time, perRound) {
  const names = Object.keys(set)
  for (let i = 0; i < 200; i++) for (const name of names) await time(set[name])
  const samples = Object.fromEntries(names.map((n) => [n, []]))
  const added = Object.fromEntries(Object.keys(wrappers).map((s) => [s, []]))
  for (let r = 0; r < rounds; r++) {
    const t = Object.fromEntries(names.map((n) => [n, []]))
    for (let i = 0; i < perRound; i++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k) % names.length]
        t[name].push(await time(set[name]))
      }
    }
    for (const name of names) samples[name].push(median(t[name]))
    for (const s of Object.keys(wrappers)) {
      added[s].push(median(t[`tokens${s}`]) - median(t[`core${s}`]))
    }
  }
  return { samples, added }
}

const coldRun = await interleave(cold, onceCold, calls * 2)
const httpRun = await interleave(contenders, once, calls)
server.close()

// 3. The limiter alone, hot: reserve + settle (what one miss does) and a cost-1 check.
const limiter = newLimiter()
const burst = async (fn, n) => {
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await fn(i)
  return Number(process.hrtime.bigint() - start) / 1e3 / n
}
const reserveSettle = async (i) => {
  const r = await limiter.reserve(`k${i & 63}`, 76)
  await r.settle(20)
}
const check = (i) => limiter.check(`k${i & 63}`)
await burst(reserveSettle, 20_000)
await burst(check, 20_000)
const micro = { reserveSettle: [], check: [] }
for (let r = 0; r < rounds; r++) {
  micro.reserveSettle.push(await burst(reserveSettle, 5_000))
  micro.check.push(await burst(check, 5_000))
}

const us = (x) => `${x.toFixed(1).padStart(7)} µs`
const report = ({ samples, added }, bareUs) => {
  for (const name of Object.keys(samples)) {
    console.log(`    ${name.padEnd(19)} ${us(median(samples[name]))}/call`)
  }
  for (const s of Object.keys(wrappers)) {
    const a = median(added[s])
    const share =
      bareUs === undefined ? '' : ` (${((a / bareUs) * 100).toFixed(1)}% of a bare call)`
    console.log(`    tokenLimit adds${s.padEnd(12)} ${us(a)}/call${share}`)
  }
}
console.log(
  `@aikit/llm tokenLimit on a cache miss: ${rounds} rounds of interleaved calls (medians)`
)
console.log(` 1. over HTTP (fake provider in this process), ${calls} calls a round`)
report(httpRun, median(httpRun.samples.bare))
console.log(` 2. cold caches, stub client (8 MB touched between calls), ${calls * 2} calls a round`)
report(coldRun, undefined)
console.log(' 3. the limiter alone, hot')
console.log(`    reserve + settle    ${us(median(micro.reserveSettle))}`)
console.log(`    check               ${us(median(micro.check))}`)
if (sink === -1) console.log(sink) // Keeps the eviction loop from being optimised away.
