/**
 * The Claude token estimate (the approximation every model without a local tokenizer gets) stays
 * deliberately high on random identifiers: hex digests, base64, UUIDs and other ids, which
 * tokenizers split into far more tokens than words (o200k about 1.4–1.8 characters per token).
 * Each such text estimates at least its o200k and cl100k counts, messages included, while prose,
 * code words (camelCase, `sha256`, `utf8`) and digits keep the ordinary 3-characters-per-token rate.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { approximateTokens, estimateTextTokens, estimateTokens } from '@aikit/cost'
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base'
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base'
import { describe, expect, it } from 'vitest'

const hex = randomBytes(3000).toString('hex')
const b64 = randomBytes(3000).toString('base64')
const uuids = Array.from({ length: 200 }, () => randomUUID()).join(' ')
const samples = [
  ['hex digests', hex],
  ['upper-case hex', hex.toUpperCase()],
  ['base64', b64],
  [
    'base64url ids',
    Array.from({ length: 300 }, () => randomBytes(15).toString('base64url')).join(', '),
  ],
  ['UUIDs', uuids],
  ['UUIDs in JSON', JSON.stringify(Array.from({ length: 200 }, () => ({ id: randomUUID() })))],
  [
    'prefixed digests',
    Array.from({ length: 100 }, () => `sha256:${randomBytes(32).toString('hex')}`).join('\n'),
  ],
  [
    'lower-case letters and digits',
    Array.from(randomBytes(4000), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join(''),
  ],
  [
    'random letters',
    randomBytes(3000)
      .toString('base64')
      .replace(/[^A-Za-z]/g, ''),
  ],
  [
    'random lower-case letters',
    randomBytes(3000)
      .toString('base64')
      .replace(/[^a-z]/g, ''),
  ],
] as const

describe('the Claude estimate is high on random identifiers', () => {
  for (const [name, text] of samples) {
    it(`${name}: at least the o200k and cl100k counts`, () => {
      const floor = Math.max(o200k(text), cl100k(text))
      expect(estimateTextTokens(text, 'claude-sonnet-4-5')).toBeGreaterThanOrEqual(floor)
    })
  }

  it('a tool result full of ids: the message estimate for Claude is at least the o200k one', () => {
    const messages = [{ role: 'user' as const, content: `Summarise these sha256 digests: ${hex}` }]
    expect(estimateTokens(messages, 'claude-haiku-4-5')).toBeGreaterThanOrEqual(
      estimateTokens(messages, 'gpt-4o')
    )
    const blocks = [
      {
        role: 'user' as const,
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: JSON.stringify({ ids: uuids }) },
        ],
      },
    ]
    expect(estimateTokens(blocks, 'claude-haiku-4-5')).toBeGreaterThanOrEqual(
      estimateTokens(blocks, 'gpt-4o')
    )
  })
})

describe('words keep the ordinary rate', () => {
  it('prose, camelCase, words with one number and digits: 3 characters per token', () => {
    const prose =
      'The quarterly budget review found that most of the spend came from streamed completions.'
    expect(approximateTokens(prose)).toBe(Math.ceil((prose.length - 1) / 3) + 1)
    for (const word of [
      'getUserById',
      'sha256',
      'utf8',
      'x86',
      'Base64',
      'strengths',
      '4466554400',
    ]) {
      expect(approximateTokens(word), word).toBe(Math.ceil(word.length / 3))
    }
  })

  it('an id inside prose adds only its own characters at the random rate', () => {
    const id = '9f86d081884c7d659a2feaa0c55ad015'
    const text = `The file ${id} was uploaded.`
    const words = text.length - id.length - 1 // every other character but the final '.'
    expect(approximateTokens(text)).toBe(Math.ceil(words / 3) + Math.ceil(id.length / 1.2) + 1)
  })
})
