/**
 * @module prompt-guard
 * `promptGuard(options)`: checks LLM input and output with in-process rules (token budget,
 * injection heuristics after normalisation, PII, leaked secrets, canary words) and an optional
 * external detector (an ML classifier behind an async function). Each rule is `off`, `monitor`
 * (reported, passes), `redact` (the span is censored) or `block` (400 `PROMPT_INJECTION` naming
 * the rule). Usable as functions (`checkInput` / `checkOutput`, for LLM client wrappers) and as
 * HTTP middleware (`guard.middleware()`).
 *
 * The middleware reads every request body and checks it as JSON: a body with another content
 * type, or without one, is refused with 415 (a Next route's `req.json()` parses a body whatever
 * its type, so nothing with a body passes unchecked); only a request without a body passes
 * unread. What `redact` rules censor reaches the route: the parsed body is changed and handed to
 * the adapter re-serialised (`REPLACE_BODY`), for the routes that parse the bytes themselves; and
 * when `validate({ body })` ran first, the redacted body is validated again, so
 * `ctx.state.validated.body` holds the schema's output for it (400 `INVALID_REQUEST` if the
 * schema no longer accepts it).
 *
 * Findings never carry the matched text (it may be personal data or the attack itself).
 */
import {
  type Context,
  errorBody,
  InvalidOptionsError,
  isAikitError,
  type Middleware,
} from '@aikit/core'
import { REPLACE_BODY, rejectUnknownOptions } from '@aikit/core/adapter'
import { PromptInjectionError } from './data-errors.js'
import { findInjections, type InjectionRuleId, rot13 } from './prompt-injection.js'
import {
  extractPromptInputs,
  type FoundInput,
  fieldValue,
  isMessageField,
  unreadableInputError,
} from './prompt-input.js'
import {
  isMessageList,
  mapMessageTexts,
  messageTexts,
  type PromptItem,
  type PromptMessage,
} from './prompt-messages.js'
import {
  foldApart,
  foldText,
  type HiddenSource,
  normalizeText,
  stripHidingInvisible,
  stripTagCharacters,
  wordReadings,
} from './prompt-normalize.js'
import { findPii, type PiiMatch, type PiiRuleId } from './prompt-pii.js'
import { findRunInjections } from './prompt-split-parts.js'
import { DEFAULT_SCANNER, findSecrets, redactSecrets } from './redact-patterns.js'
import { revalidateBody } from './validate.js'
import './prompt-guard-state.js'

export { PromptInjectionError } from './data-errors.js'

/** What a rule does when it matches. */
export type GuardAction = 'off' | 'monitor' | 'redact' | 'block'

/** Every rule id a finding can carry. */
export type GuardRuleId =
  | 'input.max-tokens'
  | InjectionRuleId
  | 'obfuscation.invisible'
  | 'obfuscation.tag-characters'
  | 'obfuscation.mixed-script'
  | PiiRuleId
  | 'secret'
  | 'output.canary'
  | 'detector'
  | 'detector.error'

/** Default action of each rule. */
export const DEFAULT_GUARD_RULES: Readonly<Record<GuardRuleId, GuardAction>> = {
  'input.max-tokens': 'block',
  'injection.override': 'block',
  'injection.prompt-leak': 'block',
  'injection.jailbreak': 'block',
  'injection.role-markers': 'block',
  'injection.fake-turn': 'monitor',
  'obfuscation.invisible': 'monitor',
  'obfuscation.tag-characters': 'monitor',
  'obfuscation.mixed-script': 'monitor',
  'pii.email': 'monitor',
  'pii.phone': 'monitor',
  'pii.card': 'monitor',
  'pii.iban': 'monitor',
  secret: 'redact',
  'output.canary': 'block',
  detector: 'block',
  'detector.error': 'monitor',
}

/** Verdict of an external detector: a boolean, or a flag with an optional score and label. */
export type DetectorVerdict = boolean | { flagged: boolean; score?: number; label?: string }

