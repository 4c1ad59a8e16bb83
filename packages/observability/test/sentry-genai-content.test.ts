/**
 * `initSentry` promises that GenAI content (prompts, completions, tool arguments and results) is
 * removed from every span unless `allowGenAiContent` is set. These are GenAI content attributes
 * from Sentry's own conventions (@sentry/conventions: `gen_ai.embeddings.input` "The input to the
 * embeddings model", `gen_ai.response.tool_calls` "The tool calls in the model's response",
 * `gen_ai.system.message` "The system instructions passed to the model", `gen_ai.tool.message`,
 * deprecated alias of `gen_ai.tool.call.result`), set on a span, sent to a local DSN endpoint
 * through the real @sentry/node v11.
 */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDsn } from './sentry-dsn.js'

let dsn: Awaited<ReturnType<typeof startDsn>>

beforeAll(async () => {
  dsn = await startDsn()
  expect(initSentry({ dsn: dsn.dsn, tracesSampleRate: 1 })).toBeDefined()
})

afterAll(async () => {
  await Sentry.close(2000)
  await dsn.close()
})

const CONTENT: Record<string, string> = {
  'gen_ai.embeddings.input': 'EMBED-INPUT my diagnosis is confidential',
  'gen_ai.response.tool_calls': '[{"name":"lookup","arguments":"TOOLCALL-ARGS patient 4411"}]',
  'gen_ai.system.message': 'SYSTEM-MESSAGE you are the internal triage bot',
  'gen_ai.tool.message': 'TOOL-MESSAGE balance is 12,400 USD',
}

describe('initSentry with allowGenAiContent false (the default)', () => {
  it.each(Object.keys(CONTENT))(
    'removes the GenAI content attribute %s from the span sent',
    async (key) => {
      await Sentry.startSpan(
        {
          name: `span ${key}`,
          op: 'gen_ai.embeddings',
          attributes: { 'gen_ai.request.model': 'text-embedding-3-small', [key]: CONTENT[key] },
        },
        async () => {}
      )
      await Sentry.flush(5000)
      const spans = dsn
        .items()
        .filter((i) => i.type === 'span')
        .flatMap((i) => (i.payload as { items: { name?: string; attributes?: object }[] }).items)
      const sent = spans.find((s) => s.name === `span ${key}`)
      // The span itself arrived (the check cannot pass vacuously)…
      expect(JSON.stringify(sent?.attributes)).toContain('text-embedding-3-small')
      // …without the content.
      const marker = CONTENT[key]!.replace(/^\[\{"name":"lookup","arguments":"/, '').split(' ')[0]!
      expect(JSON.stringify(sent)).not.toContain(marker)
    }
  )

  it('keeps the GenAI metadata: model, provider, token counts, finish reasons', async () => {
    const metadata = {
      'gen_ai.request.model': 'claude-haiku-4-5',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 34,
      'gen_ai.usage.cache_read.input_tokens': 5,
      'gen_ai.response.finish_reasons': 'end_turn',
    }
    await Sentry.startSpan(
      {
        name: 'span metadata',
        op: 'gen_ai.chat',
        attributes: { ...metadata, 'gen_ai.input.messages': 'CHAT-CONTENT hello' },
      },
      async () => {}
    )
    await Sentry.flush(5000)
    const sent = dsn
      .items()
      .filter((i) => i.type === 'span')
      .flatMap((i) => (i.payload as { items: { name?: string; attributes?: object }[] }).items)
      .find((s) => s.name === 'span metadata')
    const text = JSON.stringify(sent?.attributes)
    for (const key of Object.keys(metadata)) expect(text).toContain(key)
    expect(text).not.toContain('CHAT-CONTENT')
  })
})
