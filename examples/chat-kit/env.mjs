// The environment the chat examples read, validated once at start-up: AI Kit's preset plus the
// chat's own settings. A bad or missing variable throws ONE EnvError naming every problem.
import { aikitEnv, defineEnv, num } from '@aikit/core/env'
import { defaultPriceTable } from '@aikit/cost'
import { z } from 'zod'

/** The chat's own variables, beside their defaults. */
export const chatEnv = {
  /** Dollars each anonymous session may spend per UTC day. @default 0.5 */
  CHAT_DAILY_BUDGET_USD: num()
    .refine((usd) => usd > 0, 'expected a positive number of dollars')
    .default(0.5),
  /** Chat requests per minute per client IP (an IPv6 client: per /56 network). @default 20 */
  CHAT_RATE_LIMIT: num()
    .refine((n) => Number.isInteger(n) && n > 0, 'expected a positive integer')
    .default(20),
  /**
   * The Anthropic model asked for: one `@aikit/cost`'s price table has an Anthropic price for,
   * checked at start-up (the budget prices every call, the fake model's too: a model without a
   * price would fail every chat with 500 `UNKNOWN_MODEL`).
   * @default 'claude-haiku-4-5'
   */
  ANTHROPIC_MODEL: z
    .string()
    .min(1)
    .refine(
      (model) => defaultPriceTable().resolve(model)?.price.provider === 'anthropic',
      "expected an Anthropic model @aikit/cost's price table has a price for (e.g. claude-haiku-4-5)"
    )
    .default('claude-haiku-4-5'),
  /** Milliseconds between two words of the built-in fake model. @default 30 */
  FAKE_MODEL_DELAY_MS: num()
    .refine((ms) => ms >= 0, 'expected a number of milliseconds ≥ 0')
    .default(30),
}

/**
 * Validates `env` (e.g. `process.env`) against `aikitEnv` + `chatEnv`.
 * @param {Record<string, string | undefined>} env
 */
export function loadChatEnv(env) {
  return defineEnv({ ...aikitEnv, ...chatEnv }, { env })
}
