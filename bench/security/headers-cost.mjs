// The CPU cost of setting helmet's 12 default headers, per request, in-process and without any
// framework or socket: a fresh node:http ServerResponse per "request", the headers, then the head
// and body written (Node's header validation and serialisation included). Separates three costs:
//   - helmet's middleware vs securityHeaders() itself (both on the native response);
//   - the core/adapter head path: 12 `ctx.setHeader` calls on a NodeContext, merged into the
//     response by `applyPendingHeaders` at writeHead (what the Web path and any middleware that
//     uses ctx.setHeader pays under the Node adapters);
//   - a bulk alternative for that head path: a list prepared once, applied at the head with
//     `res.setHeader` behind one `hasHeader` check per header (the change recommended to core).
// Then the same through real Fastify 5 and Express 5 apps, in-process: each request is a fake
// IncomingMessage/ServerResponse pair emitted on the app's server (no sockets, no HTTP client, so
// unlike light-my-request nothing parses the response headers in the measuring process). The
// `reply.headers()` hook variant is the floor: the cost of the 12 headers themselves in Fastify.
// Interleaved rounds, medians of per-round CPU time. Build first:
//   pnpm --filter @aikit/core --filter @aikit/adapters --filter @aikit/security build
// Usage: node bench/security/headers-cost.mjs [--rounds 15] [--requests 20000]
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { NodeContext } from '@aikit/adapters/node'
import { resolveAdapterOptions } from '@aikit/core/adapter'
import { securityHeaders } from '@aikit/security'
import fastifyHelmet from '@fastify/helmet'
import express from 'express'
import Fastify from 'fastify'
import helmet from 'helmet'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const ROUNDS = arg('rounds', 15)
const REQUESTS = arg('requests', 20000)

const req = new IncomingMessage(new Socket())
req.method = 'GET'
req.url = '/'
req.httpVersionMajor = 1
req.httpVersionMinor = 1
req.headers = { host: 'localhost' }
const payload = JSON.stringify({ hello: 'world' })
const options = resolveAdapterOptions({})
const resolved = Promise.resolve()

// helmet's default header list, taken from helmet itself (so both sides send the same set).
const HEADERS = []
{
  const res = new ServerResponse(req)
  helmet()(req, res, () => {})
  for (const name of res.getHeaderNames()) {
    const raw = res.getRawHeaderNames().find((n) => n.toLowerCase() === name)
    HEADERS.push([raw, String(res.getHeader(name))])
  }
}
const names = HEADERS.map((h) => h[0])
const values = HEADERS.map((h) => h[1])

let sink = 0
function route(res) {
  res.setHeader('Content-Type', 'application/json')
  res.end(payload)
  sink += res._header.length
}

const helmetMw = helmet()
const ours = securityHeaders()
// A middleware setting the same list through the context (plain function, like securityHeaders()).
const viaCtx = (ctx, next) => {
  for (let i = 0; i < names.length; i++) ctx.setHeader(names[i], values[i])
  return next()
}

