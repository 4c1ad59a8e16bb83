/**
 * `budgetHeaders` over a real Express server: `X-Budget-*` headers for a subject, 402 with the JSON
 * error shape when a hard budget is spent, pass-through without a subject or in soft mode.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { type Middleware, memoryStore } from '@aikit/core'
import { type Budget, budgetHeaders, createBudget } from '@aikit/cost'
import express from 'express'
import { afterAll, describe, expect, it } from 'vitest'

const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
})

/** The subject comes from a header here (an app would use its auth). */
const fromHeader: Middleware = async (ctx, next) => {
  const user = ctx.header('x-user')
  if (user) ctx.state.subject = user
  await next()
}

async function app(budget: Budget): Promise<string> {
  const a = express()
  a.use(toExpress(fromHeader, budgetHeaders({ budget })))
  a.get('/', (_req, res) => {
    res.json({ ok: true })
  })
  const server = createServer(a)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('budgetHeaders over real Express', () => {
  it('sets X-Budget-* for the tightest limit, then answers 402 once the budget is spent', async () => {
    const budget = createBudget({
      limits: [
        { period: 'month', usd: 10 },
        { period: 'day', usd: 0.5 },
      ],
    })
    const base = await app(budget)
    const first = await fetch(base, { headers: { 'x-user': 'user:1' } })
    expect(first.status).toBe(200)
    await first.text()
    expect(first.headers.get('x-budget-limit')).toBe('0.500000')
    expect(first.headers.get('x-budget-remaining')).toBe('0.500000')
    expect(first.headers.get('x-budget-period')).toBe('day')
    expect(Number(first.headers.get('x-budget-reset'))).toBeGreaterThan(Date.now() / 1000)

    await (await budget.reserve('user:1', { estimateMicros: 500_000 })).settle(500_000)
    const spent = await fetch(base, { headers: { 'x-user': 'user:1' } })
    expect(spent.status).toBe(402)
    expect(spent.headers.get('x-budget-remaining')).toBe('0.000000')
    const body = (await spent.json()) as {
      error: { code: string; details: Record<string, unknown> }
    }
    expect(body.error.code).toBe('BUDGET_EXCEEDED')
    expect(body.error.details).toMatchObject({
      period: 'day',
      limitMicros: 500_000,
      remainingMicros: 0,
    })
    expect(JSON.stringify(body)).not.toContain('user:1')

    const anonymous = await fetch(base)
    expect(anonymous.status).toBe(200)
    expect(anonymous.headers.get('x-budget-remaining')).toBeNull()
    await anonymous.text()
  })

  it('a soft budget only reports', async () => {
    const budget = createBudget({ limits: [{ period: 'day', micros: 1 }], mode: 'soft' })
    await (await budget.reserve('user:2', { estimateMicros: 5 })).settle(5)
    const base = await app(budget)
    const res = await fetch(base, { headers: { 'x-user': 'user:2' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-budget-remaining')).toBe('0.000000')
    await res.text()
  })

  it.each([
    ['behind', -3_600_000],
    ['ahead of', 3_600_000],
  ])(
    "a rolling limit's reset is on this machine's clock, the store's an hour %s it",
    async (_label, skewMs) => {
      // A rolling window ages out on the store's clock (Redis's TIME in production); a client
      // compares X-Budget-Reset and the error's resetAt with its own time.
      const store = memoryStore({ now: () => Date.now() + skewMs })
      const budget = createBudget({ store, limits: [{ period: 'rolling', window: '1m', usd: 1 }] })
      await (await budget.reserve('user:3', { estimateMicros: 1_000_000 })).settle(1_000_000)
      const base = await app(budget)
      const res = await fetch(base, { headers: { 'x-user': 'user:3' } })
      expect(res.status).toBe(402)
      const inOneMinute = (ms: number) => {
        expect(ms - Date.now()).toBeGreaterThan(50_000)
        expect(ms - Date.now()).toBeLessThan(62_000)
      }
      inOneMinute(Number(res.headers.get('x-budget-reset')) * 1000)
      const body = (await res.json()) as { error: { details: { resetAt: number } } }
      inOneMinute(body.error.details.resetAt)
      inOneMinute((await budget.status('user:3')).limits[0]?.resetAt ?? 0)
      inOneMinute((await budget.spend('user:3')).resetAt)
    }
  )

  it('validates its options', () => {
    expect(() => budgetHeaders({} as never)).toThrow(expect.objectContaining({ field: 'budget' }))
    const budget = createBudget({ limits: [] })
    expect(() => budgetHeaders({ budget, subjectBy: 'x' as never })).toThrow(
      expect.objectContaining({ field: 'subjectBy' })
    )
    expect(() => budgetHeaders({ budget, reject: 'yes' as never })).toThrow(
      expect.objectContaining({ field: 'reject' })
    )
  })
})
