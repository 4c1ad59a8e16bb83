// AzureOpenAI clients pointed at different deployments of one resource (the SDK sends each call to
// its client's deployment, whatever `model` says) never share a cache entry; they used to.
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { AzureOpenAI } from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache } from './helpers.js'

describe('AzureOpenAI deployments in the cache key', () => {
  let fake: FakeProvider
  beforeAll(async () => {
    fake = await startFakeProvider()
  })
  afterAll(() => fake.close())
  beforeEach(() => fake.reset())

  /** An Azure client for `deployment`, whose requests are answered by the fake; records the paths sent. */
  const azure = (deployment: string, paths: string[]) =>
    new AzureOpenAI({
      apiKey: 'azure-key',
      endpoint: 'https://example-resource.openai.azure.com',
      apiVersion: '2024-10-21',
      deployment,
      maxRetries: 0,
      fetch: async (url: string | URL | Request, init?: RequestInit) => {
        const u = new URL(String(url))
        paths.push(u.pathname)
        return fetch(`${fake.openaiBaseURL}/chat/completions`, init)
      },
    })

  it('a client for deployment B never gets the answer cached for deployment A (another model may serve it)', async () => {
    const cache = mapCache()
    const paths: string[] = []
    const a = wrapOpenAI(azure('gpt-4o-deployment', paths), { cache, subject: 'u1' })
    const b = wrapOpenAI(azure('o3-deployment', paths), { cache, subject: 'u1' })
    const params = {
      model: 'gpt-4o',
      temperature: 0,
      max_completion_tokens: 50,
      messages: [{ role: 'user' as const, content: 'hello' }],
    }
    await a.chat.completions.create(params)
    await b.chat.completions.create(params)
    // The bare SDKs send two requests to two deployments; the wrapped B must ask its own.
    expect(paths).toEqual([
      '/openai/deployments/gpt-4o-deployment/chat/completions',
      '/openai/deployments/o3-deployment/chat/completions',
    ])
  })

  it('two clients for the same deployment share the entry', async () => {
    const cache = mapCache()
    const paths: string[] = []
    const a = wrapOpenAI(azure('gpt-4o-deployment', paths), { cache, subject: 'u1' })
    const b = wrapOpenAI(azure('gpt-4o-deployment', paths), { cache, subject: 'u1' })
    const params = {
      model: 'gpt-4o',
      temperature: 0,
      max_completion_tokens: 50,
      messages: [{ role: 'user' as const, content: 'hello' }],
    }
    const first = await a.chat.completions.create(params)
    const second = await b.chat.completions.create(params)
    expect(paths).toEqual(['/openai/deployments/gpt-4o-deployment/chat/completions'])
    expect(second.choices[0]?.message.content).toBe(first.choices[0]?.message.content)
  })
})
