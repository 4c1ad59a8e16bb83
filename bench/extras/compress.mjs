// compress() against the anchors on the same 10 KB JSON framework route (Express `res.send`, a
// Fastify reply): the `compression` package on Express and @fastify/compress on Fastify, for a br
// client and a gzip client. Each variant runs in its own
// child process; the pair (anchor, aikit) is measured back to back in each round, order alternating,
// and the median of the per-round ratios is printed (the machine is small and noisy).
// Build first: pnpm --filter @aikit/core --filter @aikit/adapters build
// Usage: node bench/extras/compress.mjs [--seconds 3] [--rounds 5] [--connections 50]
import { request } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'
import { measureRunning, startServer } from '../lib/http-bench.mjs'
import { record } from '../lib/results.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const seconds = arg('seconds', 3)
const rounds = arg('rounds', 5)
const connections = arg('connections', 50)
const PAIRS = [
  {
    framework: 'express',
    anchor: 'express-compression',
    aikit: 'express-aikit',
    label: 'compression',
  },
  {
    framework: 'fastify',
    anchor: 'fastify-compress',
    aikit: 'fastify-aikit',
    label: '@fastify/compress',
  },
]
const CLIENTS = { br: 'gzip, deflate, br', gzip: 'gzip' }

/** One request: checks the answer is compressed as negotiated and decodes to the JSON. */
function probe(port, accept, expected) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', headers: { 'accept-encoding': accept } },
      (res) => {
        const parts = []
        res.on('data', (c) => parts.push(c))
        res.on('end', () => {
          const raw = Buffer.concat(parts)
          const encoding = res.headers['content-encoding']
          if (encoding !== expected)
            return reject(new Error(`expected ${expected}, got ${encoding}`))
          const text = String(
            encoding === 'br' ? zlib.brotliDecompressSync(raw) : zlib.gunzipSync(raw)
          )
          JSON.parse(text)
          resolve({ compressed: raw.byteLength, plain: Buffer.byteLength(text) })
        })
      }
    )
    req.once('error', reject)
    req.end()
  })
}

async function measure(variant, encoding) {
  const server = await startServer(join(here, 'compress-server.mjs'), variant)
  try {
    const sizes = await probe(server.port, CLIENTS[encoding], encoding)
    const url = `http://127.0.0.1:${server.port}/`
    const headers = { 'accept-encoding': CLIENTS[encoding] }
    const { rps, cpuPerReq } = await measureRunning(server, { url, connections, headers }, seconds)
    return { rps, cpuPerReq, ...sizes }
  } finally {
    server.stop()
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const results = {} // `${pair.framework} ${encoding}` → { anchor: [], aikit: [], ratio: [], capacity: [] }
for (let round = 0; round < rounds; round++) {
  for (const pair of PAIRS) {
    for (const encoding of Object.keys(CLIENTS)) {
      const key = `${pair.framework} ${encoding}`
      results[key] ??= { pair, encoding, anchor: [], aikit: [], ratio: [], capacity: [] }
      const order = round % 2 === 0 ? ['anchor', 'aikit'] : ['aikit', 'anchor']
      const r = {}
      for (const side of order) {
        r[side] = await measure(pair[side], encoding)
        results[key][side].push(r[side])
        process.stderr.write(
          `round ${round + 1}/${rounds} ${pair[side]} ${encoding}: ${Math.round(r[side].rps)} req/s, ` +
            `${r[side].cpuPerReq.toFixed(1)} µs CPU/req, ${r[side].compressed} B\n`
        )
      }
      results[key].ratio.push(r.aikit.rps / r.anchor.rps)
      results[key].capacity.push(r.anchor.cpuPerReq / r.aikit.cpuPerReq)
    }
  }
}

const rows = []
let below = false
for (const res of Object.values(results)) {
  const ratio = median(res.ratio)
  const capacity = median(res.capacity)
  if (ratio < 1) below = true
  rows.push({
    route: `${res.pair.framework}, ${res.encoding} client`,
    anchor: res.pair.label,
    'anchor req/s': Math.round(median(res.anchor.map((x) => x.rps))),
    'aikit req/s': Math.round(median(res.aikit.map((x) => x.rps))),
    'anchor B': res.anchor[0].compressed,
    'aikit B': res.aikit[0].compressed,
    'req/s ratio': ratio.toFixed(3),
    'per-round ratios': res.ratio.map((x) => x.toFixed(2)).join(' '),
    'capacity ratio': capacity.toFixed(3),
  })
  record({
    area: 'extras',
    benchmark: `compress() on ${res.pair.framework === 'express' ? 'Express' : 'Fastify'}, ${res.encoding} client, 10 KB JSON`,
    ours: median(res.aikit.map((x) => x.rps)),
    anchor: median(res.anchor.map((x) => x.rps)),
    anchorName: res.pair.label,
    unit: 'req/s',
    ratio,
    target: 1,
    issue: '11',
  })
}
console.log(
  `\ncompress() vs anchors, 10 KB JSON (${results['express br'].aikit[0].plain} B): ${connections} connections, ` +
    `${seconds}s x ${rounds} rounds, Node ${process.version}` +
    '\nreq/s ratio: median over rounds of aikit / anchor measured back to back; capacity ratio: anchor / aikit server CPU per request'
)
console.table(rows)
console.log(
  below ? 'BELOW TARGET: a req/s ratio under 1.0x' : 'OK: every req/s ratio at least 1.0x'
)
