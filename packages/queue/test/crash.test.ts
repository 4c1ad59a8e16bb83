/**
 * THE KEY TEST: a worker PROCESS killed (SIGKILL) mid-job. BullMQ's stalled-job check hands the job
 * to another worker, which runs it again from the start; the budget held at enqueue settles once,
 * with one call's cost, and a follower on another instance ends with the whole answer.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { redisStore } from '@aikit/core/redis'
import { createBudget, priceOf } from '@aikit/cost'
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
      entry: { 'worker-process': join(here, 'fixtures', 'worker-process.ts') },
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

function startWorkerProcess(name: string, maxStalledCount?: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(outDir, 'worker-process.js')], {
    env: {
      ...process.env,
      AIKIT_QUEUE_WORKER: JSON.stringify({
        redisUrl: h.redis.url,
        providerUrl: h.provider.anthropicBaseURL,
        name,
        lockDuration: LOCK_MS,
        stalledInterval: STALLED_MS,
        maxStalledCount,
      }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      if (out.includes('ready\n')) resolve(child)
    })
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString()
    })
    child.once('exit', (code) => reject(new Error(`worker process exited (${code}): ${err}`)))
  })
}

describe('a worker process killed mid-job', () => {
  it('another worker finishes it; the provider is charged once in the cost records; the budget settles once', async () => {
    const name = h.name()
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix: 'crash', commandTimeoutMs: 5000 }),
      limits: [{ period: 'rolling', window: '1d', usd: 1 }],
    })
    const settled: number[] = []
    budget.on('settled', (e) => settled.push(e.chargedMicros))
    const queue = h.queue({ name, budget })
    const browser = h.queue({ name }) // another instance, following over its own connection
    h.provider.reset()
    h.provider.setReply(() => ANSWER)
    h.provider.setStreamDelayMs(20)

    const first = await startWorkerProcess(name)
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
        first.kill('SIGKILL')
        await new Promise((r) => first.once('exit', r))
        rescuer = startWorkerProcess(name)
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

    // Charged once: the ledger holds exactly one call's cost, settled once, nothing left held.
    const oneCall = priceOf(result.model, result.usage)
    expect(oneCall).toBeGreaterThan(0)
    expect(settled).toEqual([oneCall])
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
