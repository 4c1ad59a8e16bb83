// The default key hashes a value as the request sends it: the SDKs send `JSON.stringify` of the
// params, which turns a URL or a Date into its `toJSON()` text. Hashed as a plain object (no own
// enumerable keys: `{}`), every URL and every Date had one key: a question about one image was
// answered from the cache with the answer about another.
import { startFakeProvider } from '@aikit/testing/fake-provider'
import OpenAI from 'openai'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { wrapOpenAI } from '../src/openai/index.js'
import { stableStringify } from '../src/shared/cache-key.js'
import { mapCache } from './helpers.js'

let fake: Awaited<ReturnType<typeof startFakeProvider>>
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())

it('serialises a value with toJSON as its JSON (a URL, a Date), as the request body does', () => {
  const value = {
    url: new URL('http://127.0.0.1/a.png'),
    at: new Date(0),
    n: [new URL('http://x/')],
  }
  expect(stableStringify(value)).toBe(
    '{"at":"1970-01-01T00:00:00.000Z","n":["http://x/"],"url":"http://127.0.0.1/a.png"}'
  )
  expect(JSON.parse(stableStringify(value))).toEqual(JSON.parse(JSON.stringify(value)))
})

it('two questions about different image URLs are two provider calls, not one cached answer', async () => {
  const client = wrapOpenAI(
    new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 }),
    { cacheSampling: true, cache: mapCache() }
  )
  const ask = (image: string) =>
    client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is in this picture?' },
            // An app that keeps URLs as URL objects: the SDK sends them as their text.
            { type: 'image_url', image_url: { url: new URL(image) as unknown as string } },
          ],
        },
      ],
    })
  const before = fake.calls.length
  await ask('http://127.0.0.1/cat.png')
  await ask('http://127.0.0.1/dog.png')
  expect(fake.calls.length - before).toBe(2)
  const sent = fake.calls.slice(before).map((c) => JSON.stringify(c.body))
  expect(sent[0]).toContain('cat.png')
  expect(sent[1]).toContain('dog.png')
})
