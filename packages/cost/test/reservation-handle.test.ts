/**
 * Reservations across processes: a handle (`reservation.toJSON()`) restored by another budget
 * object on another connection settles, releases and extends the same hold; settle and release are
 * idempotent by reservation id through the store's tombstone. A settle or release retried by the
 * same object after a lost reply (the op ran, the call timed out) is recognised by the object's
 * nonce in the tombstone: it reports the first call's outcome (a settle: its charge, `duplicate:
 * false`, one `'settled'` event), while any other object's call stays a duplicate (a restored
 * handle is another object). Runs on memoryStore (two budget objects sharing one store, injected
 * clock) and on a real redis-server (two connections, the server's clock).
 */
import { memoryStore, type Store, StoreTimeoutError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type Budget, createBudget, type ReservationHandle } from '@aikit/cost'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

const LIMITS = [{ period: 'rolling' as const, window: '1d' as const, micros: 10_000 }]

interface Env {
  /** Two budget objects over the same data (two connections on Redis). */
  a: Budget
  b: Budget
  /** Lets `ms` pass on the store's clock. */
  pass(ms: number): Promise<void>
  /** The next run of this op (on either budget's store) runs, then rejects as a timeout would. */
  lose(op: 'budgetSettle' | 'budgetRelease'): void
}

/** `inner`, except that a run of an op named in `lost` runs and then rejects (its reply lost). */
function lossy(inner: Store, lost: Set<string>): Store {
  const store = Object.create(inner) as Store
  store.run = (async (op: { name: string }, keys: readonly string[], input: unknown) => {
    const out = await inner.run(op as never, keys, input as never)
    if (lost.delete(op.name)) throw new StoreTimeoutError(100, op.name)
    return out
  }) as Store['run']
  return store
}

const envs: Record<string, (tombstoneTtl?: number) => Env> = {
  memory: (tombstoneTtl) => {
    let now = 1_800_000_000_000
    const lost = new Set<string>()
    const store = lossy(memoryStore({ now: () => now }), lost)
    const make = () =>
      createBudget({
        store,
        limits: LIMITS,
        reservationTtl: 300,
        ...(tombstoneTtl === undefined ? {} : { tombstoneTtl }),
      })
    return {
      a: make(),
      b: make(),
      pass: async (ms) => {
        now += ms
      },
      lose: (op) => lost.add(op),
    }
  },
  redis: (tombstoneTtl) => {
    const prefix = `h${Math.random().toString(36).slice(2, 8)}`
    const lost = new Set<string>()
    const make = (store: Store) =>
      createBudget({
        store: lossy(store, lost),
        limits: LIMITS,
        reservationTtl: 300,
        ...(tombstoneTtl === undefined ? {} : { tombstoneTtl }),
      })
    return {
      a: make(redisStore(server.client(), { prefix, commandTimeoutMs: 5000 })),
      b: make(redisStore(server.client(), { prefix, commandTimeoutMs: 5000 })),
      pass: (ms) => new Promise((r) => setTimeout(r, ms)),
      lose: (op) => lost.add(op),
    }
  },
}

/** The handle as another process receives it: through JSON. */
const wire = (h: ReservationHandle): ReservationHandle => JSON.parse(JSON.stringify(h))

