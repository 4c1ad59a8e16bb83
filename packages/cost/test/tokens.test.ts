/**
 * Token estimates (gpt-tokenizer for OpenAI models, a deliberately high approximation otherwise)
 * and `trimMessages` (system and latest turn kept, oldest turns dropped whole, tool pairs intact).
 */
import {
  approximateTokens,
  estimateMessageTokens,
  estimateTokens,
  type MessageLike,
  trimMessages,
} from '@aikit/cost'
import fc from 'fast-check'
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base'
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base'
import { describe, expect, it } from 'vitest'

const PROSE =
  'The quarterly budget review found that most of the spend came from streamed completions, ' +
  'which the previous gateway had recorded at zero. 東京の予算は月末にリセットされます。 🚀'

describe('estimateTokens', () => {
  it('OpenAI models use gpt-tokenizer with the right encoding plus the chat overhead', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: PROSE },
    ]
    const expected = (count: (t: string) => number) => count('Be brief.') + count(PROSE) + 2 * 3 + 3
    for (const model of ['gpt-4o', 'gpt-4.1-mini', 'gpt-5', 'o3-mini', 'openai/gpt-5-nano']) {
      expect(estimateTokens(messages, model), model).toBe(expected(o200k))
    }
    // Legacy cl100k models get the (higher) approximation instead of loading a second encoding.
    expect(estimateTokens(messages, 'gpt-4')).toBe(estimateTokens(messages, 'claude-haiku-4-5'))
    expect(estimateTokens(messages, 'gpt-4')).toBeGreaterThan(expected(cl100k))
  })

  it('Claude gets the documented high approximation, above the o200k count', () => {
    // 3 ASCII letters/digits/spaces per token, 1 per ASCII symbol, 1 per 2-byte character,
    // 1.5 per other BMP character, 3 per astral character
    expect(approximateTokens('abcdef')).toBe(2)
    expect(approximateTokens('{"a":1}')).toBe(1 + 5)
    expect(approximateTokens('Жж')).toBe(2)
    expect(approximateTokens('東京')).toBe(3)
    expect(approximateTokens('🚀')).toBe(3)
    const messages = [{ role: 'user', content: PROSE }]
    const claude = estimateTokens(messages, 'claude-sonnet-4-5')
    expect(claude).toBe(approximateTokens(PROSE) + 5 + 10)
    expect(claude).toBeGreaterThan(o200k(PROSE) * 1.1)
  })

  it('the approximation is above both OpenAI encodings on real-world samples', () => {
    const samples = [
      PROSE,
      '東京の予算は月末にリセットされます。来月の予算はまだ決まっていません。',
      '我们的预算每个月都会重置，请注意使用量。',
      'Бюджет сбрасывается в конце каждого месяца, пожалуйста, следите за расходами.',
      'يتم إعادة تعيين الميزانية في نهاية كل شهر',
      '예산은 매월 말에 재설정됩니다',
      '🚀🔥👍🏽😀',
      'function f(a,b){return a.map(x=>x*b).filter(Boolean)}',
      JSON.stringify({ a: [1, 2, 3], b: { c: 'd', e: null }, f: 'g h i' }),
    ]
    for (const s of samples) {
      expect(approximateTokens(s), s).toBeGreaterThanOrEqual(Math.max(o200k(s), cl100k(s)))
    }
  })

  it('a Claude request is never estimated below the same request under o200k (property)', () => {
    const piece = fc.constantFrom(
      'budget ',
      'the ',
      'reset',
      ' at ',
      'midnight',
      '. ',
      ', ',
      '{"k": ',
      '[1, 2]',
      '} ',
      '予算',
      'の',
      '月末',
      'бюджет ',
      'é',
      '🚀',
      '\n',
      '  ',
      'x=>x*2;',
      '42 '
    )
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 80 }), (pieces) => {
        const messages = [{ role: 'user', content: pieces.join('') }]
        expect(estimateTokens(messages, 'claude-sonnet-4-5')).toBeGreaterThanOrEqual(
          estimateTokens(messages, 'gpt-4o')
        )
      }),
      { numRuns: 500 }
    )
  })

  it('counts blocks, tool calls, tool results, tools and media', () => {
    const anthropic: MessageLike[] = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'weather?' },
          { type: 'image', source: {} },
        ],
      },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'Paris' } }],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'sunny' }] },
    ]
    const text = estimateTokens(anthropic, 'claude-haiku-4-5')
    expect(text).toBeGreaterThan(1600)
    const tools = [{ name: 'get_weather', input_schema: { type: 'object' } }]
    expect(
      estimateTokens(anthropic, 'claude-haiku-4-5', { tools, system: 'Be brief.' })
    ).toBeGreaterThan(text + 10)
    const openai: MessageLike[] = [
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
      },
    ]
    expect(estimateTokens(openai, 'gpt-4o')).toBe(o200k('f\n{"a":1}') + 3 + 3)
  })

  it('special-token text in user input is counted, not thrown on', () => {
    expect(estimateTokens([{ role: 'user', content: '<|endoftext|>' }], 'gpt-4o')).toBeGreaterThan(
      6
    )
  })

  it('validates its arguments', () => {
    expect(() => estimateTokens('x' as never, 'gpt-4o')).toThrow(
      expect.objectContaining({ field: 'messages' })
    )
    expect(() => estimateTokens([], '')).toThrow(expect.objectContaining({ field: 'model' }))
  })
})

