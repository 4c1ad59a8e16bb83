// The model behind the example: Anthropic's API when ANTHROPIC_API_KEY is set, otherwise a
// built-in fake that streams a deterministic answer word by word (no key, no network).

/** Yields the answer's text chunks; stops when `signal` aborts (the client went away). */
export async function* streamAnswer(question, signal) {
  if (process.env.ANTHROPIC_API_KEY) {
    const { default: Anthropic } = await import('@anthropic-ai/sdk')
    const client = new Anthropic()
    const stream = client.messages.stream(
      {
        model: process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-4-5',
        max_tokens: 512,
        messages: [{ role: 'user', content: question }],
      },
      { signal }
    )
    for await (const event of stream) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
        yield event.delta.text
      }
    }
    return
  }
  const words =
    `(fake model, no ANTHROPIC_API_KEY set) You asked: "${question}". This answer streams one word at a time so you can watch the protocol keep the stream flowing.`.split(
      ' '
    )
  for (const word of words) {
    if (signal.aborted) return
    await new Promise((resolve) => setTimeout(resolve, 40))
    yield `${word} `
  }
}

export const modelName = () => (process.env.ANTHROPIC_API_KEY ? 'anthropic' : 'fake')
