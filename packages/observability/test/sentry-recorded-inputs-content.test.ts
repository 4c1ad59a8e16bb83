/**
 * GenAI content that Sentry's own integrations record only when asked to record inputs or outputs
 * (`recordInputs` / `recordOutputs` in @sentry/node v11: `gen_ai.tool.definitions`, the LangChain
 * integration's `langchain.chain.inputs` / `langchain.chain.outputs`, the MCP integration's
 * `mcp.prompt.result.description`), its older names (`gen_ai.request.available_tools`, which v10
 * also gives the AI SDK's `ai.prompt.tools`) and OTel's `gen_ai.retrieval.documents` (the
 * documents a retrieval returned) must not reach Sentry without `allowGenAiContent`: not on a
 * span, a log, a metric, a breadcrumb or an error event. The metadata whose names hold a content
 * word (`gen_ai.prompt.name`, `gen_ai.output.type`, `gen_ai.request.choice.count`,
 * `gen_ai.tool.call.result.size`) arrives. Real @sentry/node v11 against a local DSN endpoint.
 */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDsn } from './sentry-dsn.js'

const CONTENT: Record<string, string> = {
  'gen_ai.tool.definitions': '[{"name":"lookup","description":"TOOLDEFS-MARKER for patient 4411"}]',
  'gen_ai.request.available_tools': '[{"name":"lookup","description":"AVAILTOOLS-MARKER"}]',
  'gen_ai.retrieval.documents': '[{"id":"d1","content":"RETRIEVED-MARKER the patient record"}]',
  'langchain.chain.inputs': '{"question":"CHAININPUTS-MARKER symptoms of"}',
  'langchain.chain.outputs': '{"answer":"CHAINOUTPUTS-MARKER it is the flu"}',
  'mcp.prompt.result.description': 'MCPPROMPTDESC-MARKER summary of record 4411',
}

const METADATA: Record<string, string | number> = {
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.prompt.name': 'triage-v2',
  'gen_ai.output.type': 'json',
  'gen_ai.request.choice.count': 3,
  'gen_ai.tool.call.result.size': 2048,
}

const markers = Object.values(CONTENT).map((v) => /[A-Z]+-MARKER/.exec(v)![0])

let dsn: Awaited<ReturnType<typeof startDsn>>

beforeAll(async () => {
  dsn = await startDsn()
  const sentryOptions = { enableLogs: true }
  expect(initSentry({ dsn: dsn.dsn, tracesSampleRate: 1, sentryOptions })).toBeDefined()
})

afterAll(async () => {
  await Sentry.close(2000)
  await dsn.close()
})

interface WithAttributes {
  name?: string
  body?: string
  attributes?: Record<string, unknown>
}

/** The attributes of the items of every `type` batch whose name or body is `name`. */
function sentAttributes(type: string, name: string): Record<string, unknown> {
  const found = dsn
    .items()
    .filter((i) => i.type === type)
    .flatMap((i) => (i.payload as { items?: WithAttributes[] }).items ?? [])
    .find((x) => x.name === name || x.body === name)
  return found?.attributes ?? {}
}

describe('initSentry with allowGenAiContent false, on content recorded only on request', () => {
  it('removes tool definitions, retrieved documents, chain inputs/outputs and MCP prompt descriptions from every item, keeping the metadata', async () => {
    const attributes = { ...METADATA, ...CONTENT }
    await Sentry.startSpan({ name: 'chain triage', op: 'gen_ai.invoke_agent', attributes }, () => {
      Sentry.addBreadcrumb({ category: 'llm', message: 'calling', data: attributes })
      Sentry.logger.info('chain triage done', attributes)
      Sentry.metrics.count('chain.calls', 1, { attributes })
      Sentry.captureException(new Error('chain failed'))
    })
    await Sentry.flush(5000)
    const items = dsn.items()
    // Every channel arrived (the check cannot pass vacuously)…
    expect(items.map((i) => i.type)).toEqual(
      expect.arrayContaining(['span', 'log', 'trace_metric', 'event'])
    )
    for (const [type, name] of [
      ['span', 'chain triage'],
      ['log', 'chain triage done'],
      ['trace_metric', 'chain.calls'],
    ] as const) {
      const sent = sentAttributes(type, name)
      // …with the metadata…
      for (const [key, value] of Object.entries(METADATA)) {
        expect({ type, key, sent: JSON.stringify(sent[key]) ?? 'missing' }).toEqual({
          type,
          key,
          sent: expect.stringContaining(String(value)),
        })
      }
      for (const key of Object.keys(CONTENT))
        expect({ type, key, sent: key in sent }).toEqual({ type, key, sent: false })
    }
    // …and none of the content, anywhere.
    for (const item of items) {
      expect({ type: item.type, found: markers.filter((m) => item.raw.includes(m)) }).toEqual({
        type: item.type,
        found: [],
      })
    }
  })
})
