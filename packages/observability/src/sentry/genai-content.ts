/**
 * @module genai-content
 * Which span attributes hold GenAI content (prompts, completions, tool arguments and results),
 * kept from Sentry unless `allowGenAiContent`: the `gen_ai.*` names of the OTel and Sentry
 * conventions, and the `ai.*` names the Vercel AI SDK (up to v6) sets on its OpenTelemetry spans,
 * which @sentry/conventions lists as their aliases (`ai.prompt`, `ai.response.text`,
 * `ai.toolCall.args`…) and which @sentry/node v11 sends as they are. @sentry/node v10 renames
 * some of them on the AI SDK's spans (`ai.response.object` to `gen_ai.response.object`, which
 * then holds the generated object) and moves the rest under `vercel.ai.*` (`vercel.ai.prompt`).
 * Tool definitions count as content: Sentry's own integrations record `gen_ai.tool.definitions`
 * only when told to record inputs (they go to the model with the prompt, descriptions included).
 */

/**
 * Words that name GenAI content (prompts, messages, completions, embeddings input, system prompts,
 * tool arguments, calls and results, memory queries) in an attribute name's segments. Matched by
 * what the name says it holds, not a list of today's names: OTel and Sentry keep adding content
 * attributes, and a new one must not slip through.
 */
const CONTENT_WORDS = new Set([
  'prompt',
  'prompts',
  'completion',
  'completions',
  'input',
  'output',
  'message',
  'messages',
  'text',
  'instructions',
  'arguments',
  'result',
  'results',
  'tool_calls',
  'choice',
  'choices',
  'query',
  'records',
  'content',
  // `gen_ai.retrieval.documents` (OTel): the documents a retrieval returned.
  'documents',
  // `gen_ai.tool.definitions`, `gen_ai.request.available_tools` (v10's name for `ai.prompt.tools`).
  'definitions',
  'tools',
  // `gen_ai.response.object`: @sentry/node v10 puts the AI SDK's generated object there.
  'object',
])
/**
 * More words of the `ai.*` names: the AI SDK's (`ai.toolCall.args`, `ai.response.object`,
 * `ai.response.reasoning`, `ai.value(s)` and `ai.embedding(s)` of embed calls) and
 * @sentry/conventions' older `ai.*` aliases (`ai.texts`, `ai.preamble`, `ai.responses`,
 * `ai.documents`, `ai.search_queries`, `ai.citations`). Not applied to `gen_ai.*`, where some of
 * them name metadata (`gen_ai.embeddings.dimension.count`).
 */
const AI_SDK_CONTENT_WORDS = new Set([
  ...CONTENT_WORDS,
  'args',
  'reasoning',
  'value',
  'values',
  'embedding',
  'embeddings',
  'texts',
  'preamble',
  'responses',
  'documents',
  'queries',
  'citations',
])
/**
 * Metadata whose names hold a content word: a prompt template's name, the output type asked for
 * (`text`, `json`), how many choices were asked for, a tool result's byte length. Exact names only:
 * a rule such as "ends in `.name` or `.count`" would keep `gen_ai.prompt.variable.name` (a prompt
 * variable's value) or a tool argument flattened as `gen_ai.tool.call.arguments.count`.
 */
const METADATA_NAMES = new Set([
  'gen_ai.prompt.name',
  'gen_ai.output.type',
  'gen_ai.request.choice.count',
  'gen_ai.tool.call.result.size',
])
/** Segments that hold a count (`prompt_tokens`, `input_tokens`, `window_size`): metadata, kept. */
const COUNT_SEGMENT = /_(?:tokens|size|count)$/
/**
 * Words that make an `ai.*` segment a count or a rate (`promptTokens`, `prompt_tokens`,
 * `avgCompletionTokensPerSecond`, `inputTokenDetails`): metadata, kept.
 */
const COUNT_WORDS = new Set(['token', 'tokens', 'size', 'count'])

/** `gen_ai.`, or the AI SDK's `ai.` (`vercel.ai.` once @sentry/node v10 has moved it). */
const AI_PREFIX = /^(?:gen_ai\.|(?:vercel\.)?ai\.)(?=.)/i
/**
 * The content attributes of Sentry's MCP server spans and their `anthropic.*` alias
 * (@sentry/conventions): tool results (`mcp.tool.result.content`, `mcp.tool.result.<key>.content`),
 * prompt results (`mcp.prompt.result.message_content`, `mcp.prompt.result.<key>.content`, and
 * `mcp.prompt.result.description`, recorded only with `recordOutputs`), the request's arguments
 * (`mcp.request.argument.<key>`: a tool call's arguments) and free-text messages
 * (`mcp.logging.message`, `mcp.progress.message`), and `anthropic.tool_result.content`. Names,
 * ids, counts, types and `is_error` stay (`mcp.tool.result.content_type` is metadata). Also the
 * LangChain integration's `langchain.chain.inputs` / `langchain.chain.outputs` (recorded only with
 * `recordInputs` / `recordOutputs`).
 */
const OTHER_CONTENT =
  /^(?:mcp\.(?:.+\.)?(?:content|message_content|message|argument)(?:\.|$)|mcp\.prompt\.result\.description$|anthropic\.tool_result\.content$|langchain\.(?:.+\.)?(?:inputs|outputs)$)/i

const verdicts = new Map<string, boolean>()

/** `true` for an attribute holding GenAI content (see `CONTENT_WORDS`); memoised per name. */
export function isGenAiContent(name: string): boolean {
  const prefix = AI_PREFIX.exec(name)?.[0]
  if (prefix === undefined) return OTHER_CONTENT.test(name)
  let verdict = verdicts.get(name)
  if (verdict !== undefined) return verdict
  const rest = name.slice(prefix.length)
  if (METADATA_NAMES.has(name.toLowerCase())) verdict = false
  else verdict = prefix.toLowerCase() === 'gen_ai.' ? genAiVerdict(rest) : aiSdkVerdict(rest)
  // Attribute names are few and fixed in practice; the bound only guards a name built per call.
  if (verdicts.size < 1000) verdicts.set(name, verdict)
  return verdict
}

function genAiVerdict(rest: string): boolean {
  for (const segment of rest.toLowerCase().split('.')) {
    if (COUNT_SEGMENT.test(segment)) continue
    if (CONTENT_WORDS.has(segment) || segment.split('_').some((w) => CONTENT_WORDS.has(w))) {
      return true
    }
  }
  return false
}

/** The AI SDK writes its names in camelCase (`toolCalls`), Sentry's aliases in snake_case. */
function aiSdkVerdict(rest: string): boolean {
  for (const segment of rest.split('.')) {
    const snake = segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()
    const words = snake.split('_')
    if (words.some((w) => COUNT_WORDS.has(w))) continue
    if (AI_SDK_CONTENT_WORDS.has(snake) || words.some((w) => AI_SDK_CONTENT_WORDS.has(w))) {
      return true
    }
  }
  return false
}
