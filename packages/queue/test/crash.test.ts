/**
 * THE KEY TESTS, with real processes killed by SIGKILL:
 * - a worker PROCESS killed mid-job: BullMQ's stalled-job check hands the job to another worker,
 *   which runs it again from the start; the budget held at enqueue is charged once, with one
 *   call's cost (the rescuing worker settles it), and a follower on another instance ends with the
 *   whole answer;
 * - the ENQUEUING process killed after enqueue: the hold it made (and renewed while alive) is
 *   renewed by the worker while the job runs and settled by it through the handle in the job's
 *   data: charged exactly once, with nobody left on the enqueuing side.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { redisStore } from '@aikit/core/redis'
import { type BudgetLimitOptions, createBudget, priceOf } from '@aikit/cost'
import type { LlmJobEvent } from '@aikit/queue'
import { build } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, lastRunText, messages, startHarness } from './helpers.js'

const here = dirname(fileURLToPath(import.meta.url))
// Inside the package's node_modules, so the bundle's bare imports (bullmq, ioredis, the SDK)
// resolve to the package's own dependencies.
const outDir = join(here, '..', 'node_modules', '.aikit-test')
const LOCK_MS = 1000
const STALLED_MS = 300
const ANSWER = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ')

let h: Harness
const children: ChildProcess[] = []

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true })
  const [harness] = await Promise.all([
    startHarness(),
    build({
      entry: {
        'worker-process': join(here, 'fixtures', 'worker-process.ts'),
        'enqueue-process': join(here, 'fixtures', 'enqueue-process.ts'),
      },
      outDir,
      format: ['esm'],
      platform: 'node',
      target: 'node20',
      config: false,
      silent: true,
      dts: false,
      sourcemap: false,
      clean: false,
      splitting: false,
      // The workspace packages come from source (as vitest resolves them); everything else stays
      // an import of the installed package.
      noExternal: [/^@aikit\//],
      external: ['bullmq', 'ioredis', '@anthropic-ai/sdk'],
      esbuildOptions(o) {
        o.conditions = ['@aikit/source']
      },
    }),
  ])
  h = harness
})

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await h?.close()
})

interface BudgetConfig {
  storePrefix: string
  limits: BudgetLimitOptions[]
}

const LIMITS: BudgetLimitOptions[] = [{ period: 'rolling', window: '1d', usd: 1 }]

const budgetOn = (config: BudgetConfig) =>
  createBudget({
    store: redisStore(h.redis.client(), { prefix: config.storePrefix, commandTimeoutMs: 5000 }),
    limits: config.limits,
  })

/** Starts a fixture process; resolves with it and its first stdout line. */
function startProcess(
  file: string,
  env: Record<string, string>
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, [join(outDir, file)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      const end = out.indexOf('\n')
      if (end >= 0) resolve({ child, line: out.slice(0, end) })
    })
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString()
    })
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}): ${err}`)))
  })
}

async function startWorkerProcess(
  name: string,
  maxStalledCount?: number,
  budget?: BudgetConfig
): Promise<ChildProcess> {
  const config = {
    redisUrl: h.redis.url,
    providerUrl: h.provider.anthropicBaseURL,
    name,
    lockDuration: LOCK_MS,
    stalledInterval: STALLED_MS,
    maxStalledCount,
    budget,
  }
  const { child, line } = await startProcess('worker-process.js', {
    AIKIT_QUEUE_WORKER: JSON.stringify(config),
  })
  expect(line).toBe('ready')
  return child
}

const kill9 = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })

describe('a worker process killed mid-job', () => {
  it('another worker finishes it; the provider is charged once in the cost records; the budget settles once', async () => {
    const name = h.name()
    const config = { storePrefix: 'crash', limits: LIMITS }
    const budget = budgetOn(config)
    const settled: number[] = []
    budget.on('settled', (e) => settled.push(e.chargedMicros))
    const queue = h.queue({ name, budget })
    const browser = h.queue({ name }) // another instance, following over its own connection
    h.provider.reset()
    h.provider.setReply(() => ANSWER)
    h.provider.setStreamDelayMs(20)

    const first = await startWorkerProcess(name, undefined, config)
    const { jobId } = await queue.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'victim',
      params: messages('crash'),
    })
    const seen: LlmJobEvent[] = []
    let killed = false
    let rescuer: Promise<unknown> | undefined
    for await (const e of browser.follow(jobId)) {
      seen.push(e)
      // Mid-stream: a few tokens out, most of the answer still to come.
      if (!killed && seen.filter((s) => s.type === 'token').length === 5) {
        killed = true
        await kill9(first)
        rescuer = startWorkerProcess(name, undefined, config)
      }
    }
    await rescuer
    expect(killed).toBe(true)
    const result = await queue.result(jobId)

    // The provider saw two calls: the one cut by the kill, and the rescuer's whole one.
    const calls = h.provider.calls.filter((c) => c.path === '/v1/messages')
    expect(calls).toHaveLength(2)
    expect(calls[0]?.aborted).toBe(true)
    expect(result.text).toBe(ANSWER)

    // The follower got run 1's partial text, then run 2 from its start, in order, to the end.
    const starts = seen.filter((e) => e.type === 'start').map((e) => e.run)
    expect(starts).toEqual([1, 2])
    expect(lastRunText(seen)).toBe(ANSWER)
    expect(seen.at(-1)).toMatchObject({ type: 'done', run: 2 })

    // Charged once: the ledger holds exactly one call's cost, nothing left held. The rescuing
    // worker process settled it; this (enqueuing) queue object's backup settle was a duplicate
    // that charged nothing, so no 'settled' event fired here.
    const oneCall = priceOf(result.model, result.usage)
    expect(oneCall).toBeGreaterThan(0)
    expect(settled).toEqual([])
    const spend = await budget.spend('victim')
    expect(spend.totalMicros).toBe(oneCall)
    expect(spend.heldMicros).toBe(0)
  }, 45_000)

  it('a job that stalls more than maxStalledCount fails: followers get JOB_LOST, the hold is released', async () => {
    const name = h.name()
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix: 'lost', commandTimeoutMs: 5000 }),
      limits: [{ period: 'rolling', window: '1d', usd: 1 }],
    })
    const queue = h.queue({ name, budget })
    h.provider.reset()
    h.provider.setReply(() => ANSWER)
    h.provider.setStreamDelayMs(20)
    const victim = await startWorkerProcess(name, 0)
    const { jobId } = await queue.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'lost',
      params: messages('lost'),
    })
    const seen: LlmJobEvent[] = []
    for await (const e of h.queue({ name }).follow(jobId)) {
      seen.push(e)
      if (e.type === 'token' && e.seq === 3) {
        victim.kill('SIGKILL')
        // No stall allowed: the next worker's stalled check fails the job instead of rerunning it.
        h.worker({ name, lockDuration: LOCK_MS, stalledInterval: STALLED_MS, maxStalledCount: 0 })
      }
    }
    expect(seen.at(-1)).toMatchObject({ type: 'error', error: { code: 'JOB_LOST' } })
    await expect(queue.result(jobId)).rejects.toMatchObject({
      code: 'LLM_JOB_FAILED',
      details: { code: 'JOB_LOST' },
    })
    expect(h.provider.calls).toHaveLength(1)
    const status = await budget.status('lost')
    expect(status.tightest?.heldMicros).toBe(0)
    expect(status.tightest?.spentMicros).toBe(0)
  }, 45_000)
})

describe('the enqueuing process killed after enqueue', () => {
  it('a worker finishes the job, keeps the hold alive while it runs and charges the budget exactly once', async () => {
    const name = h.name()
    const config = { storePrefix: 'orphan', limits: LIMITS }
    const budget = budgetOn(config)
    const settled: number[] = []
    budget.on('settled', (e) => settled.push(e.chargedMicros))
    const HOLD_TTL = 1500
    h.provider.reset()
    h.provider.setReply(() => ANSWER)
    // 40 tokens 100 ms apart: the run outlasts HOLD_TTL well, and the hold is read two seconds
    // before its end (a follower lagging on a loaded runner must not read it after the settle).
    h.provider.setStreamDelayMs(100)

    // No worker yet: the web instance enqueues, its job waits.
    const { child: enqueuer, line } = await startProcess('enqueue-process.js', {
      AIKIT_QUEUE_ENQUEUER: JSON.stringify({
        redisUrl: h.redis.url,
        name,
        subject: 'orphan',
        prompt: 'orphan',
        holdTtl: HOLD_TTL,
        budget: config,
      }),
    })
    const { jobId } = JSON.parse(line) as { jobId: string }
    const held = (await budget.status('orphan')).tightest?.heldMicros ?? 0
    expect(held).toBeGreaterThan(0)
    // While it lives, the enqueuer renews the hold past its TTL.
    await new Promise((r) => setTimeout(r, HOLD_TTL + 500))
    expect((await budget.status('orphan')).tightest?.heldMicros).toBe(held)
    await kill9(enqueuer)

    // A worker (on another instance: here, in the test process) with the budget takes the job.
    h.worker({ name, budget, lockDuration: LOCK_MS, stalledInterval: STALLED_MS })
    const browser = h.queue({ name })
    let heldMidRun: number | undefined
    for await (const e of browser.follow(jobId)) {
      // Well past HOLD_TTL into the run (and past the enqueuer's last renewal): the worker renews it.
      if (e.type === 'token' && e.seq === 20) {
        heldMidRun = (await budget.status('orphan')).tightest?.heldMicros
      }
    }
    expect(heldMidRun).toBe(held)
    const result = await browser.result(jobId)
    expect(result.text).toBe(ANSWER)
    expect(h.provider.calls.filter((c) => c.path === '/v1/messages')).toHaveLength(1)

    const oneCall = priceOf(result.model, result.usage)
    expect(oneCall).toBeGreaterThan(0)
    expect(settled).toEqual([oneCall])
    const spend = await budget.spend('orphan')
    expect(spend.totalMicros).toBe(oneCall)
    expect(spend.heldMicros).toBe(0)
  }, 45_000)
})
