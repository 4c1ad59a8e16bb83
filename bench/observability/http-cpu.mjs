// CPU per request of the observability HTTP variants, for A/B work on a busy machine: each
// variant runs in its own process (http-cpu-child.mjs: the app of app.mjs plus a small raw-socket
// load generator in the same process, so no second process competes for a core), all of them up
// for the whole run; each round asks every variant in turn to serve the same fixed number of GETs
// over `--connections` keep-alive connections (order rotated by round) and to report its own
// CPU time (process.cpuUsage) per request. The generator's share is the same for every variant;
// ratios are medians of per-round ratios against the bare route (so they understate the
// middleware's share a little against run.mjs, which counts the server process alone).
// Usage: node bench/observability/http-cpu.mjs [--framework fastify|express] [--rounds 9]
//        [--requests 20000] [--connections 50] [--pin] [--variants bare,metrics,metrics-logger]
//        [--before path/to/another/build/dist/index.js]   (adds that build's variants, same rounds)
//        (build first: pnpm --filter @aikit/observability --filter @aikit/adapters build)
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { numArg, startServer } from '../lib/http-bench.mjs'
import { pinned } from '../lib/pin.mjs'
import { median } from '../lib/results.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const strArg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const framework = strArg('framework', 'fastify')
const rounds = numArg('rounds', 9)
const perRound = numArg('requests', 20000)
const connections = numArg('connections', 50)
const modes = strArg('variants', 'bare,metrics,metrics-logger,metrics-logger-noctx').split(',')
const before = strArg('before', undefined)

const variants = modes.map((mode) => ({ label: mode, mode, env: {} }))
if (before !== undefined) {
  for (const mode of modes) {
    if (mode === 'bare') continue
    variants.push({ label: `${mode} (before)`, mode, env: { AIKIT_OBSERVABILITY_ENTRY: before } })
  }
}
const servers = []
try {
  for (const v of variants) {
    servers.push(
      await startServer(join(here, 'http-cpu-child.mjs'), `${framework}-${v.mode}`, [], v.env)
    )
  }
  // Warm-up: V8 keeps optimising the request path over the first ~20k requests.
  for (const s of servers) await s.ask(`drive 20000 ${connections}`)
  const samples = variants.map(() => [])
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (k + round) % variants.length
      const s = servers[i]
      samples[i].push((await s.ask(`drive ${perRound} ${connections}`)).cpuPerReq)
    }
    process.stderr.write(
      `round ${round + 1}/${rounds}: ${samples.map((x) => x[round].toFixed(1)).join(' ')}\n`
    )
  }
  const bare = variants.findIndex((v) => v.mode === 'bare')
  console.log(
    `${framework}: µs CPU per request (server + in-process client), ${perRound} requests x ${rounds} rounds, ` +
      `${connections} connections, Node ${process.version}; ` +
      (pinned ? 'pinned (--pin): every variant on CPU 1' : 'unpinned')
  )
  console.table(
    variants.map((v, i) => ({
      variant: v.label,
      'µs CPU/req (median)': median(samples[i]).toFixed(2),
      'capacity vs bare':
        bare === -1 ? '' : median(samples[i].map((x, r) => samples[bare][r] / x)).toFixed(3),
    }))
  )
} finally {
  for (const s of servers) s.stop()
}
