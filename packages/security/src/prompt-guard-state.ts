/**
 * @module prompt-guard-state
 * Types `ctx.state.promptGuard` (set by `guard.middleware()`) by declaration merging.
 */
import type { InputGuardResult } from './prompt-guard.js'
import type { PromptItem } from './prompt-messages.js'

declare module '@aikit/core' {
  interface AikitState {
    /**
     * The prompt guard's verdict on this request's LLM input (findings, redacted messages; a
     * Responses `input` list may hold items without a role).
     */
    promptGuard?: InputGuardResult<PromptItem>
  }
}