/** An external detector (llm-guard, Prompt Guard ONNX, Lakera, …). Must honour `signal`. */
export type PromptDetector = (input: {
  /** The text as given. */
  text: string
  /** The normalised text (NFKC, invisible characters removed, look-alikes folded, lower-case). */
  normalized: string
  kind: 'input' | 'output'
  signal: AbortSignal
}) => Promise<DetectorVerdict>

/** Where a finding was seen. */
export type FindingSource = 'text' | HiddenSource | 'rot13' | 'detector'

/** One matched rule. Never holds the matched text. */
export interface GuardFinding {
  ruleId: GuardRuleId
  /** The action taken (after `mode`). */
  action: Exclude<GuardAction, 'off'>
  /** Where it was seen: plain text, a decoded hidden text, or the detector. */
  source: FindingSource
  /** How many spans or characters matched, when countable. */
  count?: number
  /** The detector's score, if it gave one. */
  score?: number
  /** The detector's label, if it gave one. */
  label?: string
}

/** The outcome of one check. */
export interface GuardResult {
  /** False when a `block` rule matched. */
  allowed: boolean
  /** Ids of the blocking rules (empty when allowed). */
  blockedBy: GuardRuleId[]
  findings: GuardFinding[]
  /** The text with `redact` rules applied (messages: their checked texts joined by newlines). */
  text: string
  /** Estimated input tokens (characters ÷ 3, rounded up). */
  estimatedTokens: number
}

/** The outcome of `checkInput` for messages: also the messages with `redact` rules applied. */
export interface InputGuardResult<M extends PromptItem = PromptMessage> extends GuardResult {
  /** A redacted copy when something was redacted, else the same array; undefined for text. */
  messages: M[] | undefined
}

/** Options of `promptGuard`. */
export interface PromptGuardOptions {
  /**
   * Largest input accepted, in estimated tokens: characters ÷ 3, rounded up, over every message
   * (all roles) and, in the middleware, over every input field of the body together. That
   * over-counts English (about 4 characters per token), so it errs towards refusing early; use
   * `@aikit/cost`'s tokenizer for exact budgets. @default 32_000
   */
  maxInputTokens?: number
  /** Per-rule actions, merged over `DEFAULT_GUARD_RULES`. @default {} */
  rules?: Partial<Record<GuardRuleId, GuardAction>>
  /** `monitor` turns every `block` into `monitor` (shadow mode to tune rules). @default 'enforce' */
  mode?: 'enforce' | 'monitor'
  /**
   * Roles whose messages are checked for injection and PII. A Responses item without a role that
   * holds a tool's result (`function_call_output`, `shell_call_output`, `mcp_call`,
   * `mcp_list_tools`, …) counts as `tool`, a `reasoning` item as `assistant`; an Anthropic
   * client tool's `tool_result` block and a server tool's result block (`web_search_tool_result`,
   * `web_fetch_tool_result`, the code execution results, `mcp_tool_result`, …) as `tool`, in a
   * message of any role, and so do the Vercel AI SDK's tool results (a `tool-result` part, a UI
   * message's `tool-<name>` / `dynamic-tool` part); in the middleware a body's `system` (Anthropic) or `instructions`
   * (Responses) as `system`, and the `variables` of a Responses stored `prompt` as `user`.
   * @default ['user', 'tool', 'function']
   */
  roles?: string[]
  /** Secret words planted in the system prompt; seeing one in output means it leaked. @default [] */
  canaries?: string[]
  /** Replacement for redacted spans. @default '[redacted]' */
  censor?: string
  /** An external detector run on every checked text (after the built-in rules). @default none */
  detector?: PromptDetector
  /** Time allowed to the detector before it counts as failed, in ms (at most 2^31 - 1). @default 2000 */
  detectorTimeoutMs?: number
  /** Called with the findings of every check that found something (for logs and metrics). @default none */
  onFinding?: (event: {
    kind: 'input' | 'output'
    findings: GuardFinding[]
    allowed: boolean
  }) => void
}

/** Every key of `PromptGuardOptions` (unknown keys are refused). */
const PROMPT_GUARD_OPTION_KEYS = [
  'maxInputTokens',
  'rules',
  'mode',
  'roles',
  'canaries',
  'censor',
  'detector',
  'detectorTimeoutMs',
  'onFinding',
] as const satisfies readonly (keyof PromptGuardOptions)[]

