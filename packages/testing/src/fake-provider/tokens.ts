import type { FakeUsage, UsageOverride } from './types.js'

/**
 * Deterministic token estimate used for all usage numbers: `max(1, ceil(chars / 4))`.
 * Tests can call it to predict what the fake will report.
 */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4))
}

/**
 * Flattens message content (a string, or an array of parts with a `text` field) to text.
 * Non-text parts are ignored.
 */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  let out = ''
  for (const part of content) {
    if (typeof part === 'string') out += part
    else if (isRecord(part) && typeof part.text === 'string') out += part.text
  }
  return out
}

/** Narrow `unknown` to a plain object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Splits a reply into word-sized stream deltas (keeps whitespace, at least one chunk). */
export function chunkText(text: string): string[] {
  const parts = text.match(/\s*\S+\s*/g) ?? []
  return parts.length > 0 ? parts : [text]
}

/**
 * Cuts `text` to fit `maxTokens` under {@link estimateTokens}. Returns whether it was cut.
 * A non-numeric limit means no limit.
 */
export function limitText(text: string, maxTokens: unknown): { text: string; truncated: boolean } {
  if (typeof maxTokens !== 'number' || estimateTokens(text) <= maxTokens) {
    return { text, truncated: false }
  }
  return { text: text.slice(0, Math.max(0, maxTokens) * 4), truncated: true }
}

/** Derives usage from the input/output text, then applies the override verbatim. */
export function resolveUsage(
  inputText: string,
  outputText: string,
  override: UsageOverride | undefined
): FakeUsage {
  return {
    inputTokens: override?.inputTokens ?? estimateTokens(inputText),
    outputTokens: override?.outputTokens ?? estimateTokens(outputText),
    cachedInputTokens: override?.cachedInputTokens ?? 0,
    cacheCreationInputTokens: override?.cacheCreationInputTokens ?? 0,
    reasoningTokens: override?.reasoningTokens ?? 0,
  }
}
