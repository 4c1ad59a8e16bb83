import { JobNotFoundError } from '@aikit/queue'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, type Harness, lastRunText, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('follow: tokens through Redis pub/sub with replay', () => {
  it('a follower on another instance receives every token in order, then the result', async () => {
    const name = h.name()
    const producer = h.queue({ name })
    // Another "instance": its own queue object on its own connection.
    const other = h.queue({ name })
    h.provider.setReply(() => 'one two three four five six seven eight nine ten')
    h.provider.setStreamDelayMs(5)
    const { jobId } = await producer.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'u1',
      params: messages('count'),
    })
    const following = collect(other.follow(jobId)) // subscribed before any worker runs
    h.worker({ name })
    const events = await following
    const tokens = events
      .filter((e) => e.type === 'token')
      .map((e) => (e.type === 'token' ? e.text : ''))
    expect(tokens.join('')).toBe('one two three four five six seven eight nine ten')
    expect(tokens.length).toBeGreaterThan(5)
    expect(events[0]?.type).toBe('start')
    const last = events.at(-1)
    expect(last?.type).toBe('done')
    if (last?.type === 'done') expect(last.result.text).toBe(tokens.join(''))
    // Ids strictly increase: nothing duplicated, nothing out of order.
    const seqs = events.map((e) => e.seq)
    expect(seqs).toEqual(seqs.map((_, i) => i))
    // Via OpenAI too (chat and responses), on the same machinery.
    for (const api of ['chat', 'responses'] as const) {
      const params =
        api === 'chat'
          ? { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }
          : { model: 'gpt-4o-mini', input: 'x' }
      const job = await producer.enqueue({ provider: 'openai', api, subject: 'u1', params })
      const result = await other.result(job.jobId)
      expect(result.text).toBe('one two three four five six seven eight nine ten')
      expect(result.usage.outputTokens).toBeGreaterThan(0)
    }
  })

  it('a late follower replays the whole answer; Last-Event-ID resumes after it', async () => {
    const name = h.name()
    const q = h.queue({ name })
    h.provider.setReply(() => 'alpha beta gamma delta')
    h.worker({ name })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'u2',
      params: messages('late'),
    })
    const result = await q.result(jobId)
    const late = await collect(h.queue({ name }).follow(jobId))
    expect(lastRunText(late)).toBe('alpha beta gamma delta')
    expect(late.at(-1)?.type).toBe('done')
    const resumed = await collect(q.follow(jobId, { after: late[2]?.id as string }))
    expect(resumed.map((e) => e.id)).toEqual(late.slice(3).map((e) => e.id))
    expect(result.text).toBe('alpha beta gamma delta')
  })

  it('results are kept for resultTtl, then the job is unknown', async () => {
    const name = h.name()
    const q = h.queue({ name, resultTtl: 1000 })
    h.worker({ name })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'u3',
      params: messages('ttl'),
    })
    const first = await q.result(jobId)
    expect((await q.result(jobId)).text).toBe(first.text) // still there
    const client = h.redis.client()
    const keys = [':result', ':log', ':meta'].map((k) => `aikit:llmq:{${name}:${jobId}}${k}`)
    for (const key of keys) {
      const ttl = await client.pttl(key)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(1000)
    }
    // Redis expires them (no sweeper involved): wait until the result key is gone.
    for (let i = 0; i < 100 && (await client.exists(keys[0] as string)) === 1; i++) {
      await new Promise((r) => setTimeout(r, 50))
    }
    await expect(q.result(jobId)).rejects.toBeInstanceOf(JobNotFoundError)
    await expect(collect(q.follow(jobId))).rejects.toBeInstanceOf(JobNotFoundError)
    expect(await q.subjectOf(jobId)).toBeUndefined()
    expect(await client.exists(...keys)).toBe(0)
  })

  it('an unknown or malformed job id is JobNotFoundError', async () => {
    const q = h.queue({ name: h.name() })
    await expect(q.result('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(
      JobNotFoundError
    )
    await expect(q.result('../etc')).rejects.toBeInstanceOf(JobNotFoundError)
  })
})

describe('the replay log while the job runs', () => {
  // The log's TTL used to be set to resultTtl when the run started and never renewed: a run longer
  // than resultTtl lost its `start` and first tokens, and a late follower got a truncated text.
  it('a late follower still gets the whole answer of a job that runs longer than resultTtl', async () => {
    const name = h.name()
    const q = h.queue({ name, resultTtl: 300 })
    h.provider.reset()
    h.provider.setReply(() => 'one two three four five six')
    const held = h.provider.holdStreamAfter(5) // start, block start, first tokens; rest held
    h.worker({ name })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'late',
      params: messages('long job'),
    })
    const result = q.result(jobId)
    await held.reached
    const log = `aikit:llmq:{${name}:${jobId}}:log`
    const client = h.redis.client()
    // While it runs, the log does not live only resultTtl (the key's TTL, read, not timed).
    expect(await client.pttl(log)).toBeGreaterThan(300)
    await new Promise((r) => setTimeout(r, 700)) // past resultTtl, the job still running
    const late = collect(h.queue({ name }).follow(jobId))
    held.release()
    const final = await result
    const seen = await late
    expect(final.text).toBe('one two three four five six')
    expect(seen[0]?.type).toBe('start')
    expect(lastRunText(seen)).toBe(final.text)
    // resultTtl starts at the end.
    const ttl = await client.pttl(log)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(300)
  })
})

describe('resuming after the final event', () => {
  // With nothing after the cursor, the follower used to wait, find BullMQ no longer had the
  // (removed-on-complete) job and yield a made-up JOB_LOST error for a job that completed.
  it('a follower resuming after the `done` event ends quietly (not JOB_LOST)', async () => {
    const name = h.name()
    const q = h.queue({ name })
    h.provider.reset()
    h.worker({ name })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'again',
      params: messages('finished'),
    })
    await q.result(jobId)
    const all = await collect(q.follow(jobId))
    const done = all.at(-1)
    expect(done?.type).toBe('done')
    expect(await collect(q.follow(jobId, { after: done?.id as string }))).toEqual([])
  })
})
