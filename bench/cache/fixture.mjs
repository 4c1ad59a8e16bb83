// The cache benches' shared values: 1,000 keys and ~2 KB values shaped like an OpenAI
// chat.completion (`i` makes every text distinct), so every bench measures the same payload.

/** A ~2 KB value shaped like an OpenAI chat.completion. */
export function completion(i) {
  const text = Buffer.from(`${i} `.padEnd(1800, `lorem ipsum ${i} `)).toString()
  return {
    id: `chatcmpl-${i}`,
    object: 'chat.completion',
    created: 1_764_000_000,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 400, total_tokens: 412 },
  }
}

export const KEYS = Array.from({ length: 1000 }, (_, i) => `key-${i}`)
export const VALUES = KEYS.map((_, i) => completion(i))
