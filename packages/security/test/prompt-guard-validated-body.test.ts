/**
 * The README's "Body limits, validation, redaction, prompt guard" snippet:
 *
 *   app.post('/api/chat', toExpress(bodyLimit({ maxBytes: '256kb' }), body, guard.middleware()), …)
 *   // req.body / ctx.state.validated.body hold the validated (and, if configured, redacted) input
 *
 * The `secret` rule redacts by default, so an API key pasted into a prompt must reach the route
 * through none of the documented places: `req.body`, `ctx.state.validated.body`, nor
 * `body.data(ctx).body` (the typed reader the README and the example apps use). With `validate`
 * first, the guard has the redacted body validated again (the validated data is the schema's
 * output, a separate object); with the guard first, `validate` reads the redacted body.
 */
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import type { Middleware } from '@aikit/core'
import express from 'express'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { bodyLimit } from '../src/body-limit.js'
import { type PromptGuardOptions, promptGuard } from '../src/prompt-guard.js'
import { validate, type ZodLikeSchema } from '../src/validate.js'

const KEY = `sk-ant-api03-${'a1B2c3D4e5'.repeat(9)}xyzAA`

const Chat = z.strictObject({
  model: z.enum(['claude-sonnet-4', 'claude-haiku-4']),
  messages: z.array(
    z.strictObject({ role: z.enum(['user', 'assistant']), content: z.string().max(20_000) })
  ),
})

interface Seen {
  reqBody: unknown
  validated: unknown
  data: unknown
}

/**
 * Runs one POST through `toExpress(bodyLimit(), …chain(body, guard))` and returns the status, the
 * answer and what the route saw (undefined when it did not run).
 */
async function post<B>(
  schema: ZodLikeSchema<B>,
  chain: (body: Middleware, guard: Middleware) => Middleware[],
  payload: unknown,
  guardOptions: PromptGuardOptions = { canaries: ['zebra-7f3a'] }
): Promise<{ status: number; answer: unknown; seen: Seen | undefined }> {
  const body = validate({ body: schema })
  const guard = promptGuard(guardOptions)
  const app = express()
  let seen: Seen | undefined
  app.post(
    '/api/chat',
    toExpress(bodyLimit({ maxBytes: '256kb' }), ...chain(body, guard.middleware())),
    (req, res) => {
      const ctx = res.locals.aikit
      if (ctx === undefined) throw new Error('no Context on res.locals.aikit')
      seen = { reqBody: req.body, validated: ctx.state.validated?.body, data: body.data(ctx).body }
      res.json({ ok: true })
    }
  )
  const server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  try {
    const { port } = server.address() as AddressInfo
    const res = await fetch(`http://127.0.0.1:${port}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    })
    return { status: res.status, answer: await res.json(), seen }
  } finally {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
}

const withKey = {
  model: 'claude-haiku-4',
  messages: [{ role: 'user', content: `my key is ${KEY}, keep it safe` }],
}

/** Every place the route reads the body from holds the redacted text, never the key. */
function expectRedactedEverywhere(seen: Seen | undefined): void {
  expect(seen).toBeDefined()
  for (const where of [seen?.reqBody, seen?.validated, seen?.data]) {
    expect(JSON.stringify(where)).not.toContain(KEY)
    expect(JSON.stringify(where)).toContain('sk-ant-[redacted]')
  }
}

describe('validate({ body }) and guard.middleware(): the validated body carries the redaction', () => {
  it('validate first (the README order): req.body, ctx.state.validated.body and body.data(ctx) hold the redacted input', async () => {
    const { status, seen } = await post(Chat, (body, guard) => [body, guard], withKey)
    expect(status).toBe(200)
    expectRedactedEverywhere(seen)
    // Still the schema's output, typed as such.
    expect(seen?.validated).toEqual({
      model: 'claude-haiku-4',
      messages: [{ role: 'user', content: 'my key is sk-ant-[redacted], keep it safe' }],
    })
  })

  it('guard first: validate reads the redacted body, so every place holds the redacted input', async () => {
    const { status, seen } = await post(Chat, (body, guard) => [guard, body], withKey)
    expect(status).toBe(200)
    expectRedactedEverywhere(seen)
  })

  it('a schema that reshapes the body: the validated data is its output for the redacted body', async () => {
    const Flat = Chat.transform((b) => ({
      model: b.model,
      transcript: b.messages.map((m) => `${m.role}: ${m.content}`).join('\n'),
    }))
    const { status, seen } = await post(Flat, (body, guard) => [body, guard], withKey)
    expect(status).toBe(200)
    expect(seen?.validated).toEqual({
      model: 'claude-haiku-4',
      transcript: 'user: my key is sk-ant-[redacted], keep it safe',
    })
    expect(seen?.data).toBe(seen?.validated)
  })

  it('a redacted body the schema no longer accepts is refused with 400 INVALID_REQUEST, as validate refuses it', async () => {
    // `pii.email` on redact: the 10-character censor outgrows a 6-character address.
    const Short = z.strictObject({
      model: z.string(),
      messages: z.array(z.strictObject({ role: z.string(), content: z.string().max(12) })),
    })
    const payload = { model: 'm', messages: [{ role: 'user', content: 'a@b.co hi' }] }
    const options: PromptGuardOptions = { rules: { 'pii.email': 'redact' } }
    const late = await post(Short, (body, guard) => [body, guard], payload, options)
    expect(late.status).toBe(400)
    expect(late.seen).toBeUndefined()
    expect(late.answer).toMatchObject({
      error: {
        code: 'INVALID_REQUEST',
        details: { issues: [{ in: 'body', path: ['messages', 0, 'content'], code: 'too_big' }] },
      },
    })
    // The other order answers the same.
    const early = await post(Short, (body, guard) => [guard, body], payload, options)
    expect(early.status).toBe(400)
    expect(early.answer).toEqual(late.answer)
  })

  it('nothing redacted: the body is validated once, and the validated data is left as it was', async () => {
    let parses = 0
    const Counted = Chat.refine(() => {
      parses++
      return true
    })
    const clean = { model: 'claude-haiku-4', messages: [{ role: 'user', content: 'hello' }] }
    const { status, seen } = await post(Counted, (body, guard) => [body, guard], clean)
    expect(status).toBe(200)
    expect(parses).toBe(1)
    expect(seen?.validated).toEqual(clean)
  })
})
