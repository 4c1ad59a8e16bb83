// Load test of the Fastify app with the full AI Kit stack (autocannon on 127.0.0.1, bounded runs):
//   1. throughput and p99 of a GET route through every middleware vs the same route on bare
//      Fastify, interleaved rounds, medians of per-round paired ratios;
//   2. memory over `--requests` requests (default 1,000,000) from `--keys` distinct clients
//      (default 100,000; X-Forwarded-For from the pool, the loopback proxy being trusted, so the
//      rate limiter keeps one bucket per client): RSS and heap (after a full GC) sampled every
//      `--sample-every` requests (default 100,000). It must plateau (bounded stores): the last
//      three heap samples within 10% of each other.
// The app: examples/fastify-chat/app.mjs `buildApp()` when that file exists (`--app example`),
// else bench/load/app.mjs, the same stack assembled here (`--app stack`). Default `--app auto`.
// Build first: pnpm turbo run build
// Usage: node bench/load/fastify-example.mjs [--seconds 3] [--rounds 3] [--connections 50]
//        [--requests 1000000] [--keys 100000] [--sample-every 100000] [--app auto|example|stack]
//        [--path /api/chat --status 405] [--attribute]   (--attribute: the cost of each middleware
//        of bench/load/app.mjs, by leaving it out)
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { interleave, measureRunning, numArg, startServer } from '../lib/http-bench.mjs'
import { record } from '../lib/results.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const seconds = numArg('seconds', 3)
const rounds = numArg('rounds', 3)
const connections = numArg('connections', 50)
const totalRequests = numArg('requests', 1_000_000)
const keyCount = numArg('keys', 100_000)
const sampleEvery = Math.min(numArg('sample-every', 100_000), totalRequests)
const appArg = (() => {
  const i = process.argv.indexOf('--app')
  return i === -1 ? 'auto' : process.argv[i + 1]
})()
const examplePath = join(here, '../../examples/fastify-chat/app.mjs')
const appVariant =
  appArg === 'auto'
    ? existsSync(examplePath)
      ? 'example'
      : 'stack'
    : appArg === 'example'
      ? 'example'
      : 'stack'
const SERVER = join(here, 'server.mjs')
const MB = 1024 * 1024

/** The client pool: `keyCount` distinct IPv4 addresses, one per request in turn. */
const clientIp = (i) => {
  const n = i % keyCount
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
}
let nextClient = 0
const requestsFor = (path) => [
  {
    method: 'GET',
    path,
    setupRequest: (req) => {
      req.headers = { ...req.headers, 'x-forwarded-for': clientIp(nextClient++) }
      return req
    },
  },
]

// The route: one that runs every middleware of the stack. In the example that is GET /api/chat:
// security headers, request log, metrics, the /metrics and health endpoints (passed), CSRF, the
// session cookie, the per-IP rate limit, then the chat middleware answers 405 (POST only) in the
// kit's JSON error shape. (/health stops at the health middleware, before CSRF, session and rate
// limit.) In bench/load/app.mjs it is GET /api/ping, answered 200 by a Fastify route.
const pathArg = process.argv.indexOf('--path')
const statusArg = process.argv.indexOf('--status')
const path =
  pathArg !== -1 ? process.argv[pathArg + 1] : appVariant === 'example' ? '/api/chat' : '/api/ping'
const status =
  statusArg !== -1 ? Number(process.argv[statusArg + 1]) : appVariant === 'example' ? 405 : 200
// The example reads its settings from the env: trust the loopback proxy so that X-Forwarded-For
// names the client (the rate limit keys on the client IP), logs at info (one JSON line per
// request, to /dev/null here), memory stores (no REDIS_URL).
const appEnv = { TRUST_PROXY: 'loopback', LOG_LEVEL: 'info' }
delete process.env.REDIS_URL
const serve = (variant, nodeArgs = []) =>
  startServer(SERVER, variant, nodeArgs, variant === 'bare' ? { LOAD_PATH: path } : appEnv)
const statusOf = (variant) => (variant === 'bare' ? 200 : status)

const probe = await serve(appVariant)
const probeRes = await fetch(`http://127.0.0.1:${probe.port}${path}`, {
  headers: { 'x-forwarded-for': '10.0.0.1' },
})
const stackHeaders = [...probeRes.headers.keys()].filter((h) =>
  /^(ratelimit|x-request-id|content-security-policy|strict-transport|set-cookie)/i.test(h)
)
probe.stop()
if (probeRes.status !== status) {
  throw new Error(
    `GET ${path} answered ${probeRes.status}, expected ${status} (pass --path/--status)`
  )
}
console.log(
  `Load test: ${appVariant === 'example' ? 'examples/fastify-chat/app.mjs buildApp()' : 'bench/load/app.mjs (the example is not there)'}, GET ${path} → ${status}` +
    `\n  stack headers on it: ${stackHeaders.join(', ') || '(none)'}` +
    `\n  Node ${process.version}, ${connections} connections, X-Forwarded-For from a pool of ${keyCount.toLocaleString('en-US')} clients`
)