const variants = {
  'node:http route only': () => route(new ServerResponse(req)),
  'helmet() middleware': () => {
    const res = new ServerResponse(req)
    helmetMw(req, res, () => route(res))
  },
  'securityHeaders() on the native response': () => {
    const res = new ServerResponse(req)
    void ours({ res }, () => {
      route(res)
      return resolved
    })
  },
  'NodeContext, no headers': () => {
    const res = new ServerResponse(req)
    new NodeContext(req, res, options)
    route(res)
  },
  'NodeContext + securityHeaders() (native path)': () => {
    const res = new ServerResponse(req)
    const ctx = new NodeContext(req, res, options)
    void ours(ctx, () => {
      route(res)
      return resolved
    })
  },
  'NodeContext + 12 ctx.setHeader (head path)': () => {
    const res = new ServerResponse(req)
    const ctx = new NodeContext(req, res, options)
    void viaCtx(ctx, () => {
      route(res)
      return resolved
    })
  },
  // Fastify hands its headers to writeHead(status, object): Node's fast path, unless a header was
  // set on the response before (then every header of the object goes through setHeader).
  'writeHead(200, object of 13 headers) (Fastify)': () => {
    const res = new ServerResponse(req)
    const head = { 'content-type': 'application/json' }
    for (let i = 0; i < names.length; i++) head[names[i].toLowerCase()] = values[i]
    res.writeHead(200, head)
    res.end(payload)
    sink += res._header.length
  },
  '12 setHeader + writeHead(200, object) (Fastify)': () => {
    const res = new ServerResponse(req)
    for (let i = 0; i < names.length; i++) res.setHeader(names[i], values[i])
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(payload)
    sink += res._header.length
  },
  'NodeContext + bulk list at the head (proposal)': () => {
    const res = new ServerResponse(req)
    new NodeContext(req, res, options)
    // What the adapter would do at writeHead for a list registered once per request.
    const writeHead = res.writeHead
    res.writeHead = function (...args) {
      for (let i = 0; i < names.length; i++) {
        if (!this.hasHeader(names[i])) this.setHeader(names[i], values[i])
      }
      return writeHead.apply(this, args)
    }
    route(res)
  },
}

function run(fn) {
  const start = process.cpuUsage()
  for (let i = 0; i < REQUESTS; i++) fn()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / REQUESTS // µs per request
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const list = Object.keys(variants)
for (const n of list) run(variants[n]) // warm-up
const samples = Object.fromEntries(list.map((n) => [n, []]))
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? list : [...list].reverse()
  for (const n of order) samples[n].push(run(variants[n]))
  await new Promise((resolve) => setImmediate(resolve)) // let pending promises settle
}
/** Median over rounds of (a - b), in µs: the extra cost of `a` over `b` measured in one round. */
const extra = (a, b) => median(samples[a].map((x, i) => x - samples[b][i]))

console.log(
  `Setting helmet's ${names.length} default headers: ${ROUNDS} rounds x ${REQUESTS} requests, Node ${process.version}`
)
for (const n of list)
  console.log(`  ${n.padEnd(48)} ${median(samples[n]).toFixed(2).padStart(6)} µs CPU`)
const bare = 'node:http route only'
const helmetCost = extra('helmet() middleware', bare)
const oursCost = extra('securityHeaders() on the native response', bare)
console.log('extra cost per request (median of per-round differences):')
console.log(`  helmet() middleware                          ${helmetCost.toFixed(2)} µs`)
console.log(`  securityHeaders() (native path)              ${oursCost.toFixed(2)} µs`)
console.log(
  `  NodeContext + securityHeaders() (native)     ${extra('NodeContext + securityHeaders() (native path)', 'NodeContext, no headers').toFixed(2)} µs over the bare NodeContext`
)
console.log(
  `  NodeContext + 12 ctx.setHeader (head path)   ${extra('NodeContext + 12 ctx.setHeader (head path)', 'NodeContext, no headers').toFixed(2)} µs over the bare NodeContext`
)
console.log(
  `  NodeContext + bulk list at the head          ${extra('NodeContext + bulk list at the head (proposal)', 'NodeContext, no headers').toFixed(2)} µs over the bare NodeContext`
)
console.log(
  `  12 headers set on res before a Fastify-style writeHead(obj): ${extra('12 setHeader + writeHead(200, object) (Fastify)', 'writeHead(200, object of 13 headers) (Fastify)').toFixed(2)} µs more than in the object`
)
console.log(
  `  NodeContext itself                           ${extra('NodeContext, no headers', bare).toFixed(2)} µs over the route alone`
)

