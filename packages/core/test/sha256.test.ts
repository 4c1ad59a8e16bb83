import { createHash } from 'node:crypto'
import { sha256Hex as publicSha256Hex } from '@aikit/core/adapter'
import { describe, expect, it } from 'vitest'
import { sha256HexJs } from '../src/sha256.js'

/** The length up to which `sha256Hex` reuses its scratch block (longer texts allocate one). */
const SMALL_TEXT_MAX = 4096

const nodeSha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

// The public function (Node's one-shot hash on Node) and the JavaScript implementation edge
// runtimes get: the same digests, pinned to node:crypto's createHash.
describe.each([
  ['sha256Hex', publicSha256Hex],
  ['sha256HexJs (edge runtimes)', sha256HexJs],
])('%s', (_name, sha256Hex) => {
  it('matches the FIPS 180-4 test vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    )
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'
    )
  })

  it('matches node:crypto at every length around the 64-byte block and padding boundaries', () => {
    for (let n = 0; n <= 200; n++) {
      const text = 'x'.repeat(n)
      expect(sha256Hex(text), `length ${n}`).toBe(nodeSha256(text))
    }
    // Both sides of the scratch-block limit, and a text well past it.
    for (const n of [SMALL_TEXT_MAX, SMALL_TEXT_MAX + 1, 100_000]) {
      const text = 'y'.repeat(n)
      expect(sha256Hex(text), `length ${n}`).toBe(nodeSha256(text))
    }
  })

  it('hashes UTF-8 like node:crypto: accents, CJK, emoji, lone surrogates, the longest 3-byte text', () => {
    const samples = [
      'é',
      '日本語のテキスト',
      '😀 emoji 👩‍💻',
      'lone \ud800 high',
      'lone \udc00 low',
      '\u2028\u2029"\\',
      '語'.repeat(SMALL_TEXT_MAX),
      '語'.repeat(SMALL_TEXT_MAX + 1),
      '{"messages":[{"content":"Привет","role":"user"}],"model":"claude-haiku-4-5"}',
    ]
    for (const text of samples) expect(sha256Hex(text)).toBe(nodeSha256(text))
  })

  it('matches node:crypto on 300 pseudo-random strings of any UTF-16 code units', () => {
    let seed = 42
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed
    }
    for (let i = 0; i < 300; i++) {
      let text = ''
      const length = next() % 400
      // Mostly ASCII, some 2-byte, 3-byte and surrogate code units (paired or not).
      for (let j = 0; j < length; j++) {
        const kind = next() % 10
        const unit =
          kind < 6 ? 32 + (next() % 95) : kind < 8 ? 0x80 + (next() % 0x780) : next() % 0x10000
        text += String.fromCharCode(unit)
      }
      expect(sha256Hex(text)).toBe(nodeSha256(text))
    }
  })

  it('gives the same digest when called again after a longer input (no state left behind)', () => {
    const short = 'short'
    const before = sha256Hex(short)
    sha256Hex('z'.repeat(3000))
    expect(sha256Hex(short)).toBe(before)
    expect(before).toBe(nodeSha256(short))
  })
})
