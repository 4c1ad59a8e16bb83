/**
 * @module anthropic/cache-write
 * The cache writes an Anthropic request may be billed for. A `cache_control` breakpoint (on the
 * request, a system block, a tool, a message's content block or a tool result's inner block)
 * writes the prompt up to it to the cache, at 1.25× the input price for the default 5-minute TTL
 * and 2× for `ttl: '1h'`: the budget must hold the input at that price, not the plain input's.
 */
import { isRec } from '../shared/spec.js'

/** `'1h'`, `'5m'`, or `undefined` for a block without `cache_control`. */
function ttlOf(block: unknown): '5m' | '1h' | undefined {
  if (!isRec(block)) return undefined
  const control = block.cache_control
  if (!isRec(control)) return undefined
  return control.ttl === '1h' ? '1h' : '5m'
}

/** The longest TTL of `a` and `b`. */
const longest = (
  a: '5m' | '1h' | undefined,
  b: '5m' | '1h' | undefined
): '5m' | '1h' | undefined => (a === '1h' || b === '1h' ? '1h' : (a ?? b))

/** The longest TTL among `blocks` (an array of content blocks or tools; anything else has none). */
function blocksTtl(blocks: unknown, nested: boolean): '5m' | '1h' | undefined {
  if (!Array.isArray(blocks)) return undefined
  let ttl: '5m' | '1h' | undefined
  for (const block of blocks as unknown[]) {
    ttl = longest(ttl, ttlOf(block))
    // A tool result's own content blocks may carry a breakpoint too.
    if (nested && isRec(block) && block.type === 'tool_result') {
      ttl = longest(ttl, blocksTtl(block.content, false))
    }
    if (ttl === '1h') return ttl
  }
  return ttl
}

/**
 * The longest cache-write TTL an Anthropic request asks for: `'1h'` when any breakpoint has
 * `ttl: '1h'`, else `'5m'` when there is any breakpoint, else `undefined` (no cache write).
 */
export function cacheWriteOf(params: Record<string, unknown>): '5m' | '1h' | undefined {
  let ttl = longest(ttlOf(params), blocksTtl(params.system, false))
  if (ttl === '1h') return ttl
  ttl = longest(ttl, blocksTtl(params.tools, false))
  if (ttl === '1h') return ttl
  const messages = params.messages
  if (!Array.isArray(messages)) return ttl
  for (const message of messages as unknown[]) {
    if (isRec(message)) ttl = longest(ttl, blocksTtl(message.content, true))
    if (ttl === '1h') return ttl
  }
  return ttl
}
