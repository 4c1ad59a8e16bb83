/**
 * The adapter conformance suite: the same cases, over real HTTP on 127.0.0.1, for every adapter.
 *
 * An adapter test file calls `runConformance('express 5', startServer)`, where `startServer`
 * starts that framework on 127.0.0.1 (port 0) with the probe middleware and the routes listed in
 * `probe.ts`, and returns its URL and a `close()`. Two servers are started: profile `default`
 * (`DEFAULT_OPTIONS`) and profile `trusted-loopback` (`TRUSTED_OPTIONS`, `trustProxy: 'loopback'`).
 * A server in another process (e.g. `next start`) can pick its options by `profile`; the side
 * channel `GET /__probe/obs?id=` is answered by the probe itself, so it works there too.
 */
import { request as httpRequest } from 'node:http'
import type { Middleware } from '@aikit/core'
import type { AdapterOptions } from '@aikit/core/adapter'
import { rawRequest } from '@aikit/testing/raw-http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Observation,
  PROBE_ID_HEADER,
  probeMiddleware,
  SECRET_MESSAGE,
  SSE_EVENTS,
} from './probe.js'

/** A running server under test. */
export interface ConformanceServer {
  /** Base URL, e.g. `http://127.0.0.1:34567` (no trailing slash). */
  url: string
  close(): Promise<void>
}

/** Which options a server is started with (for servers configured out of process). */
export type ConformanceProfile = 'default' | 'trusted-loopback'

/** What the runner asks an adapter factory to start. */
export interface StartServerInput {
  middleware: Middleware[]
  options: AdapterOptions
  profile: ConformanceProfile
}

/** Starts one server for the adapter under test. */
export type StartServer = (input: StartServerInput) => Promise<ConformanceServer>

/** Options of the `default` profile. */
export const DEFAULT_OPTIONS = {
  maxBodyBytes: 1024,
  maxJsonDepth: 8,
} as const satisfies AdapterOptions

/** Options of the `trusted-loopback` profile. */
export const TRUSTED_OPTIONS = {
  ...DEFAULT_OPTIONS,
  trustProxy: 'loopback',
} as const satisfies AdapterOptions

/** Names of the cases, for `exclude`. */
export type CaseName =
  | 'header-before-next'
  | 'on-headers-final-status'
  | 'short-circuit-429'
  | 'status-after-next'
  | 'implicit-head'
  | 'json-echo'
  | 'framework-reads-body'
  | 'body-errors'
  | 'oversized-chunked'
  | 'thrown-error'
  | 'head-request'
  | 'sse-stream'
  | 'client-disconnect'
  | 'client-disconnect-web-stream'
  | 'ip-default'
  | 'ip-trusted'
  | 'current-context'
  | 'still-alive'
  | 'attack-huge-content-length'
  | 'attack-framing'
  | 'attack-json-bodies'

export interface ConformanceConfig {
  /**
   * Cases this adapter cannot run, each with a reason in the adapter's test file. Use sparingly:
   * the point of the suite is that every adapter behaves the same.
   */
  exclude?: readonly CaseName[]
}

/** The body of a raw response, with chunked framing (Next answers so) removed. */
function unchunk(res: { headers: Record<string, string>; body: string }): string {
  if (!res.headers['transfer-encoding']?.includes('chunked')) return res.body
  let out = ''
  let rest = res.body
  for (;;) {
    const eol = rest.indexOf('\r\n')
    const size = Number.parseInt(rest.slice(0, eol), 16)
    if (!(size > 0)) return out
    out += rest.slice(eol + 2, eol + 2 + size)
    rest = rest.slice(eol + 2 + size + 2)
  }
}

let idCounter = 0
function newId(): string {
  idCounter++
  return `p${process.pid}-${Date.now().toString(36)}-${idCounter}`
}

interface ErrorJson {
  error: { code: string; message: string; details?: unknown }
}

