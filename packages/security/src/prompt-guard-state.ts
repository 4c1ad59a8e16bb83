/**
 * @module prompt-guard-state
 * Types `ctx.state.promptGuard` (set by `guard.middleware()`) by declaration merging.
 */
import type { InputGuardResult } from './prompt-guard.js'
import type { PromptItem } from './prompt-messages.js'

declare module '@aikit/core' {
  interface AikitState {
    /**
     * The prompt guard's verdict on this request's LLM input: the findings over every input
     * field, and in `messages` the first message list checked (`body.messages`, else a list
     * `body.input`), redacted; a Responses `input` list may hold items without a role. The body
     * itself carries the redaction of every field.
     */
    promptGuard?: InputGuardResult<PromptItem>
  }
}
