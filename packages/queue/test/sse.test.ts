import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import type { Middleware } from '@aikit/core'
import { asyncContextRequested } from '@aikit/core/adapter'
import { type LlmQueue, sseHandler } from '@aikit/queue'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
const servers: Server[] = []
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  await h?.close()
})

/** The subject comes from a header here (an app would use its session). */
const auth: Middleware = async (ctx, next) => {
  const user = ctx.header('x-user')
  if (user) ctx.state.subject = user
  await next()
}

/** An Express app (one "instance") serving `/jobs/:id/events` from its own queue object. */
async function app(queue: LlmQueue, heartbeat: number | undefined = undefined): Promise<string> {
  const a = express()
  a.get(
    '/jobs/:id/events',
    toExpress(
      auth,
      sseHandler({
        queue,
        jobId: (ctx) => ctx.path.split('/')[2],
        ...(heartbeat === undefined ? {} : { heartbeat }),
      })
    )
  )
  const server = createServer(a)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

interface SseEvent {
  id: string
  event: string
  data: Record<string, unknown>
}

/** Reads an SSE response to its end, parsing events (comments skipped). */
async function readSse(res: Response): Promise<SseEvent[]> {
  const text = await res.text()
  const out: SseEvent[] = []
  for (const block of text.split('\n\n')) {
    const fields: Record<string, string> = {}
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue
      const i = line.indexOf(': ')
      fields[line.slice(0, i)] = line.slice(i + 2)
    }
    if (fields.event) {
      out.push({ id: fields.id ?? '', event: fields.event, data: JSON.parse(fields.data ?? '{}') })
    }
  }
  return out
}

