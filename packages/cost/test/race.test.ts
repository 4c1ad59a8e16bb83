/**
 * The must-show races on a real redis-server:
 * 1. 200 concurrent reserve → settle pairs from two Node processes (100 each, over several
 *    connections) against a budget that fits exactly 50 worst-case reservations: exactly 50 succeed,
 *    and the settled spend ends exactly at the limit, never above it.
 * 2. A process that holds a reservation and is killed with SIGKILL: its hold is gone once its TTL has
 *    passed, and the budget it held can be reserved again.
 * The children import nothing from the workspace: they send the ops' own Lua scripts with EVAL
 * through ioredis, with KEYS/ARGV built here from the budget's key layout and the ops' `encode`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import type { Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createBudget } from '@aikit/cost'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { reserveOp, settleOp } from '../src/budget-ops.js'

const CHILD = `
const cfg = JSON.parse(process.env.AIKIT_RACE)
const mod = await import(cfg.ioredisUrl)
const Redis = mod.default?.default ?? mod.default ?? mod.Redis
const clients = Array.from({ length: cfg.connections }, () =>
  new Redis({ host: '127.0.0.1', port: cfg.port, maxRetriesPerRequest: 1 }))
await Promise.all(clients.map((c) => c.ping()))
process.stdout.write('ready\\n')
await new Promise((resolve) => process.stdin.once('data', resolve))
const pair = async (i) => {
  const c = clients[i % clients.length]
  const id = cfg.tag + '-' + i
  const r = await c.eval(cfg.reserveLua, cfg.keys.length, ...cfg.keys, id, ...cfg.reserveArgv.slice(1))
  if (r[0] !== 1) return 0
  const settleKeys = [cfg.keys[0], cfg.doneKeys[id], ...cfg.keys.slice(1)]
  if (cfg.settle) await c.eval(cfg.settleLua, settleKeys.length, ...settleKeys, id, ...cfg.settleArgv.slice(1))
  return 1
}
const results = await Promise.all(Array.from({ length: cfg.pairs }, (_, i) => pair(i)))
const ok = results.reduce((a, b) => a + b, 0)
process.stdout.write(JSON.stringify({ ok, replies: results.length }) + '\\n')
if (cfg.hold) await new Promise(() => {})
await Promise.all(clients.map((c) => c.quit()))
process.exit(0)
`

interface ChildRun {
  child: ChildProcess
  ready: Promise<void>
  line: Promise<{ ok: number; replies: number }>
}

function startChild(env: Record<string, unknown>): ChildRun {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, AIKIT_RACE: JSON.stringify(env) },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  let onReady: () => void = () => {}
  let onLine: (v: { ok: number; replies: number }) => void = () => {}
  const ready = new Promise<void>((resolve) => {
    onReady = resolve
  })
  const line = new Promise<{ ok: number; replies: number }>((resolve, reject) => {
    onLine = resolve
    child.once('error', reject)
    child.once('exit', (code) => {
      if (!out.includes('{')) reject(new Error(`child exited with ${code}: ${err || out}`))
    })
  })
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    if (out.startsWith('ready\n')) onReady()
    const json = out.split('\n').find((l) => l.startsWith('{'))
    if (json) onLine(JSON.parse(json) as { ok: number; replies: number })
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString()
  })
  line.catch(() => onReady())
  return { child, ready, line }
}

const WINDOW_MS = 86_400_000
const BUCKET_MS = WINDOW_MS / 60
const PER_CALL = 12_500 // gpt-4o: 1,000 input + 1,000 output tokens at the worst case
const LIMIT = 50 * PER_CALL

let server: RedisServer
let store: Store
const ioredisUrl = pathToFileURL(createRequire(import.meta.url).resolve('ioredis')).href
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  server = await startRedis()
  store = redisStore(server.client({ maxRetriesPerRequest: 1 }), {
    prefix: `race${runId}`,
    commandTimeoutMs: 5_000,
  })
})

afterAll(async () => {
  await server?.stop()
})

/** The budget's key layout for a rolling-1d limit (no calendar boundary can split the test). */
function setup(subject: string, ttlMs: number) {
  const budget = createBudget({
    store,
    limits: [{ period: 'rolling', window: '1d', micros: LIMIT }],
    reservationTtl: ttlMs,
  })
  const keys = [
    store.key(subject, 'budget', 'res'),
    store.key(subject, 'budget', `rolling:${WINDOW_MS}`, 'r'),
  ]
  const reserveArgv = reserveOp.encode({
    id: 'x',
    amountMicros: PER_CALL,
    ttlMs,
    mode: 'hard',
    limits: [{ limitMicros: LIMIT, kind: 'r', a: WINDOW_MS, b: BUCKET_MS }],
  })
  const settleArgv = settleOp.encode({
    id: 'x',
    expiresAt: 0, // the children do not track expiries; the hold's own expiry sets the tombstone's
    keepMs: 60_000,
    actualMicros: PER_CALL,
    model: 'gpt-4o',
    nonce: 'o',
    clockMs: 0, // a rolling limit only: no calendar ledger lifetime to measure
    limits: [{ kind: 'r', a: WINDOW_MS, b: BUCKET_MS }],
  })
  // Each settle's tombstone key (`…:done:<id>`), for the ids the children use.
  const doneKeys: Record<string, string> = {}
  for (const tag of ['a', 'b', 'k']) {
    for (let i = 0; i < 100; i++)
      doneKeys[`${tag}-${i}`] = store.key(subject, 'budget', 'done', `${tag}-${i}`)
  }
  const env = {
    ioredisUrl,
    doneKeys,
    port: server.port,
    connections: 4,
    keys,
    reserveArgv,
    settleArgv,
    reserveLua: reserveOp.lua,
    settleLua: settleOp.lua,
  }
  return { budget, env }
}

