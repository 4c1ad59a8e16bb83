/**
 * `estimateTokens` promises a count that is not low ("an estimate that is low lets a budget be
 * overrun", src/tokens.ts). Two provider charges are not in the request's own text:
 * - Anthropic's tool-use system prompt: 346 input tokens (tool_choice auto/none) or 313 (any/tool)
 *   on Claude 4 models (Anthropic pricing docs, "Tool use system prompt token count").
 * - OpenAI images on patch-priced models: up to 1,536 32-px patches times a per-model multiplier
 *   (gpt-4.1-mini / gpt-5-mini ×1.62, gpt-4.1-nano / gpt-5-nano ×2.46, o4-mini ×1.72); gpt-4o-mini
 *   bills 2,833 + 5,667 per 512-px tile, up to 8 tiles (OpenAI images and vision guide). A
 *   2400×1800 image measured 2,362 input tokens on gpt-4.1-mini.
 */
import { estimateTokens, MEDIA_TOKENS } from '@aikit/cost'
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base'
import { describe, expect, it } from 'vitest'

describe("Claude's tool-use system prompt", () => {
  const messages = [{ role: 'user', content: 'Weather in Paris?' }]
  const tools = [
    {
      name: 'get_weather',
      description: 'Get the weather',
      input_schema: {
        type: 'object',
        properties: { city: { type: 'string' } },
        required: ['city'],
      },
    },
  ]

  it('adds at least the 313-token tool-use system prompt when tools are sent to a Claude model', () => {
    const without = estimateTokens(messages, 'claude-sonnet-4-5')
    const withTools = estimateTokens(messages, 'claude-sonnet-4-5', { tools })
    // The definitions' own tokens come on top of the hidden system prompt.
    expect(withTools - without).toBeGreaterThanOrEqual(313)
  })

  it('counts the larger, 346-token prompt (tool_choice auto / none) on top of the definitions', () => {
    for (const model of [
      'claude-opus-4-6',
      'anthropic/claude-haiku-4-5',
      'claude-sonnet-4-5-20250929',
    ]) {
      const without = estimateTokens(messages, model)
      const withJson = estimateTokens(messages, model, { system: JSON.stringify(tools) })
      const withTools = estimateTokens(messages, model, { tools })
      // `system` as a string costs its text + 5 (message overhead); tools cost the text + 346.
      expect(withTools - without, model).toBe(withJson - without - 5 + 346)
    }
  })

  it('adds nothing when there are no tools, nor on OpenAI models', () => {
    expect(estimateTokens(messages, 'claude-sonnet-4-5', { tools: [] })).toBe(
      estimateTokens(messages, 'claude-sonnet-4-5')
    )
    const gpt = estimateTokens(messages, 'gpt-4o', { tools }) - estimateTokens(messages, 'gpt-4o')
    expect(gpt).toBe(o200k(JSON.stringify(tools)))
  })
})

describe('images of unknown size on OpenAI models that bill more than MEDIA_TOKENS', () => {
  const chatImage = {
    type: 'image_url',
    image_url: { url: 'https://example.com/photo.png', detail: 'high' },
  }
  const responsesImage = { type: 'input_image', image_url: 'https://example.com/photo.png' }
  const cost = (model: string, image: unknown = chatImage): number =>
    estimateTokens([{ role: 'user', content: [image] }], model) -
    estimateTokens([{ role: 'user', content: [] }], model)

  it('estimates an image of unknown size at no less than the cap gpt-4.1-mini bills (1,536 patches × 1.62)', () => {
    expect(cost('gpt-4.1-mini')).toBeGreaterThanOrEqual(2488)
  })

  it('estimates an image of unknown size at no less than the cap gpt-4.1-nano bills (1,536 patches × 2.46)', () => {
    expect(cost('gpt-4.1-nano')).toBeGreaterThanOrEqual(3778)
  })

  it("counts each patch model's cap, rounded up, for snapshots, prefixes and Responses parts", () => {
    expect(cost('gpt-4.1-mini')).toBe(2489)
    expect(cost('openai/gpt-4.1-mini-2025-04-14', responsesImage)).toBe(2489)
    expect(cost('gpt-5-mini')).toBe(2489)
    expect(cost('gpt-4.1-nano')).toBe(3779)
    expect(cost('gpt-5-nano-2025-08-07')).toBe(3779)
    expect(cost('o4-mini')).toBe(2642) // 1,536 × 1.72
    expect(cost('gpt-5.2')).toBe(1844) // 1,536 × 1.2
    expect(cost('gpt-5.5-2026-04-23')).toBe(12_000) // detail "original": 10,000 × 1.2
  })

  it('counts gpt-4o-mini images at its 8-tile maximum (2,833 + 8 × 5,667)', () => {
    expect(cost('gpt-4o-mini')).toBe(48_169)
  })

  it('keeps MEDIA_TOKENS where no image bills more (tile models, Claude)', () => {
    for (const model of ['gpt-4o', 'gpt-4.1', 'gpt-5', 'o3', 'claude-sonnet-4-5']) {
      expect(cost(model), model).toBe(MEDIA_TOKENS)
    }
  })
})