describe('sseHandler through a real Express server', () => {
  it("streams a job's tokens to the browser from an instance that neither enqueued nor ran it", async () => {
    const name = h.name()
    const enqueuer = h.queue({ name }) // instance A
    const base = await app(h.queue({ name })) // instance B serves the browser
    h.provider.reset()
    h.provider.setReply(() => 'streamed over server sent events')
    h.provider.setStreamDelayMs(5)
    const { jobId } = await enqueuer.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'sam',
      params: messages('sse'),
    })
    const res = await fetch(`${base}/jobs/${jobId}/events`, { headers: { 'x-user': 'sam' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform')
    h.worker({ name }) // instance C runs it, after the browser is connected
    const events = await readSse(res)
    expect(events[0]).toMatchObject({ event: 'start', id: '1.0' })
    const text = events
      .filter((e) => e.event === 'token')
      .map((e) => e.data.text)
      .join('')
    expect(text).toBe('streamed over server sent events')
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { result: { text, jobId } } })

    // Reconnecting with Last-Event-ID resumes after it.
    const resumed = await readSse(
      await fetch(`${base}/jobs/${jobId}/events`, {
        headers: { 'x-user': 'sam', 'last-event-id': events[2]?.id as string },
      })
    )
    expect(resumed.map((e) => e.id)).toEqual(events.slice(3).map((e) => e.id))
  })

  it('a reconnect after the end of a finished job (done or failed) is answered 204: an EventSource stops reconnecting', async () => {
    const name = h.name()
    const q = h.queue({ name })
    const base = await app(q)
    h.worker({ name })
    h.provider.reset()
    const ok = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'end',
      params: messages('finished'),
    })
    await q.result(ok.jobId)
    h.provider.failNext(1, { status: 400 }) // a request error: fails at once
    const bad = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'end',
      params: messages('failed'),
    })
    await expect(q.result(bad.jobId)).rejects.toMatchObject({ code: 'LLM_JOB_FAILED' })
    for (const [jobId, end] of [
      [ok.jobId, 'done'],
      [bad.jobId, 'error'],
    ] as const) {
      const url = `${base}/jobs/${jobId}/events`
      const all = await readSse(await fetch(url, { headers: { 'x-user': 'end' } }))
      const last = all.at(-1)
      expect(last?.event).toBe(end)
      const res = await fetch(url, {
        headers: { 'x-user': 'end', 'last-event-id': last?.id as string },
      })
      expect(res.status).toBe(204)
      expect(await res.text()).toBe('')
      // A reconnect with events still to replay gets them, the end included.
      const before = all.at(-2)?.id as string
      const rest = await fetch(url, { headers: { 'x-user': 'end', 'last-event-id': before } })
      expect(rest.status).toBe(200)
      expect((await readSse(rest)).map((e) => e.id)).toEqual([last?.id])
    }
  })

  it("enqueue() inside a request takes the request's subject, from the very first request (creating a queue scopes requests)", async () => {
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('@aikit/core.context-demand')]
    const name = h.name()
    const q = h.queue({ name })
    expect(asyncContextRequested()).toBe(true)
    const a = express()
    a.post(
      '/ask',
      toExpress(auth, async (ctx) => {
        await new Promise((resolve) => setTimeout(resolve, 1)) // the context survives an await
        const { jobId } = await q.enqueue({
          provider: 'anthropic',
          api: 'messages',
          params: messages('whose job'),
        })
        ctx.respond(200, { jobId })
      })
    )
    const server = createServer(a)
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const res = await fetch(`${base}/ask`, { method: 'POST', headers: { 'x-user': 'first' } })
    expect(res.status).toBe(200)
    const { jobId } = (await res.json()) as { jobId: string }
    const events = await app(q)
    const intruder = await fetch(`${events}/jobs/${jobId}/events`, { headers: { 'x-user': 'x' } })
    expect(intruder.status).toBe(404)
    await intruder.body?.cancel()
    const owner = await fetch(`${events}/jobs/${jobId}/events`, {
      headers: { 'x-user': 'first' },
      signal: AbortSignal.timeout(5_000),
    })
    expect(owner.status).toBe(200)
    await owner.body?.cancel()
  })

  it("another subject's job, an unknown job and a malformed id answer with the JSON error shape", async () => {
    const name = h.name()
    const q = h.queue({ name })
    const base = await app(q)
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'owner',
      params: messages('private'),
    })
    for (const [path, user, status, code] of [
      [`/jobs/${jobId}/events`, 'intruder', 404, 'JOB_NOT_FOUND'],
      [`/jobs/${jobId}/events`, undefined, 404, 'JOB_NOT_FOUND'],
      ['/jobs/00000000-0000-4000-8000-000000000000/events', 'owner', 404, 'JOB_NOT_FOUND'],
      ['/jobs/not-a-job/events', 'owner', 400, 'INVALID_REQUEST'],
    ] as const) {
      const res = await fetch(`${base}${path}`, { headers: user ? { 'x-user': user } : {} })
      expect(res.status).toBe(status)
      expect(await res.json()).toMatchObject({ error: { code } })
    }
  })

  it("a closed queue answers 503 QUEUE_CLOSED with the JSON error shape, not an event stream's head", async () => {
    const name = h.name()
    const q = h.queue({ name })
    const base = await app(q)
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'late',
      params: messages('closed under me'),
    })
    await q.close()
    const res = await fetch(`${base}/jobs/${jobId}/events`, {
      headers: { 'x-user': 'late' },
      signal: AbortSignal.timeout(5_000),
    })
    expect(res.status).toBe(503)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({
      error: { code: 'QUEUE_CLOSED', message: 'The LLM queue object is closed' },
    })
  })

  it('a quiet stream gets heartbeats; a browser that goes away stops its follower (the pub/sub subscription is dropped)', async () => {
    const name = h.name()
    const q = h.queue({ name })
    const base = await app(q, 50)
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'gone',
      params: messages('pending forever'),
    }) // no worker: the job stays pending
    const channel = `aikit:llmq:{${name}:${jobId}}:events`
    const admin = h.redis.client()
    const subscribers = async () => (await admin.pubsub('NUMSUB', channel))[1] as number
    const controller = new AbortController()
    const res = await fetch(`${base}/jobs/${jobId}/events`, {
      headers: { 'x-user': 'gone' },
      signal: controller.signal,
    })
    const reader = res.body?.getReader()
    await reader?.read() // the opening comment: the stream is live
    let received = ''
    while (!received.includes(': ping')) {
      const chunk = await reader?.read()
      if (!chunk || chunk.done) break
      received += new TextDecoder().decode(chunk.value)
    }
    expect(received).toContain(': ping\n\n')
    const until = async (want: number): Promise<number> => {
      let n = await subscribers()
      for (let i = 0; i < 100 && n !== want; i++) {
        await new Promise((r) => setTimeout(r, 50))
        n = await subscribers()
      }
      return n
    }
    expect(await until(1)).toBe(1)
    controller.abort()
    expect(await until(0)).toBe(0)
  })
})
