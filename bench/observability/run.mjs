// The cost of AI Kit's HTTP metrics and request logging per request, against the bare framework
// route and the framework's usual metrics plugin (fastify-metrics, express-prom-bundle), measured in
// one run with autocannon on 127.0.0.1; then the scrape cost with ~10k series against prom-client's
// own. Variants are interleaved over several rounds (order rotated) and each ratio is the median of
// per-round ratios against the bare route of the same round, because the machine is small and noisy.
// Usage: node bench/observability/run.mjs [--seconds 3] [--rounds 3] [--connections 50]
//        --pin: load generator on CPU 0, servers on CPU 1 (bench/lib/pin.mjs); read the capacity ratios
//        (build first: pnpm --filter @aikit/observability --filter @aikit/adapters build)
// The middleware's own cost per request without HTTP (stable on a busy machine, where these HTTP
// figures are not): node bench/observability/middleware.mjs
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measureRunning, startServer } from '../lib/http-bench.mjs'
import { pinned, placementNote } from '../lib/pin.mjs'
import { record } from '../lib/results.mjs'
import { scrapeBench } from './scrape.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const seconds = arg('seconds', 3)
const rounds = arg('rounds', 3)
const connections = arg('connections', 50)
const frameworks = process.argv.includes('--express') ? ['fastify', 'express'] : ['fastify']
const modes = ['bare', 'noop', 'anchor', 'metrics', 'metrics-logger', 'metrics-logger-noctx']
// Fastify also runs `floor`: httpMetrics' metrics recorded by two hand-written Fastify hooks (no
// AI Kit protocol; see app.mjs), what these metrics cost at the least.
const modesOf = (fw) => (fw === 'fastify' ? [...modes, 'floor'] : modes)
const LABELS = {
  fastify: {
    bare: 'bare route',
    noop: 'aikit adapter + 1 no-op middleware',
    anchor: 'fastify-metrics (defaults)',
    metrics: 'aikit httpMetrics',
    'metrics-logger': 'aikit httpMetrics + requestLogger',
    'metrics-logger-noctx': 'same, asyncContext: false',
    floor: 'the same metrics by hand-written hooks (floor)',
  },
  express: {
    bare: 'bare route',
    noop: 'aikit adapter + 1 no-op middleware',
    anchor: 'express-prom-bundle',
    metrics: 'aikit httpMetrics',
    'metrics-logger': 'aikit httpMetrics + requestLogger',
    'metrics-logger-noctx': 'same, asyncContext: false',
  },
}
const TARGETS = { metrics: 0.9, 'metrics-logger': 0.8 }

