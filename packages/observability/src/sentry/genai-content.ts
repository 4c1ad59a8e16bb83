/**
 * @module genai-content
 * Which span attributes hold GenAI content (prompts, completions, tool arguments and results),
 * kept from Sentry unless `allowGenAiContent`: the `gen_ai.*` names of the OTel and Sentry
 * conventions, and the `ai.*` names the Vercel AI SDK (up to v6) sets on its OpenTelemetry spans,
 * which @sentry/conventions lists as their aliases (`ai.prompt`, `ai.response.text`,
 * `ai.toolCall.args`…) and which @sentry/node v11 sends as they are. @sentry/node v10 renames
 * some of them on the AI SDK's spans (`ai.response.object` to `gen_ai.response.object`, which
 * then holds the generated object) and moves the rest under `vercel.ai.*` (`vercel.ai.prompt`).
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
 * prompt results (`mcp.prompt.result.message_content`, `mcp.prompt.result.<key>.content`), the
 * request's arguments (`mcp.request.argument.<key>`: a tool call's arguments) and free-text
 * messages (`mcp.logging.message`, `mcp.progress.message`), and `anthropic.tool_result.content`.
 * Names, ids, counts, types and `is_error` stay (`mcp.tool.result.content_type` is metadata).
 */
const TOOL_CONTENT =
  /^(?:mcp\.(?:.+\.)?(?:content|message_content|message|argument)(?:\.|$)|anthropic\.tool_result\.content$)/i

const verdicts = new Map<string, boolean>()

/** `true` for an attribute holding GenAI content (see `CONTENT_WORDS`); memoised per name. */
export function isGenAiContent(name: string): boolean {
  const prefix = AI_PREFIX.exec(name)?.[0]
  if (prefix === undefined) return TOOL_CONTENT.test(name)
  let verdict = verdicts.get(name)
  if (verdict !== undefined) return verdict
  const rest = name.slice(prefix.length)
  verdict = prefix.toLowerCase() === 'gen_ai.' ? genAiVerdict(rest) : aiSdkVerdict(rest)
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
