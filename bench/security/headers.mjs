// securityHeaders() against helmet, measured in one run with autocannon on 127.0.0.1 (the
// pattern of bench/protocol/run.mjs: one child-process server per variant, variants interleaved
// and rotated over rounds, medians of per-round paired ratios). Build first:
//   pnpm --filter @aikit/core --filter @aikit/adapters --filter @aikit/security build
// Usage: node bench/security/headers.mjs [--seconds 3] [--rounds 3] [--connections 50] [--no-inject]
//        --pin: load generator on CPU 0, servers on CPU 1 (bench/lib/pin.mjs); read the capacity ratios
// Targets: Fastify + ours >= 0.85x bare Fastify; Express + ours >= 1.0x Express + helmet.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measureRunning, startServer } from '../lib/http-bench.mjs'
import { pinned, placementNote } from '../lib/pin.mjs'
import { record } from '../lib/results.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const seconds = arg('seconds', 3)
const rounds = arg('rounds', 3)
const connections = arg('connections', 50)
const frameworks = ['fastify', 'express']
// `floor` (Fastify): the same 12 headers set by a native onRequest hook — what the headers alone
// cost in Fastify and Node, so what no middleware setting them can beat.
const MODES = {
  fastify: ['bare', 'helmet', 'aikit', 'adapter', 'floor'],
  express: ['bare', 'helmet', 'aikit', 'adapter'],
}
const LABELS = {
  bare: 'bare route',
  helmet: '+ helmet (fastify: @fastify/helmet)',
  aikit: '+ aikit securityHeaders()',
  adapter: '+ aikit adapter, no-op middleware',
  floor: '+ the same headers by a native hook (floor)',
}

async function measure(variant) {
  const server = await startServer(join(here, 'headers-server.mjs'), variant)
  try {
    return await measureRunning(
      server,
      { url: `http://127.0.0.1:${server.port}/`, connections },
      seconds
    )
  } finally {
    server.stop()
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const samples = {}
const vsBare = {} // variant → [req/s ratio vs bare in the same round]
const vsHelmet = {} // variant → [req/s ratio vs helmet in the same round]
const capVsBare = {} // variant → [CPU-per-request ratio vs bare in the same round]
const capVsHelmet = {}
const push = (o, k, v) => {
  if (!o[k]) o[k] = []
  o[k].push(v)
}
for (let round = 0; round < rounds; round++) {
  for (const fw of frameworks) {
    const modes = MODES[fw]
    const order = modes.map((_, i) => modes[(i + round) % modes.length])
    const thisRound = {}
    for (const mode of order) {
      const variant = `${fw}-${mode}`
      const r = await measure(variant)
      thisRound[mode] = r
      push(samples, variant, r)
      process.stderr.write(
        `round ${round + 1}/${rounds} ${variant}: ${Math.round(r.rps)} req/s, ${r.cpuPerReq.toFixed(1)} µs CPU/req\n`
      )
    }
    for (const mode of modes) {
      const variant = `${fw}-${mode}`
      push(vsBare, variant, thisRound[mode].rps / thisRound.bare.rps)
      push(vsHelmet, variant, thisRound[mode].rps / thisRound.helmet.rps)
      push(capVsBare, variant, thisRound.bare.cpuPerReq / thisRound[mode].cpuPerReq)
      push(capVsHelmet, variant, thisRound.helmet.cpuPerReq / thisRound[mode].cpuPerReq)
    }
  }
}

const rows = []
for (const fw of frameworks) {
  for (const mode of MODES[fw]) {
    const variant = `${fw}-${mode}`
    const s = samples[variant]
    rows.push({
      variant: `${fw} ${LABELS[mode]}`,
      'req/s (median)': Math.round(median(s.map((x) => x.rps))),
      'p99 ms': median(s.map((x) => x.p99)),
      'µs CPU/req': median(s.map((x) => x.cpuPerReq)).toFixed(1),
      'vs bare': median(vsBare[variant]).toFixed(3),
      'vs helmet': median(vsHelmet[variant]).toFixed(3),
      'capacity vs bare': median(capVsBare[variant]).toFixed(3),
      'capacity vs helmet': median(capVsHelmet[variant]).toFixed(3),
    })
  }
}
console.log(
  `\nSecurity headers: ${connections} connections, ${seconds}s x ${rounds} rounds, Node ${process.version}` +
    '\nratios: median over rounds of (variant / reference measured in the same round);' +
    '\ncapacity: from the server process CPU time per request (steadier on a shared 2-core box)' +
    `\n${placementNote()}`
)
console.table(rows)
const fastifyVsBare = median(vsBare['fastify-aikit'])
const expressVsHelmet = median(vsHelmet['express-aikit'])
const fastifyCap = median(capVsBare['fastify-aikit'])
const expressCap = median(capVsHelmet['express-aikit'])
const fastifyFloor = median(vsBare['fastify-floor'])
const oursVsFloor = median(
  samples['fastify-aikit'].map((x, i) => x.rps / samples['fastify-floor'][i].rps)
)
console.log(
  `fastify + aikit vs bare fastify: ${fastifyVsBare.toFixed(3)} req/s, ${fastifyCap.toFixed(3)} capacity (target >= 0.85)` +
    `\nfastify + the same headers by a native hook vs bare: ${fastifyFloor.toFixed(3)} (the floor); aikit vs that floor: ${oursVsFloor.toFixed(3)}` +
    `\nexpress + aikit vs express + helmet: ${expressVsHelmet.toFixed(3)} req/s, ${expressCap.toFixed(3)} capacity (target >= 1.0)`
)

const rps = (v) => median(samples[v].map((x) => x.rps))
record({
  area: 'security',
  benchmark: 'securityHeaders() on Fastify vs the bare route',
  ours: rps('fastify-aikit'),
  anchor: rps('fastify-bare'),
  anchorName: 'bare Fastify route',
  unit: 'req/s',
  // Pinned, req/s measures the load generator's core: the server's capacity is the figure.
  ratio: pinned ? fastifyCap : fastifyVsBare,
  target: 0.85,
  issue: '5',
  note: `${pinned ? `pinned: ratio = capacity (server CPU per request); req/s ${fastifyVsBare.toFixed(2)}x` : `capacity ${fastifyCap.toFixed(2)}x`}; the same headers set by a native Fastify hook (no middleware): ${fastifyFloor.toFixed(2)}x bare, ours ${oursVsFloor.toFixed(2)}x that floor; @fastify/helmet ${median(vsBare['fastify-helmet']).toFixed(2)}x bare`,
})
record({
  area: 'security',
  benchmark: 'securityHeaders() on Fastify',
  ours: rps('fastify-aikit'),
  anchor: rps('fastify-helmet'),
  anchorName: '@fastify/helmet',
  unit: 'req/s',
  ratio: median(vsHelmet['fastify-aikit']),
  target: null,
  issue: '5',
})
record({
  area: 'security',
  benchmark: 'securityHeaders() on Express',
  ours: rps('express-aikit'),
  anchor: rps('express-helmet'),
  anchorName: 'helmet',
  unit: 'req/s',
  ratio: expressVsHelmet,
  target: 1,
  issue: '5',
  note: `capacity ${expressCap.toFixed(2)}x`,
})

// The same variants measured in-process (CPU per request, no sockets), unless --no-inject.
if (!process.argv.includes('--no-inject')) {
  await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'headers-inject.mjs')], { stdio: 'inherit' })
    child.once('error', reject)
    child.once('exit', resolve)
  })
}
