// In-process cost of the observability middleware per request, without HTTP or the adapter: each
// variant runs N fake requests (a Context stand-in with the fields the middleware reads, whose
// finish listeners run after the chain, as the adapters call them) and the time of a no-op
// middleware over the same requests is subtracted. Variants are interleaved over rounds; medians.
// The `… + ALS` rows run each request inside an AsyncLocalStorage scope, which createLogger() asks
// the adapters for (on Node 20 that turns on promise hooks for every promise of the process).
// Usage: node bench/observability/middleware.mjs [--rounds 15] [--requests 20000] [--no-als]
//        [--before path/to/another/build/dist/index.js]   (adds that build's middleware, same rounds)
//        (build first: pnpm --filter @aikit/observability build)
import { AsyncLocalStorage } from 'node:async_hooks'
import { Writable } from 'node:stream'
import * as current from '@aikit/observability'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const rounds = arg('rounds', 15)
const perRound = arg('requests', 20000)
const withAls = !process.argv.includes('--no-als')
const beforeAt = process.argv.indexOf('--before')
const before = beforeAt === -1 ? undefined : await import(process.argv[beforeAt + 1])

const routeOptions = { url: '/items/:id' }
// The adapters' contexts expose their lifecycle under this symbol: `onFinished` (core) then
// registers a plain callback, called when the response ends, instead of a `finished.then`.
const LIFECYCLE = Symbol.for('@aikit/core.lifecycle')
class FakeContext {
  constructor(i) {
    this.method = 'GET'
    this.path = `/items/${i & 3}`
    this.query = ''
    this.status = undefined
    this.error = undefined
    this.state = {}
    this.request = { routeOptions }
    this.headers = new Map()
    this.listeners = []
  }
  get [LIFECYCLE]() {
    return this
  }
  onFinish(fn) {
    this.listeners.push(fn)
  }
  finish(info) {
    for (const fn of this.listeners) fn(info)
  }
  header(_name) {
    return undefined
  }
  setHeader(name, value) {
    this.headers.set(name.toLowerCase(), value)
  }
}

const nullStream = new Writable({ write: (_chunk, _enc, cb) => cb() })
const noop = (_ctx, next) => next()
function middlewareOf(pkg, tag) {
  const { createLogger, createMetrics, httpMetrics, requestLogger } = pkg
  const metrics = createMetrics({ key: false })
  const logger = createLogger({ stream: nullStream })
  // As the README's example configures it: one field on every line.
  const service = createLogger({ stream: nullStream, defaultMeta: { service: 'chat-api' } })
  return {
    [`httpMetrics${tag}`]: [httpMetrics(metrics)],
    [`requestLogger${tag}`]: [requestLogger(logger)],
    [`requestLogger, defaultMeta${tag}`]: [requestLogger(service)],
    [`httpMetrics + requestLogger${tag}`]: [requestLogger(logger), httpMetrics(metrics)],
  }
}
const variants = {
  noop: [noop],
  ...middlewareOf(current, ''),
  ...(before === undefined ? {} : middlewareOf(before, ' (before)')),
}
const als = new AsyncLocalStorage()

const route = () => Promise.resolve()
function run(chain, ctx, i = 0) {
  const mw = chain[i]
  if (mw === undefined) return route()
  return mw(ctx, () => run(chain, ctx, i + 1))
}

async function oneRequest(chain, i, scoped) {
  const ctx = new FakeContext(i)
  const p = scoped ? als.run(ctx, () => run(chain, ctx)) : run(chain, ctx)
  await p
  ctx.status = 200
  ctx.finish({ aborted: false })
}

async function measure(chain, scoped) {
  const t0 = process.hrtime.bigint()
  const batch = []
  for (let i = 0; i < perRound; i++) {
    batch.push(oneRequest(chain, i, scoped))
    if (batch.length === 100) {
      await Promise.all(batch)
      batch.length = 0
    }
  }
  await Promise.all(batch)
  await new Promise((r) => setImmediate(r)) // lets the line batch flush, as a server's loop does
  return Number(process.hrtime.bigint() - t0) / 1000 / perRound
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const names = Object.keys(variants)
const modes = withAls ? [false, true] : [false]
const times = {}
// Unscoped rounds first: once a scope was entered, Node 20 keeps its promise hooks on for good.
for (const scoped of modes) {
  for (let round = -2; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + Math.max(round, 0)) % names.length]
      const us = await measure(variants[name], scoped)
      if (round < 0) continue // warm-up
      const key = scoped ? `${name} + ALS` : name
      times[key] ??= []
      times[key].push(us)
    }
  }
}
const rows = Object.keys(times).map((key) => {
  const base = key.endsWith(' + ALS') ? 'noop + ALS' : 'noop'
  const perRoundCost = times[key].map((t, i) => t - times[base][i])
  return {
    variant: key,
    'µs/request (median)': median(times[key]).toFixed(3),
    'µs over no-op (median)': key === base ? '' : median(perRoundCost).toFixed(3),
  }
})
console.log(
  `observability middleware per request, in process: ${perRound} requests x ${rounds} rounds, Node ${process.version}`
)
console.table(rows)
