// rateLimit() through the Express and Fastify adapters against express-rate-limit and
// @fastify/rate-limit on the same route, memory stores, the same policy (fixed window, a limit no
// request reaches: the allowed path every request takes), measured with autocannon on 127.0.0.1.
// One child-process server per variant, variants interleaved and rotated over rounds, medians of
// per-round paired ratios. Information rows (issue 10 names these anchors; issue 3 sets no figure).
// Build first: pnpm --filter @aikit/ratelimit... build
// Usage: node bench/ratelimit/http.mjs [--seconds 3] [--rounds 3] [--connections 50]
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { interleave, measureRunning, numArg, startServer } from '../lib/http-bench.mjs'
import { record } from '../lib/results.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const seconds = numArg('seconds', 3)
const rounds = numArg('rounds', 3)
const connections = numArg('connections', 50)
const ANCHORS = { express: 'express-rate-limit', fastify: '@fastify/rate-limit' }
const modes = ['bare', 'anchor', 'aikit']

async function measure(variant) {
  const server = await startServer(join(here, 'http-server.mjs'), variant)
  try {
    const url = `http://127.0.0.1:${server.port}/`
    const r = await measureRunning(server, { url, connections }, seconds)
    return r
  } finally {
    server.stop()
  }
}

console.log(
  `rateLimit() vs express-rate-limit / @fastify/rate-limit: ${connections} connections, ${seconds}s x ${rounds} rounds, Node ${process.version}` +
    '\nratios: median over rounds of (variant / reference measured in the same round)'
)
for (const fw of ['express', 'fastify']) {
  const variants = modes.map((m) => `${fw}-${m}`)
  const res = await interleave(variants, rounds, measure)
  const anchor = `${fw}-anchor`
  const ours = `${fw}-aikit`
  const bare = `${fw}-bare`
  console.log(`\n${fw}: allowed requests, memory store, fixed window`)
  console.table(
    variants.map((v) => ({
      variant: v.endsWith('anchor')
        ? `${fw} + ${ANCHORS[fw]}`
        : v.endsWith('aikit')
          ? `${fw} + aikit rateLimit()`
          : `${fw} bare route`,
      'req/s (median)': Math.round(res.rps(v)),
      'p99 ms': res.p99(v),
      'µs CPU/req': res.cpu(v).toFixed(1),
      'vs bare': res.ratio(v, bare).toFixed(3),
      [`vs ${ANCHORS[fw]}`]: res.ratio(v, anchor).toFixed(3),
      'capacity vs anchor': res.capacity(v, anchor).toFixed(3),
    }))
  )
  const ratio = res.ratio(ours, anchor)
  console.log(
    `  aikit rateLimit() vs ${ANCHORS[fw]}: ${ratio.toFixed(3)}x req/s, ${res.capacity(ours, anchor).toFixed(3)}x capacity`
  )
  record({
    area: 'ratelimit',
    benchmark: `HTTP allowed path on ${fw === 'express' ? 'Express' : 'Fastify'}, memory store`,
    ours: res.rps(ours),
    anchor: res.rps(anchor),
    anchorName: ANCHORS[fw],
    unit: 'req/s',
    ratio,
    target: null,
    issue: '10',
    note: `bare route ${Math.round(res.rps(bare))} req/s; ours ${res.ratio(ours, bare).toFixed(2)}x bare, theirs ${res.ratio(anchor, bare).toFixed(2)}x bare`,
  })
}