for (const [storeName, makeEnv] of Object.entries(envs)) {
  describe(`reservation handles on ${storeName}`, () => {
    it('restored and settled by another budget object: charged once; the original settle is a duplicate', async () => {
      const { a, b } = makeEnv()
      const r = await a.reserve('u1', { estimateMicros: 1000, model: 'gpt-4o' })
      const handle = wire(r.toJSON())
      expect(handle).toEqual({
        v: 1,
        id: r.id,
        subject: 'u1',
        amountMicros: 1000,
        model: 'gpt-4o',
        expiresAt: r.expiresAt,
      })
      const restored = b.restore(handle)
      expect(restored.status).toBeUndefined()
      const first = await restored.settle(400)
      expect(first).toMatchObject({ chargedMicros: 400, held: true, duplicate: false })
      const second = await r.settle(400)
      expect(second).toMatchObject({
        chargedMicros: 0,
        held: false,
        duplicate: true,
        previous: 'settled',
      })
      const spend = await a.spend('u1')
      expect(spend).toMatchObject({ totalMicros: 400, heldMicros: 0, byModel: { 'gpt-4o': 400 } })
    })

    it('two objects settling the same reservation at once charge it once', async () => {
      const { a, b } = makeEnv()
      const settled: number[] = []
      a.on('settled', (e) => settled.push(e.chargedMicros))
      b.on('settled', (e) => settled.push(e.chargedMicros))
      for (let i = 0; i < 5; i++) {
        const r = await a.reserve('u2', { estimateMicros: 1000 })
        const outcomes = await Promise.all([
          a.restore(wire(r.toJSON())).settle(300),
          b.restore(wire(r.toJSON())).settle(300),
          r.settle(300),
        ])
        expect(outcomes.filter((o) => !o.duplicate)).toHaveLength(1)
        expect(outcomes.map((o) => o.chargedMicros).sort()).toEqual([0, 0, 300])
      }
      expect(settled).toEqual([300, 300, 300, 300, 300])
      expect((await b.spend('u2')).totalMicros).toBe(1500)
    })

    it('a settle after the hold lapsed (no tombstone) still charges: the call happened', async () => {
      const { a, b, pass } = makeEnv()
      const r = await a.reserve('u3', { estimateMicros: 1000 })
      await pass(400) // past the 300 ms TTL
      expect((await a.status('u3')).tightest?.heldMicros).toBe(0)
      const late = await b.restore(wire(r.toJSON())).settle(250)
      expect(late).toMatchObject({ chargedMicros: 250, held: false, duplicate: false })
      // ...and leaves a tombstone: the enqueuer's backup settle charges nothing.
      expect(await r.settle(250)).toMatchObject({ chargedMicros: 0, duplicate: true })
      expect((await a.spend('u3')).totalMicros).toBe(250)
    })

    it('extend keeps a hold past its original TTL; not after it is settled', async () => {
      const { a, b, pass } = makeEnv()
      const r = await a.reserve('u4', { estimateMicros: 1000 })
      const before = r.expiresAt
      const restored = b.restore(wire(r.toJSON()))
      expect(await restored.extend(5000)).toBe(true)
      expect(restored.expiresAt).toBeGreaterThan(before)
      await pass(500) // past the original 300 ms
      expect((await a.status('u4')).tightest?.heldMicros).toBe(1000)
      // The original object's handle is stale (old expiry): its settle still finds the live hold.
      expect(await r.settle(100)).toMatchObject({ chargedMicros: 100, held: true })
      expect(await restored.extend(5000)).toBe(false)
      expect((await a.status('u4')).tightest).toMatchObject({ heldMicros: 0, spentMicros: 100 })
    })

    it('extend does not revive a lapsed hold', async () => {
      const { a, pass } = makeEnv()
      const r = await a.reserve('u5', { estimateMicros: 1000 })
      await pass(400)
      expect(await r.extend(5000)).toBe(false)
      expect((await a.status('u5')).tightest?.heldMicros).toBe(0)
    })

    it('release after settle does nothing; settle after release charges nothing (any object)', async () => {
      const { a, b } = makeEnv()
      const s = await a.reserve('u6', { estimateMicros: 1000 })
      await b.restore(wire(s.toJSON())).settle(200)
      expect(await s.release()).toBe(false)
      expect(await b.restore(wire(s.toJSON())).release()).toBe(false)
      const r = await a.reserve('u6', { estimateMicros: 1000 })
      expect(await b.restore(wire(r.toJSON())).release()).toBe(true)
      expect(await r.release()).toBe(false)
      expect(await r.settle(700)).toMatchObject({
        chargedMicros: 0,
        duplicate: true,
        previous: 'released',
      })
      expect((await a.status('u6')).tightest).toMatchObject({ spentMicros: 200, heldMicros: 0 })
    })

    it('a tombstone lapses tombstoneTtl after the hold would have: a settle then charges again', async () => {
      const { a, b, pass } = makeEnv(200)
      const r = await a.reserve('u7', { estimateMicros: 1000 })
      await r.settle(100)
      await pass(100) // hold expiry (300) not reached: remembered
      expect(await b.restore(wire(r.toJSON())).settle(100)).toMatchObject({ duplicate: true })
      await pass(600) // past expiry + tombstoneTtl (500)
      expect(await b.restore(wire(r.toJSON())).settle(100)).toMatchObject({
        chargedMicros: 100,
        duplicate: false,
      })
      expect((await a.spend('u7')).totalMicros).toBe(200)
    })

    it('a settle retried after a lost reply reports the charge it made, and settled fires once', async () => {
      const { a, b, lose } = makeEnv()
      const events: number[] = []
      a.on('settled', (e) => events.push(e.chargedMicros))
      b.on('settled', (e) => events.push(e.chargedMicros))
      const r = await a.reserve('u8', { estimateMicros: 1000 })
      lose('budgetSettle')
      await expect(r.settle(300)).rejects.toBeInstanceOf(StoreTimeoutError)
      expect(events).toEqual([])
      // The retry (even of another amount) charges nothing more and reports the settle that ran.
      const outcome = await r.settle(500)
      expect(outcome).toMatchObject({
        chargedMicros: 300,
        held: true,
        duplicate: false,
        previous: undefined,
      })
      expect(outcome.status.tightest).toMatchObject({ spentMicros: 300, heldMicros: 0 })
      expect(events).toEqual([300])
      // Any other object's settle of the id is a duplicate, as before.
      expect(await b.restore(wire(r.toJSON())).settle(300)).toMatchObject({
        chargedMicros: 0,
        duplicate: true,
        previous: 'settled',
      })
      expect(events).toEqual([300])
      expect((await a.spend('u8')).totalMicros).toBe(300)
    })

    it("a restored reservation's retry is its own; the original and other restores are duplicates", async () => {
      const { a, b, lose } = makeEnv()
      const r = await a.reserve('u9', { estimateMicros: 1000 })
      const restored = b.restore(wire(r.toJSON()))
      lose('budgetSettle')
      await expect(restored.settle(200)).rejects.toBeInstanceOf(StoreTimeoutError)
      expect(await restored.settle(200)).toMatchObject({
        chargedMicros: 200,
        held: true,
        duplicate: false,
      })
      expect(await r.settle(200)).toMatchObject({ chargedMicros: 0, duplicate: true })
      expect(await b.restore(wire(r.toJSON())).settle(200)).toMatchObject({ duplicate: true })
      expect((await a.spend('u9')).totalMicros).toBe(200)
    })

    it('a retried settle of a lapsed hold reports held: false, as its first run found', async () => {
      const { a, lose, pass } = makeEnv()
      const r = await a.reserve('u10', { estimateMicros: 1000 })
      await pass(400) // past the 300 ms TTL
      lose('budgetSettle')
      await expect(r.settle(250)).rejects.toBeInstanceOf(StoreTimeoutError)
      expect(await r.settle(250)).toMatchObject({
        chargedMicros: 250,
        held: false,
        duplicate: false,
      })
      expect((await a.spend('u10')).totalMicros).toBe(250)
    })

    it('a release retried after a lost reply reports the hold it freed', async () => {
      const { a, b, lose } = makeEnv()
      const r = await a.reserve('u11', { estimateMicros: 1000 })
      lose('budgetRelease')
      await expect(r.release()).rejects.toBeInstanceOf(StoreTimeoutError)
      expect(await r.release()).toBe(true)
      expect(await b.restore(wire(r.toJSON())).release()).toBe(false)
      // This object's own release is not a settle: a settle after it still charges nothing.
      expect(await r.settle(100)).toMatchObject({
        chargedMicros: 0,
        duplicate: true,
        previous: 'released',
      })
      expect((await a.status('u11')).tightest).toMatchObject({ spentMicros: 0, heldMicros: 0 })
    })
  })
}

