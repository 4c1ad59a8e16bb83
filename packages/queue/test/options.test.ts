import { InvalidOptionsError } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import { wrapAnthropic } from '@aikit/llm/anthropic'
import { wrapOpenAI } from '@aikit/llm/openai'
import {
  createLlmQueue,
  createLlmWorker,
  type LlmClients,
  type LlmQueueOptions,
  type LlmWorkerOptions,
  type SseHandlerOptions,
  sseHandler,
} from '@aikit/queue'
import { invalidField } from '@aikit/testing/invalid-field'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('options are validated at construction, naming the field', () => {
  it('createLlmQueue', () => {
    const connection = h.redis.client()
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'connection'],
      [{ connection: {} }, 'connection'],
      [{ connection, name: 'a b' }, 'name'],
      [{ connection, prefix: '{x}' }, 'prefix'],
      [{ connection, budget: {} }, 'budget'],
      [{ connection, resultTtl: 'forever' }, 'resultTtl'],
      [{ connection, resultTtl: 0 }, 'resultTtl'],
      [{ connection, holdTtl: -5 }, 'holdTtl'],
      [{ connection, attempts: 0 }, 'attempts'],
      [{ connection, attempts: 1.5 }, 'attempts'],
      [{ connection, backoffDelay: '1 sec' }, 'backoffDelay'],
      [{ connection, defaultMaxOutputTokens: 0 }, 'defaultMaxOutputTokens'],
      [{ connection, cacheKey: 'k' }, 'cacheKey'],
      [{ connection, pollInterval: '0s' }, 'pollInterval'],
      [{ connection, onError: 1 }, 'onError'],
    ]
    for (const [options, field] of cases) {
      expect(invalidField(() => createLlmQueue(options as never))).toBe(field)
    }
    expect(invalidField(() => createLlmQueue(null as never))).toBe('options')
  })

  it('createLlmWorker', () => {
    const connection = h.redis.client()
    const anthropic = h.anthropic()
    const cases: [Record<string, unknown>, string][] = [
      [{ clients: { anthropic } }, 'connection'],
      [{ connection }, 'clients'],
      [{ connection, clients: {} }, 'clients'],
      [{ connection, clients: { anthropic: {} } }, 'clients.anthropic'],
      [{ connection, clients: { openai: { chat: {} } } }, 'clients.openai'],
      [{ connection, clients: { anthropic }, concurrency: 0 }, 'concurrency'],
      [{ connection, clients: { anthropic }, lockDuration: 'long' }, 'lockDuration'],
      [{ connection, clients: { anthropic }, stalledInterval: 0 }, 'stalledInterval'],
      [{ connection, clients: { anthropic }, maxStalledCount: -1 }, 'maxStalledCount'],
      [{ connection, clients: { anthropic }, maxRetryDelay: '5 minutes' }, 'maxRetryDelay'],
      [{ connection, clients: { anthropic }, onError: 1 }, 'onError'],
      [{ connection, clients: { anthropic }, budget: { reserve() {} } }, 'budget'],
      [{ connection, clients: { anthropic }, name: '' }, 'name'],
    ]
    for (const [options, field] of cases) {
      expect(invalidField(() => createLlmWorker(options as never))).toBe(field)
    }
  })

  it('createLlmWorker refuses a client wrapped with a budget of its own (every job charged twice)', () => {
    const connection = h.redis.client()
    const budget = createBudget({ limits: [{ period: 'day', usd: 5 }] })
    const raw = () =>
      new Anthropic({ apiKey: 'test-key', baseURL: h.provider.anthropicBaseURL, maxRetries: 0 })
    const openaiRaw = new OpenAI({ apiKey: 'test-key', baseURL: h.provider.openaiBaseURL })
    const budgeted = wrapAnthropic(raw(), { budget, subject: 'u' })
    expect(
      invalidField(() => createLlmWorker({ connection, clients: { anthropic: budgeted } }))
    ).toBe('clients.anthropic')
    // Its withOptions() copies too.
    const copy = budgeted.withOptions({ timeout: 5000 })
    expect(invalidField(() => createLlmWorker({ connection, clients: { anthropic: copy } }))).toBe(
      'clients.anthropic'
    )
    const openai = wrapOpenAI(openaiRaw, { budget, subject: 'u' })
    expect(invalidField(() => createLlmWorker({ connection, clients: { openai } }))).toBe(
      'clients.openai'
    )
  })

  it('sseHandler', () => {
    const queue = h.queue({ name: h.name() })
    expect(invalidField(() => sseHandler({} as never))).toBe('queue')
    expect(invalidField(() => sseHandler({ queue, jobId: 'id' as never }))).toBe('jobId')
    expect(invalidField(() => sseHandler({ queue, subjectBy: 1 as never }))).toBe('subjectBy')
    expect(invalidField(() => sseHandler({ queue, heartbeat: 'often' as never }))).toBe('heartbeat')
  })

  it('a wrong-typed value of each option is named, for every factory', () => {
    const connection = h.redis.client()
    const anthropic = h.anthropic()
    const queue = h.queue({ name: h.name() })
    const cases: [() => unknown, string][] = [
      [() => createLlmQueue({ connection: 'redis://localhost' } as never), 'connection'],
      [() => createLlmQueue({ connection, name: 5 } as never), 'name'],
      [() => createLlmQueue({ connection, prefix: {} } as never), 'prefix'],
      [() => createLlmQueue({ connection, budget: 'daily' } as never), 'budget'],
      [() => createLlmQueue({ connection, resultTtl: true } as never), 'resultTtl'],
      [() => createLlmQueue({ connection, holdTtl: true } as never), 'holdTtl'],
      [() => createLlmQueue({ connection, attempts: '3' } as never), 'attempts'],
      [() => createLlmQueue({ connection, backoffDelay: {} } as never), 'backoffDelay'],
      [
        () => createLlmQueue({ connection, defaultMaxOutputTokens: '512' } as never),
        'defaultMaxOutputTokens',
      ],
      [() => createLlmQueue({ connection, cacheKey: {} } as never), 'cacheKey'],
      [() => createLlmQueue({ connection, pollInterval: true } as never), 'pollInterval'],
      [() => createLlmQueue({ connection, onError: 'log' } as never), 'onError'],
      [() => createLlmWorker({ connection: 5, clients: { anthropic } } as never), 'connection'],
      [() => createLlmWorker({ connection, clients: 'anthropic' } as never), 'clients'],
      [
        () => createLlmWorker({ connection, clients: { anthropic: 'sdk' } } as never),
        'clients.anthropic',
      ],
      [() => createLlmWorker({ connection, clients: { anthropic }, name: 5 } as never), 'name'],
      [() => createLlmWorker({ connection, clients: { anthropic }, prefix: 5 } as never), 'prefix'],
      [
        () => createLlmWorker({ connection, clients: { anthropic }, concurrency: '2' } as never),
        'concurrency',
      ],
      [
        () => createLlmWorker({ connection, clients: { anthropic }, lockDuration: {} } as never),
        'lockDuration',
      ],
      [
        () =>
          createLlmWorker({ connection, clients: { anthropic }, stalledInterval: true } as never),
        'stalledInterval',
      ],
      [
        () =>
          createLlmWorker({ connection, clients: { anthropic }, maxStalledCount: '1' } as never),
        'maxStalledCount',
      ],
      [
        () => createLlmWorker({ connection, clients: { anthropic }, maxRetryDelay: {} } as never),
        'maxRetryDelay',
      ],
      [() => createLlmWorker({ connection, clients: { anthropic }, budget: 5 } as never), 'budget'],
      [
        () => createLlmWorker({ connection, clients: { anthropic }, onError: 'log' } as never),
        'onError',
      ],
      [() => sseHandler({ queue: 'llm' } as never), 'queue'],
      [() => sseHandler({ queue, jobId: 'id' } as never), 'jobId'],
      [() => sseHandler({ queue, subjectBy: 'user' } as never), 'subjectBy'],
      [() => sseHandler({ queue, heartbeat: {} } as never), 'heartbeat'],
    ]
    for (const [construct, field] of cases) {
      expect(invalidField(construct)).toBe(field)
    }
  })

  it('a misspelt option key is refused, naming the key and the option it most likely meant', () => {
    const connection = h.redis.client()
    const anthropic = h.anthropic()
    const queue = h.queue({ name: h.name() })
    const cases: [() => unknown, string, string][] = [
      [() => createLlmQueue({ connection, resultTTL: '1h' } as never), 'resultTTL', 'resultTtl'],
      [
        () => createLlmQueue({ connection, holdTtl: '1m', atempts: 2 } as never),
        'atempts',
        'attempts',
      ],
      [
        () => createLlmWorker({ connection, clients: { anthropic }, concurency: 2 } as never),
        'concurency',
        'concurrency',
      ],
      [
        () => createLlmWorker({ connection, clients: { anthropic, opneai: anthropic } } as never),
        'clients.opneai',
        'clients.openai',
      ],
      [() => sseHandler({ queue, heartBeat: '5s' } as never), 'heartBeat', 'heartbeat'],
    ]
    for (const [construct, field, meant] of cases) {
      const error = (() => {
        try {
          construct()
        } catch (e) {
          return e
        }
        return undefined
      })()
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect((error as InvalidOptionsError).field).toBe(field)
      expect((error as Error).message).toContain(meant)
    }
  })

  it('every documented option is accepted', async () => {
    const connection = h.redis.client()
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const name = h.name()
    const queueOptions: Required<LlmQueueOptions> = {
      connection,
      name,
      prefix: 'every',
      budget,
      resultTtl: '10m',
      holdTtl: '1m',
      attempts: 2,
      backoffDelay: '2s',
      defaultMaxOutputTokens: 512,
      cacheKey: () => 'key',
      pollInterval: '1s',
      onError: () => {},
    }
    const queue = createLlmQueue(queueOptions)
    const clients: Required<LlmClients> = { anthropic: h.anthropic(), openai: h.openai() }
    const workerOptions: Required<LlmWorkerOptions> = {
      connection,
      clients,
      name,
      prefix: 'every',
      concurrency: 2,
      lockDuration: '10s',
      stalledInterval: '10s',
      maxStalledCount: 2,
      maxRetryDelay: '1m',
      budget,
      onError: () => {},
    }
    const worker = createLlmWorker(workerOptions)
    const sseOptions: Required<SseHandlerOptions> = {
      queue,
      jobId: () => undefined,
      subjectBy: () => undefined,
      heartbeat: '5s',
    }
    expect(typeof sseHandler(sseOptions)).toBe('function')
    await worker.close()
    await queue.close()
  })

  // Node timers hold at most 2^31-1 ms (about 24.8 days): a longer delay fires after 1 ms. A
  // 30-day `timeout` used to time out at once, a 30-day `heartbeat` to ping every millisecond.
  it('a duration longer than a Node timer holds (2^31-1 ms) is refused, naming the field', async () => {
    const connection = h.redis.client()
    const max = 2_147_483_647
    const over: Record<string, unknown> = {
      pollInterval: '30d',
      holdTtl: max + 1,
      backoffDelay: '25d',
    }
    for (const [field, value] of Object.entries(over)) {
      expect(invalidField(() => createLlmQueue({ connection, [field]: value }))).toBe(field)
    }
    const clients = { anthropic: h.anthropic() }
    for (const field of ['lockDuration', 'stalledInterval', 'maxRetryDelay']) {
      expect(invalidField(() => createLlmWorker({ connection, clients, [field]: '30d' }))).toBe(
        field
      )
    }
    const queue = h.queue({ name: h.name() })
    expect(invalidField(() => sseHandler({ queue, heartbeat: '30d' }))).toBe('heartbeat')
    const { jobId } = await queue.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'long',
      params: messages('no worker'),
    })
    await expect(queue.result(jobId, { timeout: '30d' })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      field: 'timeout',
    })
    // The limit itself is accepted; `resultTtl` is only a Redis TTL (no timer): up to a year.
    const atMax = h.queue({ name: h.name(), pollInterval: max, holdTtl: max, resultTtl: '365d' })
    expect(atMax.name).toBeTruthy()
    expect(invalidField(() => createLlmQueue({ connection, resultTtl: '366d' }))).toBe('resultTtl')
  })

  it('enqueue rejects a bad job with 400 INVALID_REQUEST before touching the queue', async () => {
    const q = h.queue({ name: h.name() })
    const bad: unknown[] = [
      { provider: 'mistral', api: 'chat', params: messages('x') },
      { provider: 'anthropic', api: 'chat', params: messages('x') },
      { provider: 'openai', api: 'messages', params: messages('x') },
      { provider: 'anthropic', api: 'messages', params: { messages: [] } },
      { provider: 'anthropic', api: 'messages', params: [] },
      { provider: 'anthropic', api: 'messages', params: messages('x'), subject: '' },
      { provider: 'anthropic', api: 'messages', params: messages('x'), cache: 'sometimes' },
    ]
    for (const input of bad) {
      await expect(q.enqueue(input as never)).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
        status: 400,
      })
    }
    expect(await q.queue.count()).toBe(0)
  })
})

