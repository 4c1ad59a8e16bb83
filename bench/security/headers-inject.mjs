// The CPU cost per request of each variant of bench/security/headers.mjs, measured in-process
// without sockets (Fastify's `inject`, light-my-request for Express; both run Node's real
// ServerResponse header code). Steadier than autocannon on a small, shared machine: no load
// generator competes for the cores. Variants are interleaved over many short rounds and the
// median per-round ratio is reported. Usage: node bench/security/headers-inject.mjs [--rounds 15]
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const inject = createRequire(require.resolve('fastify'))('light-my-request')
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const rounds = arg('rounds', 15)
const perRound = arg('requests', 2000)
const payload = JSON.stringify({ hello: 'world' })
const noop = async (_ctx, next) => {
  await next()
}

const { default: Fastify } = await import('fastify')
const { default: fastifyHelmet } = await import('@fastify/helmet')
const { default: express } = await import('express')
const { default: helmet } = await import('helmet')
const { aikitFastify } = await import('@aikit/adapters/fastify')
const { toExpress } = await import('@aikit/adapters/express')
const { securityHeaders } = await import('@aikit/security')

async function fastifyApp(mode) {
  const app = Fastify({ logger: false })
  if (mode === 'helmet') await app.register(fastifyHelmet)
  if (mode === 'aikit') await app.register(aikitFastify, { use: [securityHeaders()] })
  if (mode === 'adapter') await app.register(aikitFastify, { use: [noop] })
  app.get('/', async (_req, reply) => {
    reply.type('application/json')
    return payload
  })
  await app.ready()
  return () => app.inject({ method: 'GET', url: '/' })
}

function expressApp(mode) {
  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  if (mode === 'helmet') app.use(helmet())
  if (mode === 'aikit') app.use(toExpress(securityHeaders()))
  if (mode === 'adapter') app.use(toExpress(noop))
  app.get('/', (_req, res) => {
    res.type('application/json').send(payload)
  })
  return () => inject(app, { method: 'GET', url: '/' })
}

const modes = ['bare', 'helmet', 'aikit', 'adapter']
const variants = {}
for (const mode of modes) {
  variants[`fastify-${mode}`] = await fastifyApp(mode)
  variants[`express-${mode}`] = expressApp(mode)
}
// Every variant must answer 200 with the security headers where expected.
for (const [name, run] of Object.entries(variants)) {
  const res = await run()
  if (res.statusCode !== 200) throw new Error(`${name}: status ${res.statusCode}`)
  const hasCsp = 'content-security-policy' in res.headers
  if (hasCsp !== (name.endsWith('helmet') || name.endsWith('aikit'))) {
    throw new Error(`${name}: unexpected header set`)
  }
}

// CPU time, not wall time: on a shared machine, time spent waiting for a core is not the
// variant's cost.
async function sample(run) {
  const start = process.cpuUsage()
  for (let i = 0; i < perRound; i++) await run()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / perRound // µs of CPU per request
}

const names = Object.keys(variants)
for (const name of names) await sample(variants[name]) // warm-up
const times = Object.fromEntries(names.map((n) => [n, []]))
for (let round = 0; round < rounds; round++) {
  const order = names.map((_, i) => names[(i + round) % names.length])
  for (const name of order) times[name].push(await sample(variants[name]))
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ratio = (a, b) => median(times[a].map((t, i) => times[b][i] / t)) // speed of a relative to b
const rows = []
for (const fw of ['fastify', 'express']) {
  for (const mode of modes) {
    const v = `${fw}-${mode}`
    rows.push({
      variant: v,
      'µs CPU/request (median)': median(times[v]).toFixed(1),
      'speed vs bare': ratio(v, `${fw}-bare`).toFixed(3),
      'speed vs helmet': ratio(v, `${fw}-helmet`).toFixed(3),
    })
  }
}
console.log(
  `\nIn-process (no sockets): ${perRound} requests x ${rounds} rounds per variant, Node ${process.version}` +
    '\nspeed ratios: median over rounds of (reference time / variant time), same round'
)
console.table(rows)
console.log(
  `fastify + aikit vs bare fastify: ${ratio('fastify-aikit', 'fastify-bare').toFixed(3)} (target >= 0.85)` +
    `\nexpress + aikit vs express + helmet: ${ratio('express-aikit', 'express-helmet').toFixed(3)} (target >= 1.0)` +
    `\nsecurityHeaders() alone on top of the adapter: fastify ${ratio('fastify-aikit', 'fastify-adapter').toFixed(3)}, express ${ratio('express-aikit', 'express-adapter').toFixed(3)} of the adapter's speed` +
    `\nhelmet alone: @fastify/helmet ${ratio('fastify-helmet', 'fastify-bare').toFixed(3)}, helmet on express ${ratio('express-helmet', 'express-bare').toFixed(3)} of the bare speed`
)
process.exit(0)