describe('trimMessages', () => {
  const long = (n: number) => `${'lorem ipsum dolor sit amet '.repeat(n)}`
  const model = 'gpt-4o'

  it('keeps everything when it fits', () => {
    const messages = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ]
    expect(trimMessages(messages, { maxTokens: 1000, model })).toEqual(messages)
  })

  it('drops the oldest turns whole, keeps system messages and the latest turn', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: long(50) },
      { role: 'assistant', content: long(50) },
      { role: 'user', content: long(10) },
      { role: 'assistant', content: long(10) },
      { role: 'user', content: 'latest question' },
    ]
    const budget = estimateTokens(
      messages.filter((_, i) => i !== 1 && i !== 2),
      model
    )
    const trimmed = trimMessages(messages, { maxTokens: budget, model })
    expect(trimmed.map((m) => messages.indexOf(m))).toEqual([0, 3, 4, 5])
    expect(estimateTokens(trimmed, model)).toBeLessThanOrEqual(budget)
    // One token less: the second turn goes too.
    expect(
      trimMessages(messages, { maxTokens: budget - 1, model }).map((m) => messages.indexOf(m))
    ).toEqual([0, 5])
  })

  it('returns the minimum (system + latest turn) even when that alone is over budget', () => {
    const messages = [
      { role: 'system', content: long(20) },
      { role: 'user', content: long(20) },
      { role: 'user', content: long(20) },
    ]
    expect(trimMessages(messages, { maxTokens: 1, model }).map((m) => messages.indexOf(m))).toEqual(
      [0, 2]
    )
  })

  it('never splits an Anthropic tool_use from its tool_result', () => {
    const messages: MessageLike[] = [
      { role: 'user', content: long(5) },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'a', name: 'search', input: { q: long(30) } }],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', content: long(30) }] },
      { role: 'assistant', content: 'done' },
      { role: 'user', content: 'next' },
    ]
    for (let max = 1; max < 400; max += 7) {
      const kept = trimMessages(messages, { maxTokens: max, model: 'claude-haiku-4-5' })
      const idx = kept.map((m) => messages.indexOf(m))
      expect(idx.includes(1)).toBe(idx.includes(2))
      expect(idx.at(-1)).toBe(4)
      expect((kept[0] as MessageLike).role).toBe('user')
    }
  })

  it('never splits OpenAI tool_calls from their tool messages (property)', () => {
    const turn = (i: number, size: number): MessageLike[] => [
      { role: 'user', content: long(size) },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: `c${i}`, type: 'function', function: { name: 'f', arguments: long(size) } },
        ],
      },
      { role: 'tool', tool_call_id: `c${i}`, content: long(size) },
      { role: 'assistant', content: 'ok' },
    ]
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 }),
        fc.nat(2000),
        (sizes, max) => {
          const messages = [
            { role: 'system', content: 'sys' },
            ...sizes.flatMap((s, i) => turn(i, s)),
          ]
          const kept = trimMessages(messages, { maxTokens: max + 1, model })
          expect(kept[0]).toBe(messages[0])
          for (const m of kept) {
            if (m.role === 'tool') {
              const id = String(m.tool_call_id)
              expect(kept.some((k) => JSON.stringify(k.tool_calls ?? '').includes(`"${id}"`))).toBe(
                true
              )
            }
          }
          // Whatever was kept is a suffix of whole turns.
          const firstUser = kept.findIndex((m) => m.role === 'user')
          expect(kept.slice(firstUser)).toEqual(messages.slice(messages.indexOf(kept[firstUser]!)))
          const total = kept.reduce((a, m) => a + estimateMessageTokens(m, model), 3)
          const minimal = messages.length - 4
          if (messages.indexOf(kept[firstUser]!) < minimal)
            expect(total).toBeLessThanOrEqual(max + 1)
        }
      ),
      { numRuns: 150 }
    )
  })

  it('validates its options naming the field', () => {
    expect(() => trimMessages([], { maxTokens: 0, model })).toThrow(
      expect.objectContaining({ field: 'maxTokens' })
    )
    expect(() => trimMessages([], { maxTokens: 10, model: '' })).toThrow(
      expect.objectContaining({ field: 'model' })
    )
  })
})