describe('per-call options: an unknown key or a wrong type is named before anything runs', () => {
  it('enqueue refuses an unknown job field (400, naming it) and queues nothing, holds nothing', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const q = h.queue({ name: h.name(), budget })
    const error = await q
      .enqueue({
        provider: 'anthropic',
        api: 'messages',
        params: messages('typo'),
        subjet: 'u1',
      } as never)
      .catch((e) => e)
    expect(error).toMatchObject({
      code: 'INVALID_REQUEST',
      status: 400,
      details: { field: 'subjet' },
    })
    expect((error as Error).message).toContain('`subject`')
    expect(await q.queue.count()).toBe(0)
    expect((await budget.status('u1')).tightest?.heldMicros).toBe(0)
  })

  it('result refuses an unknown or wrong-typed option, also for a job whose result is stored', async () => {
    const q = h.queue({ name: h.name() })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      params: messages('r'),
    })
    for (const [options, field] of [
      [{ timout: '5s' }, 'timout'],
      [{ timeout: true }, 'timeout'],
      [{ signal: 'soon' }, 'signal'],
      ['5s', 'options'],
    ] as const) {
      const error = await q.result(jobId, options as never).catch((e) => e)
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect((error as InvalidOptionsError).field).toBe(field)
    }
  })

  it('follow refuses an unknown or wrong-typed option at the call', () => {
    const q = h.queue({ name: h.name() })
    const id = '00000000-0000-4000-8000-000000000000'
    for (const [options, field] of [
      [{ afterr: '1.2' }, 'afterr'],
      [{ after: 12 }, 'after'],
      [{ signal: 'soon' }, 'signal'],
      [5, 'options'],
    ] as const) {
      expect(invalidField(() => q.follow(id, options as never))).toBe(field)
    }
    // A malformed Last-Event-ID string is the client's: still read as "from the start".
    expect(invalidField(() => q.follow(id, { after: 'garbage' }))).toBeUndefined()
  })
})

describe('result / follow options', () => {
  it('result(jobId, { signal: <not a signal> }) throws InvalidOptionsError naming signal', async () => {
    const q = h.queue({ name: h.name() })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      params: messages('s'),
    })
    const error = await q.result(jobId, { signal: 'soon' as never }).catch((e) => e)
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe('signal')
  })

  it('follow(jobId, { signal: <not a signal> }) throws InvalidOptionsError naming signal', async () => {
    const q = h.queue({ name: h.name() })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      params: messages('f'),
    })
    // Refused at the call (before: at the first read of the iteration).
    const error = await (async () => q.follow(jobId, { signal: 'soon' as never }))().catch((e) => e)
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe('signal')
  })
})