/** Options of `guard.middleware()`. */
export interface PromptGuardMiddlewareOptions {
  /**
   * Picks the LLM input from the JSON body: a text, a message list, or undefined for nothing to
   * check. Anything else it returns is refused with 400 `INVALID_REQUEST`.
   * @default each of `body.messages` (a message list), `body.input` (a text or a message list,
   * the OpenAI Responses items included), `body.prompt` (a text; a legacy Completions list of
   * texts, each checked on its own; or a Responses stored prompt whose `variables` are read as
   * `user` messages), and the system prompt `body.system` (a text or text blocks) /
   * `body.instructions` (a text) read as a `system` message, that is present, all checked as one
   * input; a `messages` or `input` that is present (not null) but not of these
   * shapes, a `prompt` list holding anything but texts (token ids), or a `prompt.variables` that
   * is not an object of texts and parts, is refused with 400 `INVALID_REQUEST`
   */
  extract?: (body: unknown, ctx: Context) => string | PromptItem[] | undefined
}

/** Every key of `PromptGuardMiddlewareOptions` (unknown keys are refused). */
const PROMPT_GUARD_MIDDLEWARE_OPTION_KEYS = [
  'extract',
] as const satisfies readonly (keyof PromptGuardMiddlewareOptions)[]

/** The guard: functions for LLM wrappers, and a middleware. */
export interface PromptGuard {
  /**
   * Checks a prompt or a message list (chat messages, and OpenAI Responses items without a role:
   * their `output` is checked as role `tool`). Never throws for content; see `assertInput`
   * (throws a `TypeError` for an input of another shape). An input over `maxInputTokens` (when
   * that rule blocks) is refused before the other rules run: its result has `text: ''` and
   * `messages: undefined` (nothing was checked or redacted).
   */
  checkInput<M extends PromptItem>(input: string | M[]): Promise<InputGuardResult<M>>
  /** Checks model output (secrets, PII, canaries, detector). */
  checkOutput(text: string): Promise<GuardResult>
  /** Like `checkInput`, but throws `PromptInjectionError` when blocked. */
  assertInput<M extends PromptItem>(input: string | M[]): Promise<InputGuardResult<M>>
  /** Like `checkOutput`, but throws `PromptInjectionError` when blocked. */
  assertOutput(text: string): Promise<GuardResult>
  /**
   * HTTP middleware checking the request's LLM input (400 `PROMPT_INJECTION` when blocked; 415
   * for a body that is not JSON or has no content type; 400 `INVALID_REQUEST` for an input field
   * it cannot read; a request without a body passes). By default every input field of the body
   * (`messages`, `input`, `prompt`, a stored prompt's `variables`; `system` and `instructions` as
   * a `system` message) is checked, as one input. Redacted input is written back into each
   * field, in its shape; after `validate({ body })`, the redacted body is validated again so
   * `ctx.state.validated.body` carries the redaction (400 `INVALID_REQUEST` if the schema no
   * longer accepts it, e.g. a `max()` the censor outgrew).
   */
  middleware(options?: PromptGuardMiddlewareOptions): Middleware
}

const DEFAULTS = {
  maxInputTokens: 32_000,
  mode: 'enforce' as const,
  roles: ['user', 'tool', 'function'],
  censor: '[redacted]',
  detectorTimeoutMs: 2000,
}
const ACTIONS: ReadonlySet<string> = new Set(['off', 'monitor', 'redact', 'block'])

/** Estimated tokens of `chars` characters: ⌈chars ÷ 3⌉ (documented over-estimate). */
export function estimateTokensFromChars(chars: number): number {
  return Math.ceil(chars / 3)
}

function positiveInt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionsError(field, 'must be a positive integer')
  }
  return value
}