// ---- 1. throughput and p99 vs bare Fastify -----------------------------------------------------
const variants = ['bare', appVariant]
const res = await interleave(variants, rounds, async (variant) => {
  const server = await serve(variant)
  try {
    const url = `http://127.0.0.1:${server.port}`
    const opts = { url, connections, requests: requestsFor(path) }
    return await measureRunning(server, opts, seconds, { status: statusOf(variant) })
  } finally {
    server.stop()
  }
})
const ratio = res.ratio(appVariant, 'bare')
const capacity = res.capacity(appVariant, 'bare')
console.log(
  `\n1. throughput, ${seconds}s x ${rounds} rounds (medians; ratios per round, then median)`
)
console.table(
  variants.map((v) => ({
    variant: v === 'bare' ? `bare Fastify route (200)` : `full AI Kit stack (${status})`,
    'req/s': Math.round(res.rps(v)),
    'p99 ms': res.p99(v),
    'µs CPU/req': res.cpu(v).toFixed(1),
    'req/s vs bare': res.ratio(v, 'bare').toFixed(3),
    'capacity vs bare': res.capacity(v, 'bare').toFixed(3),
  }))
)
record({
  area: 'load',
  benchmark: `full stack on Fastify, GET ${path}, ${keyCount / 1000}k clients`,
  ours: res.rps(appVariant),
  anchor: res.rps('bare'),
  anchorName: 'bare Fastify route',
  unit: 'req/s',
  ratio,
  target: null,
  issue: '10',
  note: `p99 ${res.p99(appVariant)} ms (bare ${res.p99('bare')} ms); capacity ${capacity.toFixed(2)}x`,
})

// ---- 1b. optional: what each middleware of bench/load/app.mjs costs (--attribute) --------------
if (process.argv.includes('--attribute')) {
  const { STACK_PARTS } = await import('./app.mjs')
  const parts = ['stack', 'stack-adapter-only', ...STACK_PARTS.map((p) => `stack-without-${p}`)]
  const attr = await interleave(
    parts,
    rounds,
    async (variant) => {
      const server = await startServer(SERVER, variant)
      try {
        const opts = {
          url: `http://127.0.0.1:${server.port}`,
          connections,
          requests: requestsFor('/api/ping'),
        }
        return await measureRunning(server, opts, seconds)
      } finally {
        server.stop()
      }
    },
    'attribute '
  )
  const full = attr.cpu('stack')
  console.log(
    `\n1b. attribution on bench/load/app.mjs: server CPU per request (median), full stack ${full.toFixed(1)} µs`
  )
  console.table(
    parts.map((v) => ({
      variant: v,
      'µs CPU/req': attr.cpu(v).toFixed(1),
      'share of the full stack':
        v === 'stack' ? '' : `${(((full - attr.cpu(v)) / full) * 100).toFixed(0)}%`,
      'req/s': Math.round(attr.rps(v)),
    }))
  )
  console.log(
    '  share: (full − without that part) ÷ full; for stack-adapter-only, what all the middleware together cost'
  )
}

// ---- 2. memory over many requests (--requests 0: skipped) from many clients --------------------------------------------
if (totalRequests === 0) process.exit(0)
console.log(
  `\n2. memory: ${totalRequests.toLocaleString('en-US')} requests from ${keyCount.toLocaleString('en-US')} distinct clients, sampled every ${sampleEvery.toLocaleString('en-US')}`
)
const server = await serve(appVariant, ['--expose-gc'])
const series = []
const statuses = {}
try {
  const url = `http://127.0.0.1:${server.port}`
  const start = await server.ask('mem')
  series.push({ requests: 0, ...start })
  nextClient = 0
  const started = Date.now()
  for (let done = 0; done < totalRequests; ) {
    const amount = Math.min(sampleEvery, totalRequests - done)
    const r = await autocannon({ url, connections, amount, requests: requestsFor(path) })
    for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) {
      statuses[code] = (statuses[code] ?? 0) + s.count
    }
    if (r.errors > 0 || Object.keys(statuses).some((c) => Number(c) !== status)) {
      throw new Error(`expected only ${status}: ${JSON.stringify(statuses)}, ${r.errors} errors`)
    }
    done += amount
    series.push({ requests: done, ...(await server.ask('mem')) })
  }
  const secs = (Date.now() - started) / 1000
  console.table(
    series.map((s) => ({
      requests: s.requests.toLocaleString('en-US'),
      'RSS MB': (s.rss / MB).toFixed(1),
      'heap MB': (s.heapUsed / MB).toFixed(1),
      'heap after GC MB': (s.heapAfterGc / MB).toFixed(1),
    }))
  )
  console.log(
    `  ${totalRequests.toLocaleString('en-US')} requests in ${secs.toFixed(0)} s (${Math.round(totalRequests / secs)} req/s); status codes: ${JSON.stringify(statuses)}` +
      `\n  (no 429 with a per-client limit: the rate limiter kept one bucket per distinct client)`
  )
} finally {
  server.stop()
}
const last3 = series.slice(-3)
const spread = (k) => Math.max(...last3.map((s) => s[k])) / Math.min(...last3.map((s) => s[k]))
const plateau = series.length >= 4 && spread('heapAfterGc') <= 1.1
const rssSpread = spread('rss')
console.log(
  `  last three samples: heap after GC spread ${((spread('heapAfterGc') - 1) * 100).toFixed(1)}%, RSS spread ${((rssSpread - 1) * 100).toFixed(1)}%` +
    `\n  ${plateau ? 'PLATEAU: heap bounded (last three samples within 10%)' : series.length < 4 ? 'too few samples to judge a plateau (raise --requests)' : 'NO PLATEAU: heap still growing'}`
)
const last = series.at(-1)
record({
  area: 'load',
  benchmark: `heap after ${totalRequests.toLocaleString('en-US')} requests, ${keyCount / 1000}k clients (spread of the last 3 samples)`,
  ours: last.heapAfterGc / MB,
  anchor: Math.min(...last3.map((s) => s.heapAfterGc)) / MB,
  anchorName: 'lowest of the last three samples',
  unit: 'MB',
  ratio: spread('heapAfterGc'),
  targetOp: '<=',
  target: 1.1,
  issue: '10',
  note: `RSS ${(last.rss / MB).toFixed(0)} MB (spread ${((rssSpread - 1) * 100).toFixed(1)}%); ${plateau ? 'plateau' : 'no plateau'}`,
})
