/**
 * Sentry's MCP server spans carry tool results, prompt results, a tool call's arguments and log
 * messages under `mcp.*` names (and `anthropic.tool_result.content`), which @sentry/conventions
 * lists as aliases of the `gen_ai.*` content attributes: without `allowGenAiContent` they must not
 * reach Sentry, while the MCP metadata (method, tool name, session, counts, types) does.
 * Real @sentry/node v11 against a local DSN endpoint.
 */
import { initSentry } from '@aikit/observability/sentry'
import * as Sentry from '@sentry/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { attributesOf, sentSpan } from './sentry-ai-sdk-content.js'
import { startDsn } from './sentry-dsn.js'

const CONTENT: Record<string, string> = {
  'mcp.tool.result.content': 'MCPTOOLRESULT-MARKER account 12-4411 balance',
  'mcp.tool.result.0.content': 'MCPTOOLRESULTKEY-MARKER first block',
  'mcp.prompt.result.message_content': 'MCPPROMPTRESULT-MARKER you are the triage bot',
  'mcp.prompt.result.1.content': 'MCPPROMPTRESULTKEY-MARKER second message',
  'mcp.request.argument': '{"query":"MCPARG-MARKER"}',
  'mcp.request.argument.query': 'MCPARGKEY-MARKER symptoms of',
  'mcp.logging.message': 'MCPLOG-MARKER user 4411 asked about',
  'mcp.progress.message': 'MCPPROGRESS-MARKER reading the record',
  'anthropic.tool_result.content': 'ANTHROPICTOOLRESULT-MARKER 12,400 USD',
}

const METADATA: Record<string, string | number | boolean> = {
  'mcp.method.name': 'tools/call',
  'mcp.tool.name': 'lookup_account',
  'mcp.session.id': 'session-7',
  'mcp.tool.result.content_count': 2,
  'mcp.tool.result.content_type': 'text',
  'mcp.tool.result.is_error': false,
  'mcp.prompt.result.message_count': 3,
  'mcp.transport': 'stdio',
}

let dsn: Awaited<ReturnType<typeof startDsn>>

beforeAll(async () => {
  dsn = await startDsn()
  expect(initSentry({ dsn: dsn.dsn, tracesSampleRate: 1 })).toBeDefined()
})

afterAll(async () => {
  await Sentry.close(2000)
  await dsn.close()
})

describe('initSentry with allowGenAiContent false, on MCP spans', () => {
  it('removes tool results, prompt results, arguments and messages, and keeps the metadata', async () => {
    await Sentry.startSpan(
      {
        name: 'tools/call lookup_account',
        op: 'mcp.server',
        attributes: { ...METADATA, ...CONTENT },
      },
      async () => {}
    )
    await Sentry.flush(5000)
    const sent = attributesOf(sentSpan(dsn.items(), 'tools/call lookup_account'))
    for (const [key, value] of Object.entries(METADATA)) {
      expect({ key, sent: JSON.stringify(sent[key]) ?? 'missing' }).toEqual({
        key,
        sent: expect.stringContaining(String(value)),
      })
    }
    for (const key of Object.keys(CONTENT)) expect(Object.keys(sent)).not.toContain(key)
    const everything = JSON.stringify(dsn.items())
    for (const value of Object.values(CONTENT)) {
      expect(everything).not.toContain(/[A-Z]+-MARKER/.exec(value)![0])
    }
  })
})