/** Creates a prompt guard. Options are validated here. */
export function promptGuard(options: PromptGuardOptions = {}): PromptGuard {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, PROMPT_GUARD_OPTION_KEYS)
  const maxInputTokens = positiveInt(
    options.maxInputTokens ?? DEFAULTS.maxInputTokens,
    'maxInputTokens'
  )
  const mode = options.mode ?? DEFAULTS.mode
  if (mode !== 'enforce' && mode !== 'monitor') {
    throw new InvalidOptionsError('mode', "must be 'enforce' or 'monitor'")
  }
  const actions: Record<GuardRuleId, GuardAction> = { ...DEFAULT_GUARD_RULES }
  if (options.rules !== undefined) {
    if (typeof options.rules !== 'object' || options.rules === null) {
      throw new InvalidOptionsError('rules', 'must be an object { ruleId: action }')
    }
    for (const [id, action] of Object.entries(options.rules)) {
      // Own keys only: `in` would accept inherited names (`toString`, `constructor`).
      if (!Object.hasOwn(DEFAULT_GUARD_RULES, id)) {
        throw new InvalidOptionsError(`rules.${id}`, 'unknown rule id')
      }
      if (typeof action !== 'string' || !ACTIONS.has(action)) {
        throw new InvalidOptionsError(
          `rules.${id}`,
          "must be 'off', 'monitor', 'redact' or 'block'"
        )
      }
      actions[id as GuardRuleId] = action as GuardAction
    }
  }
  const roleList = options.roles ?? DEFAULTS.roles
  if (!Array.isArray(roleList) || roleList.some((r) => typeof r !== 'string')) {
    throw new InvalidOptionsError('roles', 'must be an array of role names')
  }
  const roles = new Set(roleList)
  const canaries = options.canaries ?? []
  if (!Array.isArray(canaries) || canaries.some((c) => typeof c !== 'string' || c.length < 6)) {
    throw new InvalidOptionsError('canaries', 'must be an array of strings of 6+ characters')
  }
  // Each canary as the output is compared: folded (case, accents, look-alikes), dashes unified.
  const canaryForms = canaries.map((c) => unifyDashes(foldText(c)))
  const censor = options.censor ?? DEFAULTS.censor
  if (typeof censor !== 'string') throw new InvalidOptionsError('censor', 'must be a string')
  const detector = options.detector
  if (detector !== undefined && typeof detector !== 'function') {
    throw new InvalidOptionsError('detector', 'must be an async function')
  }
  const detectorTimeoutMs = positiveInt(
    options.detectorTimeoutMs ?? DEFAULTS.detectorTimeoutMs,
    'detectorTimeoutMs'
  )
  // A timer's longest delay: Node fires a longer one after 1 ms, failing every detector call.
  if (detectorTimeoutMs > 2_147_483_647) {
    throw new InvalidOptionsError(
      'detectorTimeoutMs',
      'must be at most 2147483647 (the longest timer delay)'
    )
  }
  const onFinding = options.onFinding
  if (onFinding !== undefined && typeof onFinding !== 'function') {
    throw new InvalidOptionsError('onFinding', 'must be a function')
  }
  const piiRules = new Set(
    (['pii.email', 'pii.phone', 'pii.card', 'pii.iban'] as const).filter(
      (id) => actions[id] !== 'off'
    )
  )

  /** The effective action of a rule (`mode: 'monitor'` downgrades blocks). */
  const actionOf = (id: GuardRuleId): GuardAction => {
    const a = actions[id]
    return mode === 'monitor' && a === 'block' ? 'monitor' : a
  }

  /** Records a finding (once per rule and source) unless the rule is off. */
  function addFinding(
    findings: GuardFinding[],
    ruleId: GuardRuleId,
    source: FindingSource,
    count?: number
  ): void {
    const action = actionOf(ruleId)
    if (action === 'off') return
    if (findings.some((f) => f.ruleId === ruleId && f.source === source)) return
    const finding: GuardFinding = { ruleId, action, source }
    if (count !== undefined) finding.count = count
    findings.push(finding)
  }

  /** Runs the rules on one text; returns its findings and its redacted form. */
  function analyze(
    text: string,
    kind: 'input' | 'output',
    findings: GuardFinding[]
  ): { text: string; normalized: string } {
    // An empty text holds nothing any rule could find, and costs no token of the budget: reading
    // it anyway cost ~10 µs each, so a 1 MB body of `""` parts (350 000 of them) blocked the
    // event loop for seconds while the budget saw 0 characters.
    if (text === '') return { text, normalized: '' }
    const add = (ruleId: GuardRuleId, source: FindingSource, count?: number): void =>
      addFinding(findings, ruleId, source, count)
    let out = text
    let normalized = ''
    if (kind === 'input') {
      const norm = normalizeText(text)
      normalized = norm.folded
      for (const id of findInjections(norm)) add(id, 'text')
      if (norm.invisibleCount > 0) {
        // Invisible characters as word breaks: the other reading (see `foldApart`).
        const folded = foldApart(text)
        const apart = { folded, ...wordReadings(folded), tagCount: norm.tagCount }
        for (const id of findInjections(apart)) add(id, 'text')
      }
      for (const hidden of norm.hidden) {
        const forms = normalizeText(hidden.text)
        for (const id of findInjections(forms)) add(id, hidden.source)
      }
      for (const id of findInjections({ folded: '', ...wordReadings(rot13(norm.folded)) })) {
        add(id, 'rot13')
      }
      if (norm.invisibleCount > 0) add('obfuscation.invisible', 'text', norm.invisibleCount)
      if (norm.tagCount > 0) add('obfuscation.tag-characters', 'text', norm.tagCount)
      if (norm.mixedScript) add('obfuscation.mixed-script', 'text')
      // `redact` on the obfuscation rules strips the hiding characters themselves.
      if (norm.invisibleCount > 0 && actionOf('obfuscation.invisible') === 'redact') {
        out = stripHidingInvisible(out)
      }
      if (norm.tagCount > 0 && actionOf('obfuscation.tag-characters') === 'redact') {
        out = stripTagCharacters(out)
      }
    } else {
      const norm = normalizeText(text)
      normalized = norm.folded
      if (canaryForms.length > 0) {
        // The output folded as the canaries are, dashes unified (models write U+2011 for `-`),
        // and the text hidden in tag characters, where a canary can be smuggled out.
        const seen = unifyDashes(normalized)
        const smuggled = norm.hidden
          .filter((h) => h.source === 'tag-characters')
          .map((h) => unifyDashes(foldText(h.text)))
        for (let i = 0; i < canaries.length; i++) {
          const form = canaryForms[i]!
          if (text.includes(canaries[i]!) || seen.includes(form)) add('output.canary', 'text')
          else if (smuggled.some((t) => t.includes(form))) add('output.canary', 'tag-characters')
        }
      }
    }
    const secrets = findSecrets(out, DEFAULT_SCANNER)
    if (secrets.length > 0) {
      add('secret', 'text', secrets.length)
      if (actionOf('secret') === 'redact') out = redactSecrets(out, DEFAULT_SCANNER, censor, true)
    }
    if (piiRules.size > 0) {
      const pii = findPii(out, piiRules)
      if (pii.length > 0) {
        const counts = new Map<PiiRuleId, number>()
        for (const m of pii) counts.set(m.id, (counts.get(m.id) ?? 0) + 1)
        for (const [id, n] of counts) add(id, 'text', n)
        const spans = pii
          .filter((m) => actionOf(m.id) === 'redact')
          .sort((a, b) => a.index - b.index)
        // Overlapping spans (an IBAN whose inner digits pass as a card) are censored as their
        // union: none of either is left. The text is rebuilt once (a splice per span copied the
        // whole text each time: quadratic in the number of spans).
        let rebuilt = ''
        let from = 0
        for (let k = 0; k < spans.length; ) {
          const start = (spans[k] as PiiMatch).index
          let end = start + (spans[k] as PiiMatch).length
          for (k++; k < spans.length && (spans[k] as PiiMatch).index < end; k++) {
            end = Math.max(end, (spans[k] as PiiMatch).index + (spans[k] as PiiMatch).length)
          }
          rebuilt += out.slice(from, start) + censor
          from = end
        }
        if (spans.length > 0) out = rebuilt + out.slice(from)
      }
    }
    return { text: out, normalized }
  }

  async function runDetector(
    text: string,
    normalized: string,
    kind: 'input' | 'output',
    findings: GuardFinding[]
  ): Promise<void> {
    if (detector === undefined || actionOf('detector') === 'off') return
    const controller = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const verdict = await Promise.race([
        detector({ text, normalized, kind, signal: controller.signal }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            controller.abort()
            reject(new Error('detector timeout'))
          }, detectorTimeoutMs)
        }),
      ])
      const flagged = typeof verdict === 'boolean' ? verdict : verdict?.flagged === true
      if (flagged) {
        const finding: GuardFinding = {
          ruleId: 'detector',
          action: actionOf('detector') as Exclude<GuardAction, 'off'>,
          source: 'detector',
        }
        if (typeof verdict === 'object' && verdict !== null) {
          if (typeof verdict.score === 'number') finding.score = verdict.score
          if (typeof verdict.label === 'string') finding.label = verdict.label.slice(0, 64)
        }
        findings.push(finding)
      }
    } catch {
      // A failing detector must not take the app down: reported, the built-in verdict stands.
      const action = actionOf('detector.error')
      if (action !== 'off') findings.push({ ruleId: 'detector.error', action, source: 'detector' })
    } finally {
      if (timer !== undefined) clearTimeout(timer)
    }
  }

  function finish(
    kind: 'input' | 'output',
    findings: GuardFinding[],
    text: string,
    estimatedTokens: number
  ): GuardResult {
    const blockedBy = findings.filter((f) => f.action === 'block').map((f) => f.ruleId)
    const result: GuardResult = {
      allowed: blockedBy.length === 0,
      blockedBy: [...new Set(blockedBy)],
      findings,
      text,
      estimatedTokens,
    }
    if (findings.length > 0 && onFinding !== undefined) {
      try {
        onFinding({ kind, findings, allowed: result.allowed })
      } catch {
        // A failing log hook must not change the verdict.
      }
    }
    return result
  }

  /**
   * Checks several inputs as one: one token budget over all of them, one list of findings. Each
   * input keeps its own shape in `redacted` (undefined when the budget refused them unchecked).
   */
  async function checkInputs<M extends PromptItem>(
    inputs: readonly (string | M[])[]
  ): Promise<{ result: GuardResult; redacted: (string | M[])[] | undefined }> {
    const findings: GuardFinding[] = []
    let totalChars = 0
    for (const input of inputs) {
      if (typeof input === 'string') totalChars += scannedLength(input)
      else if (isMessageList(input)) {
        for (const t of messageTexts(input, undefined)) totalChars += scannedLength(t)
      } else {
        throw new TypeError(
          'checkInput expects a string or an array of { role, content } messages and { type } items'
        )
      }
    }
    const estimatedTokens = estimateTokensFromChars(totalChars)
    if (estimatedTokens > maxInputTokens && actionOf('input.max-tokens') === 'block') {
      // Refused for its size whatever else it holds: the cheap verdict comes first, so an
      // oversized body costs no scan (nor a detector call). Nothing was checked or redacted.
      findings.push({ ruleId: 'input.max-tokens', action: 'block', source: 'text' })
      return { result: finish('input', findings, '', estimatedTokens), redacted: undefined }
    }
    const checked: string[] = []
    // The texts for the detector, when one runs (kept only then: one entry per text).
    const detects = detector !== undefined && actionOf('detector') !== 'off'
    const pending: [string, string][] = []
    const redacted = inputs.map((input): string | M[] => {
      if (typeof input === 'string') {
        const r = analyze(input, 'input', findings)
        checked.push(r.text)
        if (detects) pending.push([input, r.normalized])
        return r.text
      }
      // The texts the model reads as one run (a message's parts, consecutive messages of one
      // role) are read together once more, for phrases cut between them.
      const texts: [number, string][] = []
      const messages = mapMessageTexts(input, roles, (t, item) => {
        texts.push([item, t])
        const r = analyze(t, 'input', findings)
        if (detects) pending.push([t, r.normalized])
        return r.text
      })
      for (const { id, source } of findRunInjections(input, texts)) {
        addFinding(findings, id, source)
      }
      // One push per text: spread as arguments, 120 000+ texts overflowed the call stack.
      for (const t of messageTexts(messages, roles)) checked.push(t)
      return messages
    })
    for (const [t, n] of pending) await runDetector(t, n, 'input', findings)
    if (estimatedTokens > maxInputTokens) {
      const action = actionOf('input.max-tokens')
      if (action !== 'off') findings.unshift({ ruleId: 'input.max-tokens', action, source: 'text' })
    }
    return { result: finish('input', findings, checked.join('\n'), estimatedTokens), redacted }
  }

  async function checkInput<M extends PromptItem>(
    input: string | M[]
  ): Promise<InputGuardResult<M>> {
    const { result, redacted } = await checkInputs([input])
    const out = redacted?.[0]
    return { ...result, messages: typeof out === 'string' ? undefined : out }
  }

  async function checkOutput(text: string): Promise<GuardResult> {
    if (typeof text !== 'string') throw new TypeError('checkOutput expects a string')
    const findings: GuardFinding[] = []
    const r = analyze(text, 'output', findings)
    await runDetector(text, r.normalized, 'output', findings)
    return finish('output', findings, r.text, estimateTokensFromChars(text.length))
  }

  const guard: PromptGuard = {
    checkInput,
    checkOutput,
    async assertInput(input) {
      const result = await checkInput(input)
      if (!result.allowed) throw new PromptInjectionError(result.blockedBy)
      return result
    },
    async assertOutput(text) {
      const result = await checkOutput(text)
      if (!result.allowed) throw new PromptInjectionError(result.blockedBy)
      return result
    },
    middleware(mwOptions = {}) {
      if (typeof mwOptions !== 'object' || mwOptions === null || Array.isArray(mwOptions)) {
        throw new InvalidOptionsError('options', 'must be an object')
      }
      rejectUnknownOptions(mwOptions, PROMPT_GUARD_MIDDLEWARE_OPTION_KEYS)
      const extract = mwOptions.extract
      if (extract !== undefined && typeof extract !== 'function') {
        throw new InvalidOptionsError('extract', 'must be a function (body, ctx) => input')
      }
      /** The inputs of a body: every default field, or what `extract` picked (its field unknown). */
      const inputsOf = (body: unknown, ctx: Context): Found[] => {
        if (extract === undefined) return extractPromptInputs(body)
        const input = extract(body, ctx)
        if (input === undefined) return []
        if (typeof input !== 'string' && !isMessageList(input)) throw unreadableInputError()
        return [{ field: undefined, value: input }]
      }
      return async function promptGuardMiddleware(ctx, next) {
        // Only a request without a body is let through unread. A body must be JSON: any other
        // content type, or none at all, is 415 (`ctx.json()` refuses it), since a route may parse
        // it anyway (a Next route's `req.json()` ignores the content type).
        if (!mayHaveBody(ctx)) return next()
        let body: unknown
        try {
          body = await ctx.json()
        } catch (error) {
          if (!isAikitError(error)) throw error
          ctx.respond(error.status, errorBody(error))
          return
        }
        let found: Found[]
        try {
          found = inputsOf(body, ctx)
        } catch (error) {
          if (!isAikitError(error)) throw error
          ctx.respond(error.status, errorBody(error))
          return
        }
        if (found.length === 0) return next()
        const { result, redacted } = await checkInputs(found.map((f) => f.value))
        const lists = redacted?.filter(
          (r, i): r is PromptItem[] => typeof r !== 'string' && isMessageField(found[i]?.field)
        )
        ctx.state.promptGuard = { ...result, messages: lists?.[0] }
        if (!result.allowed) {
          const error = new PromptInjectionError(result.blockedBy)
          ctx.respond(error.status, errorBody(error))
          return
        }
        if (redacted !== undefined && applyRedaction(body, found, redacted)) {
          replaceBody(ctx, body)
          // A `validate({ body })` that ran first holds the schema's output for the unredacted
          // body: it is parsed again, so the typed data carries the redaction too.
          const invalid = await revalidateBody(ctx, body)
          if (invalid !== undefined) {
            ctx.respond(invalid.status, errorBody(invalid))
            return
          }
        }
        await next()
      }
    },
  }
  return guard
}