async function measure(variant) {
  const server = await startServer(join(here, 'server.mjs'), variant)
  try {
    // Several route ids: the route template, not the raw path, must be the label.
    const requests = [1, 2, 3, 4].map((id) => ({ method: 'GET', path: `/items/${id}` }))
    const opts = { url: `http://127.0.0.1:${server.port}`, connections, requests }
    return await measureRunning(server, opts, seconds)
  } finally {
    server.stop()
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const samples = {}
const pairRatios = {}
const pairCapacity = {}
const pairNoop = {} // variant → [rps ratio vs the adapter with one no-op middleware, same round]
for (let round = 0; round < rounds; round++) {
  for (const fw of frameworks) {
    const fwModes = modesOf(fw)
    const order = fwModes.map((_, i) => fwModes[(i + round) % fwModes.length])
    const thisRound = {}
    for (const mode of order) {
      const variant = `${fw}-${mode}`
      const r = await measure(variant)
      thisRound[mode] = r
      samples[variant] ??= []
      samples[variant].push(r)
      process.stderr.write(
        `round ${round + 1}/${rounds} ${variant}: ${Math.round(r.rps)} req/s, ${r.cpuPerReq.toFixed(1)} µs CPU/req\n`
      )
    }
    for (const mode of fwModes) {
      const variant = `${fw}-${mode}`
      pairRatios[variant] ??= []
      pairCapacity[variant] ??= []
      pairRatios[variant].push(thisRound[mode].rps / thisRound.bare.rps)
      pairCapacity[variant].push(thisRound.bare.cpuPerReq / thisRound[mode].cpuPerReq)
      pairNoop[variant] ??= []
      pairNoop[variant].push(thisRound[mode].rps / thisRound.noop.rps)
    }
  }
}

/** httpMetrics against the hand-written-hooks floor of the same round (Fastify). */
function floorNote(fw) {
  const by = pinned ? pairCapacity : pairRatios
  const floor = median(by[`${fw}-floor`])
  const vsFloor = median(by[`${fw}-metrics`].map((x, i) => x / by[`${fw}-floor`][i]))
  return `the same metrics recorded by two hand-written Fastify hooks (no middleware): ${floor.toFixed(2)}x bare, ours ${vsFloor.toFixed(2)}x that floor`
}

const rows = []
const misses = []
for (const fw of frameworks) {
  for (const mode of modesOf(fw)) {
    const variant = `${fw}-${mode}`
    const rpsRatio = median(pairRatios[variant])
    const capacity = median(pairCapacity[variant])
    // Pinned, req/s measures the load generator's core: the server's capacity is the figure.
    const ratio = pinned ? capacity : rpsRatio
    const target = TARGETS[mode]
    if (fw === 'fastify' && target !== undefined && ratio < target) {
      misses.push(`${LABELS[fw][mode]} ${ratio.toFixed(3)}x < ${target}x`)
    }
    const capacityNote = pinned
      ? `pinned: ratio = capacity (server CPU per request); req/s ${rpsRatio.toFixed(2)}x`
      : `capacity ${capacity.toFixed(2)}x`
    const fwName = fw === 'fastify' ? 'Fastify' : 'Express'
    const rps = (m) => median(samples[`${fw}-${m}`].map((x) => x.rps))
    if (target !== undefined || mode === 'anchor') {
      record({
        area: 'observability',
        benchmark: `${LABELS[fw][mode]} on ${fwName} vs the bare route`,
        ours: rps(mode),
        anchor: rps('bare'),
        anchorName: `bare ${fwName} route`,
        unit: 'req/s',
        ratio,
        target: fw === 'fastify' ? (target ?? null) : null,
        issue: '6',
        note:
          mode === 'anchor'
            ? 'the anchor itself against the bare route'
            : mode === 'metrics-logger'
              ? `${capacityNote}; with asyncContext: false (no AsyncLocalStorage scope, which on Node ${process.versions.node.split('.')[0]} ${Number(process.versions.node.split('.')[0]) < 24 ? 'hooks every async resource' : 'costs little'}): ${median((pinned ? pairCapacity : pairRatios)[`${fw}-metrics-logger-noctx`]).toFixed(2)}x`
              : mode === 'metrics' && fw === 'fastify'
                ? `${capacityNote}; ${floorNote(fw)}`
                : capacityNote,
      })
    }
    if (mode === 'metrics') {
      record({
        area: 'observability',
        benchmark: `httpMetrics on ${fwName}`,
        ours: rps('metrics'),
        anchor: rps('anchor'),
        anchorName: LABELS[fw].anchor,
        unit: 'req/s',
        ratio: median(samples[variant].map((x, i) => x.rps / samples[`${fw}-anchor`][i].rps)),
        target: null,
        issue: fw === 'express' ? '10' : '6',
      })
    }
    rows.push({
      variant: `${fw} ${LABELS[fw][mode]}`,
      'req/s (median)': Math.round(median(samples[variant].map((x) => x.rps))),
      'p99 ms (median)': median(samples[variant].map((x) => x.p99)),
      'server µs CPU/req': median(samples[variant].map((x) => x.cpuPerReq)).toFixed(1),
      'req/s ratio': ratio.toFixed(3),
      'capacity ratio': capacity.toFixed(3),
      'vs aikit no-op':
        mode === 'bare' || mode === 'anchor' ? '' : median(pairNoop[variant]).toFixed(3),
      target: target === undefined ? '' : `>= ${target}`,
    })
  }
}
console.log(
  `\nHTTP metrics and logging cost: ${connections} connections, ${seconds}s x ${rounds} rounds, Node ${process.version}` +
    '\nratios: median over rounds of (variant / bare route measured in the same round);' +
    '\ncapacity ratio: bare CPU per request / variant CPU per request (server process only);' +
    `\n${placementNote()}` +
    '\nvs aikit no-op: req/s against the AI Kit adapter running one no-op middleware (the cost of the' +
    '\nobservability middleware alone, without the protocol cost every AI Kit middleware shares)'
)
console.table(rows)

const { series, samples: scrape } = await scrapeBench()
const plainMs = median(scrape.plain)
const oursMs = median(scrape.ours)
const omMs = median(scrape.oursOpenMetrics)
console.log(`\nScrape with ${series} series (median of ${scrape.plain.length} interleaved scrapes)`)
console.table([
  {
    exposition: "prom-client's own registry.metrics()",
    'ms (median)': plainMs.toFixed(2),
    ratio: '1.000',
  },
  {
    exposition: 'aikit metricsHandler, Prometheus text',
    'ms (median)': oursMs.toFixed(2),
    ratio: (oursMs / plainMs).toFixed(3),
  },
  {
    exposition: 'aikit metricsHandler, OpenMetrics',
    'ms (median)': omMs.toFixed(2),
    ratio: (omMs / plainMs).toFixed(3),
  },
])
record({
  area: 'observability',
  benchmark: `scrape, ${series} series (time, lower is better)`,
  ours: oursMs,
  anchor: plainMs,
  anchorName: "prom-client's registry.metrics()",
  unit: 'ms',
  ratio: median(scrape.ours.map((x, i) => x / scrape.plain[i])),
  targetOp: '<=',
  target: 1.1,
  issue: '6',
  note: '"no worse than prom-client": 10% noise allowance',
})
if (oursMs > plainMs * 1.1)
  misses.push(`scrape ${(oursMs / plainMs).toFixed(3)}x prom-client's own`)
console.log(misses.length === 0 ? 'OK: every target met' : `BELOW TARGET: ${misses.join('; ')}`)
