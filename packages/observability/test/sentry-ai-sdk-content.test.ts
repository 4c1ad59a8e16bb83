/**
 * `initSentry` promises that GenAI content is removed from every span unless `allowGenAiContent`
 * is set. The Vercel AI SDK (up to v6) records prompts, completions and tool arguments on its
 * OpenTelemetry spans under `ai.*` names (`ai.prompt`, `ai.response.text`, `ai.toolCall.args`…),
 * which @sentry/conventions lists as aliases of the `gen_ai.*` content attributes, and @sentry/node
 * v11 sends them as they are. Real @sentry/node v11 against a local DSN endpoint.
 */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scrubAttributes } from '../src/sentry/scrub.js'
import {
  AI_CONTENT,
  AI_METADATA,
  attributesOf,
  expectNoMarkers,
  markerOf,
  sentSpan,
} from './sentry-ai-sdk-content.js'
import { startDsn } from './sentry-dsn.js'

let dsn: Awaited<ReturnType<typeof startDsn>>

beforeAll(async () => {
  dsn = await startDsn()
  expect(Sentry.SDK_VERSION).toMatch(/^11\./)
  expect(initSentry({ dsn: dsn.dsn, tracesSampleRate: 1 })).toBeDefined()
})

afterAll(async () => {
  await Sentry.close(2000)
  await dsn.close()
})

describe('initSentry (v11) with allowGenAiContent false, on the AI SDK ai.* attributes', () => {
  it.each(Object.keys(AI_CONTENT))(
    'removes the content attribute %s from the span sent',
    async (key) => {
      await Sentry.startSpan(
        {
          name: `ai span ${key}`,
          op: 'ai.run',
          attributes: { 'ai.model.id': 'gpt-4o-mini', [key]: AI_CONTENT[key] },
        },
        async () => {}
      )
      await Sentry.flush(5000)
      const sent = attributesOf(sentSpan(dsn.items(), `ai span ${key}`))
      // The span arrived with its metadata (the check cannot pass vacuously)…
      expect(JSON.stringify(sent['ai.model.id'])).toContain('gpt-4o-mini')
      // …without the content.
      expect(Object.keys(sent)).not.toContain(key)
      expect(JSON.stringify(sent)).not.toContain(markerOf(key))
    }
  )

  it('keeps the token counts, model, provider, timings and finish reason of an AI SDK span', async () => {
    await Sentry.startSpan(
      {
        name: 'ai.generateText',
        op: 'ai.run',
        attributes: { ...AI_METADATA, ...AI_CONTENT },
      },
      async () => {}
    )
    await Sentry.flush(5000)
    const sent = attributesOf(sentSpan(dsn.items(), 'ai.generateText'))
    for (const [key, value] of Object.entries(AI_METADATA)) {
      expect({ key, sent: JSON.stringify(sent[key]) ?? 'missing' }).toEqual({
        key,
        sent: expect.stringContaining(String(value)),
      })
    }
    expectNoMarkers(dsn.items())
  })
})

describe('scrubAttributes with allowGenAiContent true', () => {
  it('keeps the ai.* content attributes', () => {
    const out = scrubAttributes(AI_CONTENT, {
      redact: (v) => v,
      allowRequestBodies: false,
      allowGenAiContent: true,
      sourceContext: 'scrub',
    })
    expect(out).toEqual(AI_CONTENT)
  })
})