const NON_ASCII = /[\u0080-\uffff]/

/**
 * The characters of `text` the rules scan: its NFKC form, which some characters multiply (U+FDFA
 * becomes 18), so that the token budget bounds the work; the text itself when it cannot grow
 * (ASCII: no NFKC pass spent on it).
 */
function scannedLength(text: string): number {
  if (!NON_ASCII.test(text)) return text.length
  return Math.max(text.length, text.normalize('NFKC').length)
}

/** Every dash (`\p{Pd}`: hyphens, non-breaking hyphen, en and em dashes) and the minus sign as `-`. */
function unifyDashes(text: string): string {
  return text.replace(/[\p{Pd}\u2212]/gu, '-')
}

/** An input the middleware checks, and the body field it came from (unknown for `extract`). */
type Found = {
  field: FoundInput['field'] | undefined
  value: string | PromptItem[]
  index?: number
}

/**
 * Writes redacted inputs back into the parsed body, so the route reads the censored version.
 * Returns whether the body changed.
 */
function applyRedaction(
  body: unknown,
  found: readonly Found[],
  redacted: readonly (string | PromptItem[])[]
): boolean {
  if (typeof body !== 'object' || body === null) return false
  const b = body as Record<string, unknown>
  let changed = false
  found.forEach(({ field, value, index }, i) => {
    const out = redacted[i]
    if (out === undefined || out === value) return
    if (field !== undefined) b[field] = fieldValue(field, out, b[field], index)
    else {
      const key = fieldHolding(b, value)
      if (key === undefined) return
      b[key] = out
    }
    changed = true
  })
  return changed
}

