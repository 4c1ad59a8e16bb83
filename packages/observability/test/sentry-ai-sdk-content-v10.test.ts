/**
 * The `ai.*` content attributes of the Vercel AI SDK through @sentry/node v10, whose Vercel AI
 * processing renames some of them on spans it recognises as the AI SDK's (`ai.prompt.messages` to
 * `gen_ai.input.messages`, `ai.response.object` to `gen_ai.response.object`, which then holds the
 * generated object) and moves the others under `vercel.ai.*` (`vercel.ai.prompt`): none may reach
 * Sentry with `allowGenAiContent` false. Real @sentry/node v10 against a local DSN endpoint.
 */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node-v10'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AI_CONTENT,
  AI_METADATA,
  attributesOf,
  expectNoMarkers,
  sentSpan,
} from './sentry-ai-sdk-content.js'
import { startDsn } from './sentry-dsn.js'

let dsn: Awaited<ReturnType<typeof startDsn>>

beforeAll(async () => {
  dsn = await startDsn()
  expect(Sentry.SDK_VERSION).toMatch(/^10\./)
  // `force`: the integration renames the AI SDK's attributes once the `ai` package is loaded;
  // there is none here, the spans below stand in for its spans.
  const sentryOptions = { integrations: [Sentry.vercelAIIntegration({ force: true })] }
  expect(
    initSentry({ dsn: dsn.dsn, tracesSampleRate: 1, sentry: Sentry as never, sentryOptions })
  ).toBe(Sentry.getClient())
})

afterAll(async () => {
  await Sentry.close(2000)
  await dsn.close()
})

describe('initSentry (v10) with allowGenAiContent false, on the AI SDK ai.* attributes', () => {
  it('sends a span with the ai.* content attributes without any of them', async () => {
    await Sentry.startSpan(
      { name: 'plain ai attributes', attributes: { ...AI_METADATA, ...AI_CONTENT } },
      async () => {}
    )
    await Sentry.flush(5000)
    const sent = attributesOf(sentSpan(dsn.items(), 'plain ai attributes'))
    expect(JSON.stringify(sent)).toContain('gpt-4o-mini')
    expectNoMarkers(dsn.items())
  })

  it('sends an AI SDK span (renamed by v10) without its content', async () => {
    await Sentry.startSpan({ name: 'request' }, async () => {
      await Sentry.startSpan(
        {
          name: 'ai.generateObject.doGenerate',
          attributes: { ...AI_METADATA, 'ai.operationId': 'ai.generateObject', ...AI_CONTENT },
        },
        async () => {}
      )
    })
    await Sentry.flush(5000)
    const items = dsn.items()
    // v10 names the span after the operation and the model.
    const sent = attributesOf(sentSpan(items, 'generate_content gpt-4o-mini'))
    // v10 processed the span as the AI SDK's (the check cannot pass vacuously)…
    expect(JSON.stringify(sent['gen_ai.request.model'])).toContain('gpt-4o-mini')
    expect(JSON.stringify(sent)).toContain('vercel.ai.response.finishReason')
    // …and nothing of its content arrived, under its own name or v10's.
    expectNoMarkers(items)
  })
})
