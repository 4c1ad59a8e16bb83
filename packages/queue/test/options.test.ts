import { InvalidOptionsError } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import {
  createLlmQueue,
  createLlmWorker,
  type LlmClients,
  type LlmQueueOptions,
  type LlmWorkerOptions,
  type SseHandlerOptions,
  sseHandler,
} from '@aikit/queue'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return (error as InvalidOptionsError).field
  }
  return undefined
}

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
    ]
    for (const [options, field] of cases) {
      expect(fieldOf(() => createLlmQueue(options as never))).toBe(field)
    }
    expect(fieldOf(() => createLlmQueue(null as never))).toBe('options')
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
      expect(fieldOf(() => createLlmWorker(options as never))).toBe(field)
    }
  })

  it('sseHandler', () => {
    const queue = h.queue({ name: h.name() })
    expect(fieldOf(() => sseHandler({} as never))).toBe('queue')
    expect(fieldOf(() => sseHandler({ queue, jobId: 'id' as never }))).toBe('jobId')
    expect(fieldOf(() => sseHandler({ queue, subjectBy: 1 as never }))).toBe('subjectBy')
    expect(fieldOf(() => sseHandler({ queue, heartbeat: 'often' as never }))).toBe('heartbeat')
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
    const it = q.follow(jobId, { signal: 'soon' as never })[Symbol.asyncIterator]()
    const error = await it.next().catch((e) => e)
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe('signal')
  })
})