describe('budget races on a real redis-server', () => {
  it('200 concurrent reserve+settle pairs from two processes: exactly 50 fit, spend ends at the limit', async () => {
    const subject = 'user:race'
    const { budget, env } = setup(subject, 60_000)
    // The worst case the budget itself computes is the one the children hold.
    const probe = await createBudget({ limits: [{ period: 'day', usd: 1 }] }).reserve('p', {
      model: 'gpt-4o',
      inputTokens: 1000,
      maxOutputTokens: 1000,
    })
    expect(probe.amountMicros).toBe(PER_CALL)

    const children = [
      startChild({ ...env, tag: 'a', pairs: 100, settle: true }),
      startChild({ ...env, tag: 'b', pairs: 100, settle: true }),
    ]
    try {
      await Promise.all(children.map((c) => c.ready))
      for (const c of children) c.child.stdin?.end('go\n')
      const results = await Promise.all(children.map((c) => c.line))
      expect(results.map((r) => r.replies)).toEqual([100, 100])
      expect(results[0]!.ok + results[1]!.ok).toBe(50)
    } finally {
      for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL')
    }
    const status = await budget.status(subject)
    expect(status.tightest).toMatchObject({ spentMicros: LIMIT, heldMicros: 0, remainingMicros: 0 })
    const report = await budget.spend(subject)
    expect(report.totalMicros).toBe(LIMIT)
    expect(report.byModel).toEqual({ 'gpt-4o': LIMIT })
    await expect(budget.reserve(subject, { estimateMicros: 1 })).rejects.toMatchObject({
      code: 'BUDGET_EXCEEDED',
      status: 402,
    })
  }, 60_000)

  it("a killed process's reservation is freed after its TTL", async () => {
    const subject = 'user:killed'
    const ttlMs = 2_000
    const { budget, env } = setup(subject, ttlMs)
    // The child holds the whole budget (50 reservations) and never settles, then is killed.
    const child = startChild({ ...env, tag: 'k', pairs: 50, settle: false, hold: true })
    try {
      await child.ready
      child.child.stdin?.end('go\n')
      expect((await child.line).ok).toBe(50)
      child.child.kill('SIGKILL')
      await new Promise((resolve) => child.child.once('exit', resolve))
      const held = await budget.status(subject)
      // Still held right after the crash (the TTL has not passed)...
      expect(held.tightest!.heldMicros).toBe(LIMIT)
      await expect(budget.reserve(subject, { estimateMicros: PER_CALL })).rejects.toMatchObject({
        code: 'BUDGET_EXCEEDED',
      })
    } finally {
      if (child.child.exitCode === null) child.child.kill('SIGKILL')
    }
    // ...and gone once it has: the full budget can be held again.
    await new Promise((resolve) => setTimeout(resolve, ttlMs + 150))
    const after = await budget.status(subject)
    expect(after.tightest).toMatchObject({ heldMicros: 0, spentMicros: 0, remainingMicros: LIMIT })
    const again = await budget.reserve(subject, { estimateMicros: LIMIT })
    expect(again.amountMicros).toBe(LIMIT)
    await again.release()
  }, 60_000)
})