/** Runs every conformance case against the adapter `startServer` starts. */
export function runConformance(
  name: string,
  startServer: StartServer,
  config: ConformanceConfig = {}
): void {
  const excluded = new Set<CaseName>(config.exclude ?? [])
  const test = (caseName: CaseName, fn: () => Promise<void>): void => {
    if (!excluded.has(caseName)) it(caseName, fn)
  }

  describe(`conformance: ${name}`, () => {
    let server: ConformanceServer | undefined
    let trusted: ConformanceServer | undefined

    beforeAll(async () => {
      server = await startServer({
        middleware: probeMiddleware(),
        options: { ...DEFAULT_OPTIONS },
        profile: 'default',
      })
      trusted = await startServer({
        middleware: probeMiddleware(),
        options: { ...TRUSTED_OPTIONS },
        profile: 'trusted-loopback',
      })
    })

    afterAll(async () => {
      await Promise.all([server?.close(), trusted?.close()])
    })

    const base = (): string => {
      if (server === undefined) throw new Error('server did not start')
      return server.url
    }

    async function call(
      path: string,
      init: RequestInit & { id?: string; baseUrl?: string } = {}
    ): Promise<{ res: Response; id: string }> {
      const id = init.id ?? newId()
      const headers = new Headers(init.headers)
      headers.set(PROBE_ID_HEADER, id)
      const res = await fetch(`${init.baseUrl ?? base()}${path}`, { ...init, headers })
      return { res, id }
    }

    async function observation(id: string, baseUrl = base()): Promise<Observation | null> {
      const res = await fetch(`${baseUrl}/__probe/obs?id=${encodeURIComponent(id)}`)
      expect(res.status).toBe(200)
      const body = (await res.json()) as { observation: Observation | null }
      return body.observation
    }

    /** Polls the side channel until `ready` holds (or ~5 s passed); returns the last record. */
    async function waitForObservation(
      id: string,
      ready: (o: Observation) => boolean
    ): Promise<Observation> {
      let last: Observation | null = null
      for (let i = 0; i < 250; i++) {
        last = await observation(id)
        if (last !== null && ready(last)) return last
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(last, `observation for ${id} never became ready`).not.toBeNull()
      return last as Observation
    }

    function postJson(path: string, body: string, contentType = 'application/json') {
      return call(path, { method: 'POST', body, headers: { 'content-type': contentType } })
    }

    async function expectError(res: Response, status: number, code: string): Promise<ErrorJson> {
      expect(res.status).toBe(status)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(res.headers.get('x-final-status')).toBe(String(status))
      const body = (await res.json()) as ErrorJson
      expect(body.error.code).toBe(code)
      expect(typeof body.error.message).toBe('string')
      return body
    }

    test('header-before-next', async () => {
      const { res } = await call('/route')
      expect(res.status).toBe(200)
      expect(res.headers.get('x-before-next')).toBe('yes')
      // The route set the same header itself: the route's own value wins...
      expect(res.headers.get('x-override')).toBe('route')
      // ...except the list headers, which are merged: both Vary tokens, every cookie on its own line.
      // (Next adds Vary tokens of its own.)
      const vary = res.headers
        .get('vary')
        ?.toLowerCase()
        .split(/\s*,\s*/)
      expect(vary).toEqual(expect.arrayContaining(['accept-encoding', 'origin']))
      const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0])
      expect(cookies.sort()).toEqual(['mw1=1', 'mw2=2', 'route=1'])
      expect(await res.json()).toMatchObject({ ok: true })
    })

    test('on-headers-final-status', async () => {
      for (const [path, status] of [
        ['/route', 200],
        ['/no-such-route', 404],
        ['/limited', 429],
        ['/throw', 500],
      ] as const) {
        const { res, id } = await call(path)
        expect(res.status, path).toBe(status)
        expect(res.headers.get('x-final-status'), path).toBe(String(status))
        // setHeader before next() reaches every response, the kit's own error responses included
        expect(res.headers.get('x-before-next'), path).toBe('yes')
        await res.arrayBuffer()
        const obs = await waitForObservation(id, (o) => o.finished !== undefined)
        expect(obs.statusInOnHeaders, path).toBe(status)
      }
    })

    test('short-circuit-429', async () => {
      const { res } = await call('/limited')
      const body = await expectError(res, 429, 'RATE_LIMITED')
      expect(body).toEqual({ error: { code: 'RATE_LIMITED', message: 'Too many requests' } })
    })

    test('status-after-next', async () => {
      for (const [path, status] of [
        ['/route', 200],
        ['/plain', 200],
        ['/no-such-route', 404],
        ['/limited', 429],
        ['/throw', 500],
      ] as const) {
        const { res, id } = await call(path)
        expect(res.status, path).toBe(status)
        await res.arrayBuffer()
        const obs = await waitForObservation(id, (o) => o.finished !== undefined)
        expect(obs.statusAfterNext, path).toBe(status)
        expect(obs.headersSentAfterNext, path).toBe(true)
        expect(obs.finished, path).toEqual({ aborted: false })
        expect(obs.finishedCallback, path).toEqual({ aborted: false })
      }
    })

    test('implicit-head', async () => {
      // The route only calls res.end(): Node writes the head implicitly; the hook must see it.
      const { res } = await call('/plain')
      expect(res.status).toBe(200)
      expect(res.headers.get('x-before-next')).toBe('yes')
      expect(res.headers.get('x-final-status')).toBe('200')
      expect(await res.text()).toBe('plain')
    })

    test('json-echo', async () => {
      const payload = { message: 'héllo', list: [1, 2, { deep: true }] }
      const { res } = await postJson('/echo', JSON.stringify(payload))
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await res.json()).toEqual({ echo: payload })
    })

    test('framework-reads-body', async () => {
      const payload = { prompt: 'read twice', n: 2 }
      const { res, id } = await postJson('/body-route', JSON.stringify(payload))
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ routeBody: payload })
      const obs = await waitForObservation(id, (o) => o.finished !== undefined)
      expect(obs.middlewareBody).toEqual(payload)
    })

    test('body-errors', async () => {
      const malformed = await postJson('/echo', '{"a": 1,,}')
      await expectError(malformed.res, 400, 'INVALID_REQUEST')

      const big = JSON.stringify({ filler: 'x'.repeat(2048) })
      const oversized = await postJson('/echo', big)
      const tooLarge = await expectError(oversized.res, 413, 'PAYLOAD_TOO_LARGE')
      expect(tooLarge.error.details).toEqual({ limitBytes: DEFAULT_OPTIONS.maxBodyBytes })

      const deep = `${'['.repeat(20)}1${']'.repeat(20)}`
      const tooDeep = await postJson('/echo', deep)
      await expectError(tooDeep.res, 400, 'INVALID_REQUEST')

      const wrongType = await postJson('/echo', '{"a":1}', 'text/plain')
      await expectError(wrongType.res, 415, 'UNSUPPORTED_MEDIA_TYPE')
    })

    test('oversized-chunked', async () => {
      // No content-length: the limit must be enforced while streaming.
      const url = new URL(`${base()}/echo`)
      const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            agent: false,
            headers: {
              'content-type': 'application/json',
              'transfer-encoding': 'chunked',
              [PROBE_ID_HEADER]: newId(),
            },
          },
          (res) => {
            let body = ''
            res.setEncoding('utf8')
            res.on('data', (c: string) => {
              body += c
            })
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
            res.on('error', reject)
          }
        )
        req.on('error', () => {
          // the server may close the connection once it answered; the response is what counts
        })
        req.write(`{"filler":"${'y'.repeat(700)}`)
        req.write(`${'y'.repeat(700)}"}`)
        req.end()
      })
      expect(result.status).toBe(413)
      expect((JSON.parse(result.body) as ErrorJson).error.code).toBe('PAYLOAD_TOO_LARGE')
    })

    test('thrown-error', async () => {
      const { res } = await call('/throw')
      expect(res.status).toBe(500)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      const text = await res.text()
      expect(JSON.parse(text)).toEqual({
        error: { code: 'INTERNAL', message: 'Internal server error' },
      })
      expect(text).not.toContain(SECRET_MESSAGE)
      expect(text).not.toMatch(/\bat .*\(|\.ts:\d+/)
    })

    test('head-request', async () => {
      const { res } = await call('/limited', { method: 'HEAD' })
      expect(res.status).toBe(429)
      expect(res.headers.get('x-final-status')).toBe('429')
      expect(await res.text()).toBe('')
    })

    test('sse-stream', async () => {
      const { res, id } = await call('/sse', { headers: { accept: 'text/event-stream' } })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
      expect(res.headers.get('x-final-status')).toBe('200')
      if (res.body === null) throw new Error('no body')
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let text = ''
      let producedAtFirstEvent: number | undefined
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        text += value
        if (producedAtFirstEvent === undefined && text.includes('\n\n')) {
          // Arrival order, not wall clock: how many events had the server produced when the
          // first one reached us?
          const obs = await observation(id)
          producedAtFirstEvent = obs?.produced
        }
      }
      expect(producedAtFirstEvent).toBeDefined()
      expect(producedAtFirstEvent).toBeLessThan(SSE_EVENTS)
      const events = text.split('\n\n').filter((e) => e !== '')
      expect(events).toEqual(
        Array.from({ length: SSE_EVENTS }, (_, i) => `id: ${i}\ndata: {"n":${i}}`)
      )
      const obs = await waitForObservation(id, (o) => o.finished !== undefined)
      expect(obs.finished).toEqual({ aborted: false })
      expect(obs.producedAtFinish).toBe(SSE_EVENTS)
      expect(obs.sourceCompleted).toBe(true)
      expect(obs.sourceCancelled).toBe(false)
      expect(obs.signalAborted).toBe(false)
      expect(obs.statusAfterNext).toBe(200)
    })

    async function disconnectMidStream(path: string): Promise<Observation> {
      const id = newId()
      const url = new URL(`${base()}${path}`)
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            agent: false,
            headers: { [PROBE_ID_HEADER]: id },
          },
          (res) => {
            if (res.statusCode !== 200) {
              reject(new Error(`status ${res.statusCode}`))
              return
            }
            res.once('data', () => {
              req.destroy() // hang up with the stream still running
              resolve()
            })
          }
        )
        req.on('error', () => {
          // expected after destroy()
        })
        req.end()
      })
      return waitForObservation(
        id,
        (o) => o.finished !== undefined && o.sourceCancelled !== undefined
      )
    }

    test('client-disconnect', async () => {
      const obs = await disconnectMidStream('/sse-abort')
      expect(obs.finished).toEqual({ aborted: true })
      expect(obs.finishedCallback).toEqual({ aborted: true })
      expect(obs.signalAborted).toBe(true)
      expect(obs.sourceCancelled).toBe(true)
      expect(obs.sourceCompleted).toBe(false)
    })

    test('client-disconnect-web-stream', async () => {
      const obs = await disconnectMidStream('/sse-abort-web')
      expect(obs.finished).toEqual({ aborted: true })
      expect(obs.signalAborted).toBe(true)
      expect(obs.sourceCancelled).toBe(true)
      expect(obs.sourceCompleted).toBeUndefined()
    })

    test('ip-default', async () => {
      const { res } = await call('/ip', { headers: { 'x-forwarded-for': '203.0.113.9' } })
      expect(res.status).toBe(200)
      const body = (await res.json()) as { ip: string | null }
      expect(['127.0.0.1', '::1']).toContain(body.ip)
    })

    test('ip-trusted', async () => {
      if (trusted === undefined) throw new Error('trusted server did not start')
      const { res } = await call('/ip', {
        baseUrl: trusted.url,
        headers: { 'x-forwarded-for': '198.51.100.7, 203.0.113.9' },
      })
      expect(res.status).toBe(200)
      // The socket peer (loopback) is a trusted proxy; 203.0.113.9 is the first untrusted hop.
      expect(await res.json()).toEqual({ ip: '203.0.113.9' })
    })

    test('current-context', async () => {
      const { res, id } = await call('/route')
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ ok: true, sameContext: true })
      const obs = await waitForObservation(id, (o) => o.finished !== undefined)
      expect(obs.sameContext).toBe(true)
    })

    // Rows of the security attack table (shared/research/security.md §7) that the adapters decide
    // on their own, without @aikit/security: each adapter must answer them the same way.
    const rawPost = (path: string, lines: string[], body: string) =>
      rawRequest(
        Number(new URL(base()).port),
        Buffer.from(
          [
            `POST ${path} HTTP/1.1`,
            'Host: 127.0.0.1',
            'Connection: close',
            ...lines,
            '',
            body,
          ].join('\r\n'),
          'latin1'
        )
      )

    test('attack-huge-content-length', async () => {
      // Row 16: a 10 GiB Content-Length is refused from the header, before the body is read: the
      // client sends 5 bytes of it and gets the 413.
      const res = await rawPost(
        '/echo',
        ['Content-Type: application/json', 'Content-Length: 10737418240'],
        '{"a":'
      )
      expect(res.status).toBe(413)
      expect(JSON.parse(unchunk(res))).toEqual({
        error: {
          code: 'PAYLOAD_TOO_LARGE',
          message: `Request body exceeds ${DEFAULT_OPTIONS.maxBodyBytes} bytes`,
          details: { limitBytes: DEFAULT_OPTIONS.maxBodyBytes },
        },
      })
    })

    test('attack-framing', async () => {
      // Row 21: both Content-Length and Transfer-Encoding: refused by the HTTP parser.
      const both = await rawPost(
        '/echo',
        ['Content-Type: application/json', 'Content-Length: 7', 'Transfer-Encoding: chunked'],
        '2\r\n{}\r\n0\r\n\r\n'
      )
      expect(both.status).toBe(400)
      // Row 29: a bare CR inside a header value (a response-splitting attempt): 400, nothing
      // reflected.
      const split = await rawPost(
        '/echo',
        ['Content-Type: application/json', 'X-Request-Id: a\rSet-Cookie: x=1', 'Content-Length: 2'],
        '{}'
      )
      expect(split.status).toBe(400)
      expect(split.headers['set-cookie']).toBeUndefined()
      // Row 30: headers over 16 KiB (a huge cookie): 431.
      const huge = await rawPost(
        '/echo',
        [
          'Content-Type: application/json',
          `Cookie: big=${'c'.repeat(17 * 1024)}`,
          'Content-Length: 2',
        ],
        '{}'
      )
      expect(huge.status).toBe(431)
      // The server lives on.
      const { res } = await postJson('/echo', '{"ok":1}')
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ echo: { ok: 1 } })
    })

    test('attack-json-bodies', async () => {
      // Row 23: prototype poisoning is refused, and nothing was polluted.
      for (const body of [
        '{"__proto__":{"isAdmin":true}}',
        '{"constructor":{"prototype":{"isAdmin":true}}}',
      ]) {
        const { res } = await postJson('/echo', body)
        const error = await expectError(res, 400, 'INVALID_REQUEST')
        expect(JSON.stringify(error)).not.toContain('isAdmin')
      }
      expect(({} as { isAdmin?: unknown }).isAdmin).toBeUndefined()
      // Row 24: nesting past the depth limit is a 400, never a 500 (the body stays under the size
      // limit of this profile).
      const deep = `${'['.repeat(400)}${']'.repeat(400)}`
      const tooDeep = await postJson('/echo', deep)
      const depthError = await expectError(tooDeep.res, 400, 'INVALID_REQUEST')
      expect(depthError.error.details).toEqual({ maxDepth: DEFAULT_OPTIONS.maxJsonDepth })
      // Rows 26, 27: JSON as text/plain, as a form, or in UTF-16 is 415.
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=utf-16',
      ]) {
        const { res } = await postJson('/echo', '{"a":1}', type)
        await expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE')
      }
    })

    test('still-alive', async () => {
      const results = await Promise.all(
        ['/route', '/limited', '/throw', '/no-such-route', '/plain'].map(async (path) => {
          const { res } = await call(path)
          await res.arrayBuffer()
          return res.status
        })
      )
      expect(results).toEqual([200, 429, 500, 404, 200])
      const { res } = await call('/route')
      expect(res.status).toBe(200)
      await res.arrayBuffer()
    })
  })
}
