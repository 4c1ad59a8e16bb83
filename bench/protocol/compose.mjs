// The in-process cost of the protocol, without HTTP: running 5 no-op middleware through
// `runChain` (context, AsyncLocalStorage scope, per-level error and head handling) against
// koa-compose running the same 5 middleware on a plain object, in one run. Stable where the
// HTTP benchmark is noisy. Usage: node bench/protocol/compose.mjs
import { compose } from '@aikit/core'
import { BaseContext, resolveAdapterOptions, runChain } from '@aikit/core/adapter'
import koaCompose from 'koa-compose'
import { record } from '../lib/results.mjs'

const ITERATIONS = 200_000
const WARMUP = 30_000
const N = 5

class BenchContext extends BaseContext {
  method = 'GET'
  path = '/'
  query = ''
  header() {
    return undefined
  }
  remoteAddress() {
    return '127.0.0.1'
  }
  readBody() {
    return Promise.resolve(new Uint8Array())
  }
  writeResponse() {
    return Promise.resolve()
  }
}

const noop = async (_ctx, next) => {
  await next()
}
const five = Array.from({ length: N }, () => noop)
const kit = compose(...five)
const koa = koaCompose(five)
const withContext = resolveAdapterOptions({})
const withoutContext = resolveAdapterOptions({ asyncContext: false })

function kitRequest(options) {
  const ctx = new BenchContext(options)
  return runChain(ctx, kit, () => {
    ctx.beforeHead(200)
    return Promise.resolve()
  })
}

const cases = {
  'koa-compose, 5 no-op (plain object)': () => koa({}, () => Promise.resolve()),
  'aikit runChain, 5 no-op, asyncContext: false': () => kitRequest(withoutContext),
  'aikit runChain, 5 no-op (default)': () => kitRequest(withContext),
}

async function time(fn) {
  for (let i = 0; i < WARMUP; i++) await fn()
  const start = process.hrtime.bigint()
  for (let i = 0; i < ITERATIONS; i++) await fn()
  return Number(process.hrtime.bigint() - start) / ITERATIONS
}

// The default case runs last: on Node 20, AsyncLocalStorage turns on promise hooks for the whole
// process once used, which would slow every case measured after it.
const results = {}
for (const [name, fn] of Object.entries(cases)) results[name] = await time(fn)
const koaNs = results['koa-compose, 5 no-op (plain object)']
record({
  area: 'protocol',
  benchmark: 'runChain, 5 no-op, in process (time, lower is better)',
  ours: results['aikit runChain, 5 no-op (default)'],
  anchor: koaNs,
  anchorName: 'koa-compose',
  unit: 'ns/request',
  ratio: results['aikit runChain, 5 no-op (default)'] / koaNs,
  targetOp: '<=',
  target: null,
  issue: '2',
  note: 'ours builds a context and an AsyncLocalStorage scope; koa-compose runs on a plain object',
})
console.log(`\nProtocol in-process cost, ${ITERATIONS} requests, Node ${process.version}`)
console.table(
  Object.entries(results).map(([name, ns]) => ({
    case: name,
    'ns per request': Math.round(ns),
    'ns per middleware': Math.round(ns / N),
    'x koa-compose': (ns / koaNs).toFixed(2),
  }))
)