/** The field an `extract` result came from, when it is one of the default fields as it is. */
function fieldHolding(
  b: Record<string, unknown>,
  value: string | PromptItem[]
): string | undefined {
  const fields = typeof value === 'string' ? ['prompt', 'input'] : ['messages', 'input']
  return fields.find((f) => b[f] === value)
}

const encoder = new TextEncoder()

/**
 * Makes the redacted body the one every later reader gets: `ctx.json()`, and the route's own
 * read of the bytes (Fastify's parser, a Next route's `req.json()`), which would otherwise parse
 * the bytes as received. The body is re-serialised (`JSON.stringify`): its formatting, and
 * numbers beyond double precision, are not kept.
 */
function replaceBody(ctx: Context, body: unknown): void {
  const replace = (
    ctx as Context & { [REPLACE_BODY]?: (value: unknown, bytes: Uint8Array) => void }
  )[REPLACE_BODY]
  if (typeof replace === 'function') replace.call(ctx, body, encoder.encode(JSON.stringify(body)))
}

/**
 * False only when no body can follow: `Content-Length: 0`; no length header on a method that
 * carries none (GET, HEAD, OPTIONS, DELETE, TRACE); or, on any other method, no length header and
 * no Content-Type over HTTP/1.x (which then has no body).
 */
function mayHaveBody(ctx: Context): boolean {
  if (ctx.header('transfer-encoding') !== undefined) return true
  const length = ctx.header('content-length')
  if (length !== undefined) return length.trim() !== '0'
  if (BODYLESS_METHODS.has(ctx.method)) return false
  // Neither header: over HTTP/1.x there is no body (RFC 9112 §6.3, what `curl -X POST` sends). A
  // body without a length comes only over HTTP/2 (its `:method` pseudo-header tells it), or with
  // a Content-Type: those are checked.
  return ctx.header('content-type') !== undefined || isHttp2(ctx)
}

/** Whether the request came over Node's HTTP/2 (pseudo-headers; a Web `Headers` refuses the name). */
function isHttp2(ctx: Context): boolean {
  try {
    return ctx.header(':method') !== undefined
  } catch {
    return false
  }
}

const BODYLESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE'])
