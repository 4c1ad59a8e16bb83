import type { AnswerPlan, FakeApi, UsageOverride } from './types.js'

/** The plan fields each API can honour (`model`, `usage` and `refusal` apply to all). */
const FIELDS_OF: Record<FakeApi, ReadonlySet<keyof AnswerPlan>> = {
  anthropic: new Set(['model', 'usage', 'refusal', 'stopReason', 'usageUpdates']),
  'openai-chat': new Set(['model', 'usage', 'refusal', 'finishReasons', 'choices']),
  'openai-responses': new Set(['model', 'usage', 'refusal', 'incompleteReason', 'failure']),
}

const PLAN_FIELDS = [
  'model',
  'usage',
  'refusal',
  'stopReason',
  'usageUpdates',
  'finishReasons',
  'choices',
  'incompleteReason',
  'failure',
] as const satisfies readonly (keyof AnswerPlan)[]

const USAGE_FIELDS = [
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'cacheCreationInputTokens',
  'reasoningTokens',
] as const satisfies readonly (keyof UsageOverride)[]

function checkKeys(value: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${where}: unknown field '${key}' (known: ${known.join(', ')})`)
    }
  }
}

function checkUsage(value: unknown, where: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${where}: must be an object of token counts`)
  }
  checkKeys(value, USAGE_FIELDS, where)
  for (const [key, count] of Object.entries(value)) {
    // Any number, a malformed one included: that is what a test of bad usage needs the fake to send.
    if (typeof count !== 'number') throw new TypeError(`${where}.${key}: must be a number`)
  }
}

const isText = (value: unknown): boolean => typeof value === 'string' && value.length > 0

/**
 * Checks a plan given to `answerNext` (a mistake in a test fails there, not as an odd answer).
 * @throws TypeError naming the field.
 */
export function checkPlan(plan: AnswerPlan): AnswerPlan {
  if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) {
    throw new TypeError('answerNext: the plan must be an object')
  }
  checkKeys(plan, PLAN_FIELDS, 'answerNext')
  for (const field of ['model', 'refusal', 'stopReason', 'incompleteReason'] as const) {
    if (plan[field] !== undefined && !isText(plan[field])) {
      throw new TypeError(`answerNext.${field}: must be a non-empty string`)
    }
  }
  if (plan.usage !== undefined) checkUsage(plan.usage, 'answerNext.usage')
  if (plan.usageUpdates !== undefined) {
    if (!Array.isArray(plan.usageUpdates)) {
      throw new TypeError('answerNext.usageUpdates: must be an array')
    }
    for (const [i, u] of plan.usageUpdates.entries()) checkUsage(u, `answerNext.usageUpdates[${i}]`)
  }
  if (
    plan.finishReasons !== undefined &&
    !(Array.isArray(plan.finishReasons) && plan.finishReasons.every(isText))
  ) {
    throw new TypeError('answerNext.finishReasons: must be an array of non-empty strings')
  }
  if (plan.choices !== undefined) checkChoices(plan.choices)
  if (plan.failure !== undefined) checkFailure(plan.failure)
  // Answers that cannot be one answer: the plan would pick one of them silently.
  for (const [a, b] of [
    ['choices', 'refusal'],
    ['failure', 'refusal'],
    ['failure', 'incompleteReason'],
  ] as const) {
    if (plan[a] !== undefined && plan[b] !== undefined) {
      throw new TypeError(`answerNext: '${a}' and '${b}' exclude each other`)
    }
  }
  return plan
}

function checkChoices(choices: unknown): void {
  const ok =
    Array.isArray(choices) &&
    choices.length > 0 &&
    choices.every(
      (c) => isText(c) || (Array.isArray(c) && c.length > 0 && c.every((d) => isText(d)))
    )
  if (!ok) {
    throw new TypeError(
      'answerNext.choices: must be a non-empty array of texts (a non-empty string, or a non-empty array of non-empty deltas)'
    )
  }
}

function checkFailure(failure: unknown): void {
  if (typeof failure !== 'object' || failure === null || Array.isArray(failure)) {
    throw new TypeError('answerNext.failure: must be an object { code, message }')
  }
  checkKeys(failure, ['code', 'message'], 'answerNext.failure')
  for (const key of ['code', 'message'] as const) {
    if (!isText((failure as Record<string, unknown>)[key])) {
      throw new TypeError(`answerNext.failure.${key}: must be a non-empty string`)
    }
  }
}

/**
 * The plan for an answer of `api` (an empty one when none is queued).
 * @throws Error when the plan has a field `api` cannot honour (the fake then answers 500).
 */
export function planFor(api: FakeApi, plan: AnswerPlan | undefined): AnswerPlan {
  if (plan === undefined) return {}
  for (const key of Object.keys(plan) as Array<keyof AnswerPlan>) {
    if (!FIELDS_OF[api].has(key)) {
      throw new Error(`answerNext: '${key}' does not apply to ${api} requests (fake provider)`)
    }
  }
  return plan
}

/** `setUsage`'s override with the plan's over it. */
export function usageOverride(
  base: UsageOverride | undefined,
  plan: AnswerPlan
): UsageOverride | undefined {
  return plan.usage === undefined ? base : { ...base, ...plan.usage }
}
