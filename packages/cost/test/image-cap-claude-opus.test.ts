// `estimateTokens` (and so every budget reservation of an image request) counts an image of
// unknown size at MEDIA_TOKENS (1,600) except on models whose largest image bills more (README,
// Tokens). Anthropic's vision guide: Claude Opus 4.7 takes images up to 2,576 px on the long edge,
// at most 4,784 tokens each (other Claude models: 1,568).
import { createBudget, estimateTokens, MEDIA_TOKENS } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const OPUS_4_7_IMAGE_MAX = 4784

const image = {
  type: 'image',
  source: { type: 'url', url: 'https://example.com/screenshot.png' },
}

const imageCost = (model: string): number =>
  estimateTokens([{ role: 'user', content: [image] }], model) -
  estimateTokens([{ role: 'user', content: [] }], model)

describe('images of unknown size on Claude Opus 4.7 (high-resolution vision)', () => {
  it('are estimated at no less than the 4,784 tokens one image can bill on claude-opus-4-7', () => {
    expect(MEDIA_TOKENS).toBeLessThan(OPUS_4_7_IMAGE_MAX)
    expect(imageCost('claude-opus-4-7')).toBeGreaterThanOrEqual(OPUS_4_7_IMAGE_MAX)
    expect(imageCost('claude-opus-4-7-20260416')).toBeGreaterThanOrEqual(OPUS_4_7_IMAGE_MAX)
  })

  it('a budget holds at least what 4 such images bill as input', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const messages = [{ role: 'user', content: [image, image, image, image] }]
    const held = await budget.reserve('u', {
      model: 'claude-opus-4-7',
      messages,
      maxOutputTokens: 1,
    })
    // $5 per million input tokens, $25 per million output tokens: micro-dollars = tokens × 5 (+ 25).
    const billable = 4 * OPUS_4_7_IMAGE_MAX * 5 + 25
    expect(held.amountMicros).toBeGreaterThanOrEqual(billable)
    await held.release()
  })
})
