/**
 * The middleware chains the attack-table rows run, shared by the in-process adapter tests
 * (attack-table.body.test.ts, headers-order.test.ts) and the real Next server's fixture
 * (fixtures/next-app/app/raw/[chain]/route.ts), so every adapter runs the same chain. Each
 * chain lists `securityHeaders()` LAST: `compose` still runs it first, so every rejection carries
 * the headers.
 */
import type { Context, Middleware } from '@aikit/core'
import { z } from 'zod'
import { rateLimit } from '../../ratelimit/src/index.js'
import { bodyLimit } from '../src/body-limit.js'
import { csrf } from '../src/csrf.js'
import { securityHeaders } from '../src/headers.js'
import { promptGuard } from '../src/prompt-guard.js'
import { redact } from '../src/redact.js'
import { validate } from '../src/validate.js'

/** A provider key that must never reach a log line (row 31). */
export const LEAKED_KEY = `sk-ant-api03-${'A1b2C3d4'.repeat(12)}-abcdEFGH`

/** A handler-call counter. */
export interface Calls {
  n: number
}

export const Chat = z.strictObject({
  model: z.enum(['small', 'large']),
  messages: z
    .array(z.strictObject({ role: z.enum(['user', 'assistant']), content: z.string().max(1000) }))
    .min(1),
})

/** The route: counts its calls and answers the size of the body it got (never its values). */
export function echoRoute(calls: Calls): Middleware {
  return async function route(ctx) {
    calls.n++
    const body = await ctx.json()
    ctx.respond(200, { bytes: JSON.stringify(body).length })
  }
}

/** One log line per request, written through redact() as the kit's logger does. */
export function logLines(lines: string[]): Middleware {
  return async function logLine(ctx, next) {
    await next()
    const err = (ctx as Context & { error?: unknown }).error
    lines.push(
      JSON.stringify(
        redact({
          req: { method: ctx.method, headers: { authorization: ctx.header('authorization') } },
          body: await ctx.json().catch(() => undefined),
          status: ctx.status,
          err: err instanceof Error ? { message: err.message } : undefined,
        })
      )
    )
  }
}

/** A route that reads the body and then fails with a provider key in its message (row 31). */
export function throwingRoute(key: string): Middleware {
  return async function route(ctx) {
    await ctx.json()
    throw new Error(`upstream 401 for ${key}`)
  }
}

/** Rows 16-21: a 1 MiB body limit in front of the route. */
export const limitedChain = (calls: Calls): Middleware[] => [
  bodyLimit({ maxBytes: '1mb' }),
  echoRoute(calls),
  securityHeaders(),
]

/**
 * Rows 19, 20: a 1 MiB limit with a short body timeout (300 ms without a byte → 408), so a
 * stalled body is answered quickly.
 */
export const stallChain = (calls: Calls): Middleware[] => [
  bodyLimit({ maxBytes: '1mb', timeoutMs: 300 }),
  validate({ body: z.unknown() }),
  echoRoute(calls),
  securityHeaders(),
]

/** Compressed bodies: gzip/deflate decoded, the DECODED size counted against 1 MiB. */
export const gzipChain = (calls: Calls): Middleware[] => [
  bodyLimit({ maxBytes: '1mb', decompress: true }),
  validate({ body: z.unknown() }),
  echoRoute(calls),
  securityHeaders(),
]

/** Rows 23, 24, 26, 27: a JSON route (validate() parses the body before the handler runs). */
export const parseChain = (calls: Calls): Middleware[] => [
  bodyLimit({ maxBytes: '1mb' }),
  validate({ body: z.unknown() }),
  echoRoute(calls),
  securityHeaders(),
]

/** Row 28: a strict zod schema behind an 8 MiB limit (a 5 MB string reaches zod). */
export const chatChain = (calls: Calls): Middleware[] => [
  bodyLimit({ maxBytes: '8mb' }),
  validate({ body: Chat }),
  echoRoute(calls),
  securityHeaders(),
]

/** Row 32: promptGuard in block mode (the default). */
export const guardChain = (calls: Calls): Middleware[] => [
  promptGuard().middleware(),
  echoRoute(calls),
  securityHeaders(),
]

/** Row 32: promptGuard in monitor mode. */
export const monitorChain = (calls: Calls): Middleware[] => [
  promptGuard({ mode: 'monitor' }).middleware(),
  echoRoute(calls),
  securityHeaders(),
]

/** Row 31: the log line of a request whose route throws with a key in the message. */
export const loggedChain = (lines: string[]): Middleware[] => [
  logLines(lines),
  throwingRoute(LEAKED_KEY),
  securityHeaders(),
]

/**
 * Every error middleware of the kit first, `securityHeaders()` last: 413 (body over 64 bytes),
 * 403 (cross-site), 429 (second request with one `x-rate-key`), 400 (schema or bad JSON).
 */
export const orderChain = (calls: Calls): Middleware[] => [
  bodyLimit({ maxBytes: 64 }),
  csrf(),
  rateLimit({
    limits: [{ limit: 1, window: '1m' }],
    keyBy: (ctx) => ctx.header('x-rate-key'),
    headers: false,
  }),
  validate({ body: z.strictObject({ n: z.number() }) }),
  echoRoute(calls),
  securityHeaders(),
]

/** The public origin the strict CSRF chain is configured with. */
export const APP_ORIGIN = 'https://app.example.com'
/** The CSRF token chain's HMAC secret. */
export const CSRF_SECRET = 's'.repeat(32)

/** A route that answers GET (a page) and counts the unsafe requests that reach it. */
function countRoute(calls: Calls): Middleware {
  return async function route(ctx) {
    if (ctx.method === 'GET') {
      ctx.respond(200, { page: true })
      return
    }
    calls.n++
    ctx.respond(200, { ok: true })
  }
}

/** Rows 5 and 7, strict: cookie-bearing requests need a same-origin Referer; the origin is fixed. */
export const strictChain = (calls: Calls): Middleware[] => [
  csrf({ origin: APP_ORIGIN, strictCookies: true }),
  countRoute(calls),
  securityHeaders(),
]

/** Row 10: the signed double-submit token, bound to the `sid` cookie. */
export const tokenChain = (calls: Calls): Middleware[] => [
  csrf({
    token: {
      secrets: [CSRF_SECRET],
      sessionId: (ctx) => /sid=(\w+)/.exec(ctx.header('cookie') ?? '')?.[1],
    },
  }),
  countRoute(calls),
  securityHeaders(),
]