describe('one-letter tombstones of earlier versions (redis)', () => {
  it('still make a settle or release a duplicate', async () => {
    const client = server.client()
    const store = redisStore(client, {
      prefix: `t${Math.random().toString(36).slice(2, 8)}`,
      // A busy CI machine can stall one command past the 50 ms default: the test is about tombstones.
      commandTimeoutMs: 5000,
    })
    const budget = createBudget({ store, limits: LIMITS })
    for (const [mark, previous] of [
      ['s', 'settled'],
      ['r', 'released'],
    ] as const) {
      const r = await budget.reserve('old', { estimateMicros: 1000 })
      await client.set(store.key('old', 'budget', 'done', r.id), mark, 'PX', 60_000)
      expect(await budget.restore(wire(r.toJSON())).release()).toBe(false)
      expect(await r.settle(100)).toMatchObject({ chargedMicros: 0, duplicate: true, previous })
    }
    expect((await budget.spend('old')).totalMicros).toBe(0)
  })
})

describe('budget.restore validation', () => {
  const budget = createBudget({ limits: LIMITS })
  const good: ReservationHandle = {
    v: 1,
    id: '0b6f3c1e-8d2a-4f57-9a1e-3c2b1a0f9e8d',
    subject: 'u',
    amountMicros: 10,
    expiresAt: 1,
  }
  const cases: [string, unknown][] = [
    ['handle', null],
    ['handle', 'a string'],
    ['handle.v', { ...good, v: 2 }],
    ['handle.id', { ...good, id: '' }],
    ['handle.id', { ...good, id: 'h' }],
    ['handle.id', { ...good, id: 'has space' }],
    ['handle.subject', { ...good, subject: '' }],
    ['handle.amountMicros', { ...good, amountMicros: -1 }],
    ['handle.amountMicros', { ...good, amountMicros: '10' }],
    ['handle.model', { ...good, model: 42 }],
    ['handle.expiresAt', { ...good, expiresAt: 1.5 }],
  ]
  for (const [field, handle] of cases) {
    it(`${JSON.stringify(handle)} → InvalidOptionsError(${field})`, () => {
      expect(() => budget.restore(handle as ReservationHandle)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', field })
      )
    })
  }
  it('a valid handle restores without a store call; extend validates its ttl', async () => {
    const r = budget.restore(good)
    expect(r).toMatchObject({ id: good.id, subject: 'u', amountMicros: 10, model: undefined })
    await expect(r.extend('soon' as never)).rejects.toMatchObject({ field: 'ttl' })
  })
})