// --- Part 2: the same headers through Fastify and Express, in-process ---------------------------
const noop = (_ctx, next) => next()
async function fastifyApp(mode) {
  const app = Fastify({ logger: false })
  if (mode === 'helmet') await app.register(fastifyHelmet)
  if (mode === 'aikit') await app.register(aikitFastify, { use: [securityHeaders()] })
  if (mode === 'adapter') await app.register(aikitFastify, { use: [noop] })
  if (mode === 'floor') {
    const lower = names.map((n) => n.toLowerCase())
    app.addHook('onRequest', (_req, reply, done) => {
      for (let i = 0; i < lower.length; i++) reply.header(lower[i], values[i])
      done()
    })
  }
  app.get('/', async (_req, reply) => {
    reply.type('application/json')
    return payload
  })
  await app.ready()
  return (req, res) => app.server.emit('request', req, res)
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
  return (req, res) => app(req, res)
}
const socket = new Socket()
/** One request through `handle`, resolved when the response ends. */
function request(handle) {
  return new Promise((resolve) => {
    const r = new IncomingMessage(socket)
    r.method = 'GET'
    r.url = '/'
    r.httpVersionMajor = 1
    r.httpVersionMinor = 1
    r.headers = { host: 'localhost' }
    r.push(null)
    const res = new ServerResponse(r)
    const end = res.end
    res.end = function (...args) {
      const out = end.apply(this, args)
      sink += this._header.length
      resolve()
      return out
    }
    handle(r, res)
  })
}
const apps = {}
for (const mode of ['bare', 'helmet', 'aikit', 'adapter', 'floor'])
  apps[`fastify-${mode}`] = await fastifyApp(mode)
for (const mode of ['bare', 'helmet', 'aikit', 'adapter'])
  apps[`express-${mode}`] = expressApp(mode)
const APP_REQUESTS = Math.max(1000, REQUESTS >> 2)
async function runApp(handle) {
  const start = process.cpuUsage()
  for (let i = 0; i < APP_REQUESTS; i++) await request(handle)
  const used = process.cpuUsage(start)
  return (used.user + used.system) / APP_REQUESTS
}
const appNames = Object.keys(apps)
for (const n of appNames) await runApp(apps[n]) // warm-up
const appSamples = Object.fromEntries(appNames.map((n) => [n, []]))
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? appNames : [...appNames].reverse()
  for (const n of order) appSamples[n].push(await runApp(apps[n]))
}
/** Median over rounds of speed(a) / speed(b) = time(b) / time(a), same round. */
const speed = (a, b) => median(appSamples[a].map((x, i) => appSamples[b][i] / x))
console.log(`\nThrough the frameworks, in-process: ${ROUNDS} rounds x ${APP_REQUESTS} requests`)
for (const n of appNames) {
  console.log(`  ${n.padEnd(18)} ${median(appSamples[n]).toFixed(2).padStart(6)} µs CPU/request`)
}
console.log('speed ratios (median of per-round ratios):')
console.log(
  `  fastify + securityHeaders() vs bare fastify:   ${speed('fastify-aikit', 'fastify-bare').toFixed(3)} (target >= 0.85)`
)
console.log(
  `  fastify + adapter (no-op) vs bare fastify:     ${speed('fastify-adapter', 'fastify-bare').toFixed(3)}`
)
console.log(
  `  fastify + 12 headers by a reply.header() hook:  ${speed('fastify-floor', 'fastify-bare').toFixed(3)} (the headers' own floor)`
)
console.log(
  `  fastify + @fastify/helmet vs bare fastify:     ${speed('fastify-helmet', 'fastify-bare').toFixed(3)}`
)
console.log(
  `  securityHeaders() vs the no-op adapter:        ${speed('fastify-aikit', 'fastify-adapter').toFixed(3)}`
)
console.log(
  `  express + securityHeaders() vs express+helmet: ${speed('express-aikit', 'express-helmet').toFixed(3)} (target >= 1.0)`
)
console.log(
  `  express + adapter (no-op) vs express+helmet:   ${speed('express-adapter', 'express-helmet').toFixed(3)}`
)
console.log(
  `  express + helmet vs bare express:              ${speed('express-helmet', 'express-bare').toFixed(3)}`
)
if (sink < 0) console.log(sink)
