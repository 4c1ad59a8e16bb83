// One load-test server per process: `node --expose-gc server.mjs <variant>` sends its port (fd 3).
// bare: a Fastify route with nothing else; stack: bench/load/app.mjs (the full AI Kit stack);
// stack-without-<part>, stack-adapter-only: the same minus one part / minus every middleware;
// example: examples/fastify-chat/app.mjs `buildApp()` (the Fastify example with its default kit).
// `mem` on stdin answers RSS and heap (before and after a full GC), `cpu` the CPU time.
import { serveControl } from '../lib/http-bench.mjs'
import { buildLoadApp, STACK_PARTS } from './app.mjs'

const variant = process.argv[2] ?? ''
const path = process.env.LOAD_PATH ?? '/api/ping' // the bare route's path

async function build() {
  if (variant === 'example') {
    const { buildApp } = await import('../../examples/fastify-chat/app.mjs')
    return buildApp()
  }
  if (variant === 'stack') return buildLoadApp({ stack: true })
  // stack-without-<part>: the stack minus one middleware (bench/load/fastify-example.mjs --attribute)
  if (variant.startsWith('stack-without-')) {
    return buildLoadApp({ without: [variant.slice('stack-without-'.length)] })
  }
  if (variant === 'stack-adapter-only') return buildLoadApp({ without: STACK_PARTS })
  if (variant === 'bare') {
    const { default: Fastify } = await import('fastify')
    const app = Fastify({ logger: false })
    app.get(path, async (_req, reply) => {
      reply.type('application/json')
      return JSON.stringify({ ok: true })
    })
    return app
  }
  throw new Error(`unknown variant ${variant}`)
}

const app = await build()
await app.listen({ port: 0, host: '127.0.0.1' })
serveControl(app.server.address().port)
