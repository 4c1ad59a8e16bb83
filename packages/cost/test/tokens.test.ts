/**
 * Token estimates (gpt-tokenizer for OpenAI models, a deliberately high approximation otherwise)
 * and `trimMessages` (system and latest turn kept, oldest turns dropped whole, tool pairs intact).
 */
import {
  approximateTokens,
  estimateMessageTokens,
  estimateTokens,
  MEDIA_TOKENS,
  type MessageLike,
  PDF_PAGE_TOKENS,
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

// About 200k characters of plain English: tens of thousands of input tokens.
const LONG_TEXT = 'The contract renews every year unless either party objects in writing. '.repeat(
  2800
)

/**
 * A minimal PDF of `pages` pages as base64. Plain: page objects and their content streams in the
 * open. `objectStreams`: as PDF 1.5+ writers do, the page objects sit in a compressed object
 * stream and only stream dictionaries are readable, beside a font file, an image, an ICC profile
 * and the xref stream (none of them a page).
 */
function pdf(pages: number, objectStreams = false): string {
  const out = ['%PDF-1.7\n%\xe2\xe3\xcf\xd3\n']
  let n = 1
  const content = (i: number) =>
    `${n++} 0 obj\n<< /Length 42 /Filter /FlateDecode >>\nstream\nx\x9c BT /F1 12 Tf (page ${i}) Tj ET\nendstream\nendobj\n`
  if (objectStreams) {
    out.push(
      `${n++} 0 obj\n<< /Type /ObjStm /N ${pages + 2} /First 40 /Length 90 /Filter /FlateDecode >>\nstream\nx\x9c\x01\x02\x03 compressed catalog, page tree and pages\nendstream\nendobj\n`
    )
    for (let i = 0; i < pages; i++) out.push(content(i))
    out.push(
      `${n++} 0 obj\n<< /Length 500 /Length1 900 /Filter /FlateDecode >>\nstream\nx\x9c font program\nendstream\nendobj\n`,
      `${n++} 0 obj\n<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /Length 64 >>\nstream\n\xff\xd8 jpeg\nendstream\nendobj\n`,
      `${n++} 0 obj\n<< /N 3 /Alternate /DeviceRGB /Length 300 >>\nstream\nicc profile\nendstream\nendobj\n`,
      `${n++} 0 obj\n<< /Type /XRef /Size ${n} /W [1 2 1] /Root 2 0 R /Length 30 >>\nstream\n\x01\x00\nendstream\nendobj\nstartxref\n0\n%%EOF\n`
    )
  } else {
    out.push(
      `${n++} 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n`,
      `${n++} 0 obj\n<< /Type /Pages /Count ${pages} /Kids [] >>\nendobj\n`
    )
    for (let i = 0; i < pages; i++) {
      out.push(`${n++} 0 obj\n<</Type/Page/Parent 2 0 R/Contents ${n} 0 R>>\nendobj\n`)
      out.push(content(i))
    }
    out.push('trailer\n<< /Root 1 0 R >>\n%%EOF\n')
  }
  return Buffer.from(out.join(''), 'latin1').toString('base64')
}

/** One user message: the `block` and a question. */
const withBlock = (block: unknown): MessageLike[] => [
  { role: 'user', content: [block, { type: 'text', text: 'Summarise this.' }] },
]
const QUESTION_ONLY: MessageLike[] = [
  { role: 'user', content: [{ type: 'text', text: 'Summarise this.' }] },
]
/** Tokens the block adds to a request, beside its question. */
const blockTokens = (block: unknown, model = 'claude-sonnet-4-5'): number =>
  estimateTokens(withBlock(block), model) - estimateTokens(QUESTION_ONLY, model)

describe('estimateTokens with OpenAI Responses tool items', () => {
  it('a function_call counts its arguments and a function_call_output its output', () => {
    const args = JSON.stringify({ query: 'x'.repeat(3000) })
    const output = 'result line\n'.repeat(500)
    const items = [
      { type: 'function_call', call_id: 'c1', name: 'search', arguments: args },
      { type: 'function_call_output', call_id: 'c1', output },
    ] as unknown as MessageLike[]
    for (const model of ['gpt-5', 'claude-sonnet-4-5']) {
      const bare = estimateTokens(
        [{ type: 'function_call' }, { type: 'function_call_output' }] as unknown as MessageLike[],
        model
      )
      const withText = estimateTokens(items, model)
      // At least the tokens of the text they carry, on top of the per-item overhead.
      expect(withText - bare).toBeGreaterThanOrEqual(
        estimateTokens([{ role: 'user', content: args }], model) +
          estimateTokens([{ role: 'user', content: output }], model) -
          2 * estimateTokens([{ role: 'user', content: '' }], model)
      )
    }
  })
})

describe('estimateTokens with documents (never below what they hold)', () => {
  it('a plain-text document (Anthropic `source.type: text`) counts its text', () => {
    const doc = {
      type: 'document',
      source: { type: 'text', media_type: 'text/plain', data: LONG_TEXT },
    }
    const asText = estimateTokens([{ role: 'user', content: LONG_TEXT }], 'claude-sonnet-4-5')
    const asDocument = estimateTokens(withBlock(doc), 'claude-sonnet-4-5')
    // Same text, same bill: not a flat 1,600 (about 25× low for this text).
    expect(asDocument).toBeGreaterThanOrEqual(approximateTokens(LONG_TEXT))
    expect(asDocument).toBeGreaterThanOrEqual(asText)
    // OpenAI models count it with the tokenizer.
    expect(estimateTokens(withBlock(doc), 'gpt-4o')).toBeGreaterThanOrEqual(o200k(LONG_TEXT))
  })

  it('a content document (`source.type: content`) counts its text and images, title and context too', () => {
    const doc = {
      type: 'document',
      title: 'Master services agreement',
      context: 'Signed in 2024 by both parties.',
      source: {
        type: 'content',
        content: [
          { type: 'text', text: LONG_TEXT },
          {
            type: 'image',
            source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
          },
        ],
      },
    }
    expect(blockTokens(doc)).toBeGreaterThanOrEqual(
      approximateTokens(`${LONG_TEXT}Master services agreementSigned in 2024 by both parties.`) +
        MEDIA_TOKENS
    )
    const asString = { type: 'document', source: { type: 'content', content: LONG_TEXT } }
    expect(blockTokens(asString)).toBeGreaterThanOrEqual(approximateTokens(LONG_TEXT))
  })

  it('a base64 PDF counts PDF_PAGE_TOKENS per page (3,000 text tokens + one page image)', () => {
    expect(PDF_PAGE_TOKENS).toBe(3000 + MEDIA_TOKENS)
    const doc = (data: string) => ({
      type: 'document',
      source: { type: 'base64', media_type: 'application/pdf', data },
    })
    expect(blockTokens(doc(pdf(1)))).toBe(PDF_PAGE_TOKENS)
    expect(blockTokens(doc(pdf(3)))).toBe(3 * PDF_PAGE_TOKENS)
    expect(blockTokens(doc(pdf(40)))).toBe(40 * PDF_PAGE_TOKENS)
    // Page objects hidden in object streams: the page content streams are counted.
    expect(blockTokens(doc(pdf(4, true)))).toBe(4 * PDF_PAGE_TOKENS)
    // Pages in a tool result too.
    const inResult = {
      type: 'tool_result',
      tool_use_id: 't',
      content: [doc(pdf(2))],
    }
    expect(blockTokens(inResult)).toBe(2 * PDF_PAGE_TOKENS)
  })

  it('a PDF whose pages cannot be read counts one token per byte, at least one page', () => {
    const doc = (bytes: string) => ({
      type: 'document',
      source: {
        type: 'base64',
        media_type: 'application/pdf',
        data: Buffer.from(bytes, 'latin1').toString('base64'),
      },
    })
    expect(blockTokens(doc('%PDF-1.7\n%%EOF\n'))).toBe(PDF_PAGE_TOKENS)
    const big = `%PDF-1.7\n${'\x9c'.repeat(20_000)}\n%%EOF\n`
    expect(blockTokens(doc(big))).toBe(big.length)
    // Not base64 at all: sized by its length.
    const bad = { type: 'document', source: { type: 'base64', data: '!'.repeat(40_000) } }
    expect(blockTokens(bad)).toBe(30_000)
  })

  // Each stream's dictionary runs back to the last `obj`: searched back for, and read whole, from
  // every stream, a 750 KB file (a 1 MB base64 body) of `>>stream` took about a minute.
  it('a PDF of 94 000 bare stream dictionaries (a 1 MB body) counts each as a page', () => {
    const doc = (bytes: string) => ({
      type: 'document',
      source: {
        type: 'base64',
        media_type: 'application/pdf',
        data: Buffer.from(bytes, 'latin1').toString('base64'),
      },
    })
    const streams = 93_750
    expect(blockTokens(doc(`%PDF${'>>stream'.repeat(streams)}`))).toBe(streams * PDF_PAGE_TOKENS)
    // Streams after one `obj` share its dictionary: a key in it types every one of them.
    expect(blockTokens(doc('%PDF 1 0 obj << /Type /XRef >>stream >>stream >>stream'))).toBe(
      PDF_PAGE_TOKENS
    )
    expect(blockTokens(doc('%PDF 1 0 obj << >>stream /N >>stream 2 0 obj >>stream'))).toBe(
      2 * PDF_PAGE_TOKENS
    )
  })

  it('base64 data that is not a PDF counts its bytes as text', () => {
    const doc = {
      type: 'document',
      source: {
        type: 'base64',
        media_type: 'text/plain',
        data: Buffer.from(LONG_TEXT).toString('base64'),
      },
    }
    expect(blockTokens(doc)).toBe(approximateTokens(LONG_TEXT))
  })

  it('a document the request only points to (URL, file id) counts one page', () => {
    const url = { type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }
    const file = { type: 'document', source: { type: 'file', file_id: 'file_011' } }
    expect(blockTokens(url)).toBe(PDF_PAGE_TOKENS)
    expect(blockTokens(file)).toBe(PDF_PAGE_TOKENS)
  })

  it('OpenAI file parts (chat `file`, Responses `input_file`) count their PDF pages', () => {
    const data = `data:application/pdf;base64,${pdf(5)}`
    const chat = { type: 'file', file: { filename: 'a.pdf', file_data: data } }
    const responses = { type: 'input_file', filename: 'a.pdf', file_data: data }
    expect(blockTokens(chat, 'gpt-4o')).toBe(5 * PDF_PAGE_TOKENS)
    expect(blockTokens(responses, 'gpt-5')).toBe(5 * PDF_PAGE_TOKENS)
    expect(blockTokens({ type: 'input_file', file_id: 'file-abc' }, 'gpt-5')).toBe(PDF_PAGE_TOKENS)
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

  it('a user message with tool_result blocks then text (allowed by the API) stays with its tool_use', () => {
    const claude = 'claude-sonnet-4-5'
    const messages: MessageLike[] = [
      { role: 'user', content: `What is the weather in Paris? ${'context '.repeat(400)}` },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } }],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C, sunny' },
          { type: 'text', text: 'Also, answer in French please.' },
        ],
      },
      { role: 'assistant', content: 'Il fait 18°C et ensoleillé à Paris.' },
      { role: 'user', content: 'Thanks! And tomorrow?' },
    ]
    /** Ids of tool_result blocks whose tool_use is not kept (the API answers those with a 400). */
    const orphans = (kept: readonly MessageLike[]): string[] => {
      const uses = new Set<string>()
      const found: string[] = []
      for (const m of kept) {
        if (!Array.isArray(m.content)) continue
        for (const b of m.content as Array<Record<string, unknown>>) {
          if (b.type === 'tool_use') uses.add(b.id as string)
          if (b.type === 'tool_result' && !uses.has(b.tool_use_id as string)) {
            found.push(b.tool_use_id as string)
          }
        }
      }
      return found
    }
    // Room for everything but the long first question: the whole first turn goes, the
    // result-and-text message with it.
    const withoutFirst = estimateTokens(messages.slice(1), claude)
    const trimmed = trimMessages(messages, { maxTokens: withoutFirst + 5, model: claude })
    expect(trimmed.map((m) => messages.indexOf(m))).toEqual([4])
    for (let max = 1; max < estimateTokens(messages, claude) + 10; max += 37) {
      const kept = trimMessages(messages, { maxTokens: max, model: claude })
      expect(orphans(kept), String(max)).toEqual([])
      expect(kept.at(-1)).toBe(messages[4])
    }
  })

  it('OpenAI: tool messages stay with the assistant message holding their tool_calls', () => {
    const messages: MessageLike[] = [
      { role: 'system', content: 'sys' },
      { role: 'user', content: long(40) },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } },
          { id: 'c2', type: 'function', function: { name: 'g', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: long(5) },
      { role: 'tool', tool_call_id: 'c2', content: long(5) },
      // A user message right after the results starts the next turn; the results stay behind.
      { role: 'user', content: 'and in French?' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'thanks' },
    ]
    for (let max = 1; max < estimateTokens(messages, model) + 10; max += 11) {
      const idx = trimMessages(messages, { maxTokens: max, model }).map((m) => messages.indexOf(m))
      expect(idx.includes(2), String(max)).toBe(idx.includes(3))
      expect(idx.includes(3), String(max)).toBe(idx.includes(4))
      expect(idx.slice(0, 1)).toEqual([0])
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
