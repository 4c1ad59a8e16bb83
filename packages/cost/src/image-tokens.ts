/**
 * @module image-tokens
 * The most input tokens ONE image of unknown size can bill on models whose images cost more than
 * the flat `MEDIA_TOKENS` (tokens.ts), as data. OpenAI images and vision guide, "Calculating costs":
 *
 * - Patch models bill 32×32-px patches, at most 1,536 per image (larger images are scaled down),
 *   times a per-model multiplier: gpt-4.1-mini and gpt-5-mini ×1.62, gpt-4.1-nano and gpt-5-nano
 *   ×2.46, o4-mini and codex-mini ×1.72. gpt-5.2 / gpt-5.3 are in the same 1,536-patch family at
 *   ×1.2 (the rate they bill; the guide gives no multiplier). gpt-5.4 and later allow up to 10,000
 *   patches with `detail: 'original'`, ×1.2.
 * - Tile models bill a base plus a price per 512-px tile; an image is at most 8 tiles (fitted in
 *   2048×2048, short side scaled to 768: 768×2048). gpt-4o-mini bills 2,833 + 5,667 per tile (its
 *   image tokens are inflated so that its low token price bills an image like gpt-4o does); the
 *   others (gpt-4o, gpt-4.1, gpt-5, gpt-5.1, o1, o3: at most 1,445) stay under `MEDIA_TOKENS`.
 *
 * - Anthropic (vision guide, "Evaluate image size"): an image bills at most 1,568 tokens (under
 *   `MEDIA_TOKENS`), except on Claude Opus 4.7, whose high-resolution vision takes up to 2,576 px on
 *   the long edge: at most 4,784 tokens.
 *
 * Each cap is the product rounded up. `detail` is not read: `'low'` costs less on tile models, but
 * an estimate must not be low when it is wrong.
 */

/** [pattern on the bare lower-case model name, cap]; the first match wins. */
const IMAGE_TOKEN_CAPS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^gpt-4o-mini/, 2833 + 5667 * 8], // 48,169
  [/^gpt-(?:4\.1|5)-mini/, Math.ceil(1536 * 1.62)], // 2,489
  [/^gpt-(?:4\.1|5)-nano/, Math.ceil(1536 * 2.46)], // 3,779
  [/^(?:o4-mini|codex-mini)/, Math.ceil(1536 * 1.72)], // 2,642
  [/^gpt-5\.[23](?![0-9])/, Math.ceil(1536 * 1.2)], // 1,844
  [/^gpt-5\.(?:[4-9]|[1-9][0-9])(?![0-9])/, 12_000], // 10,000 × 1.2
  [/^claude-opus-4-7/, 4784],
]

/**
 * The most tokens one image can bill on `bareModel` (lower case, no `provider/` prefix), or 0 when
 * the model is not in the list (the caller then uses its flat estimate).
 */
export function imageTokenCap(bareModel: string): number {
  for (const [pattern, cap] of IMAGE_TOKEN_CAPS) if (pattern.test(bareModel)) return cap
  return 0
}
