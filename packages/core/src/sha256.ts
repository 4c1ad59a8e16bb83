/**
 * @module sha256
 * SHA-256 (FIPS 180-4) of a string's UTF-8 bytes, as lowercase hex, synchronous. The LLM cache
 * keys of @aikit/cache and @aikit/llm are hashed with it on every call.
 *
 * On Node it is Node's one-shot `crypto.hash` (20.12+), reached through
 * `process.getBuiltinModule` so this module stays edge-safe (no `node:` import). Elsewhere it is
 * the plain JavaScript implementation below (`crypto.subtle.digest` is async). Measured between
 * two SDK calls, i.e. with the CPU caches full of HTTP work, for a ~190-byte request: about 4.7 µs
 * native, 6.3 µs JavaScript (hot loop: 0.4 µs vs 3 µs). Same digest either way
 * (test/sha256.test.ts runs both).
 *
 * Texts up to `SMALL_TEXT_MAX` UTF-16 units reuse one scratch block in the JavaScript path (no
 * allocation).
 */

type OneShotHash = (algorithm: 'sha256', text: string, encoding: 'hex') => string

const nativeHash = (
  (
    globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
  ).process?.getBuiltinModule?.('node:crypto') as { hash?: OneShotHash } | undefined
)?.hash

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])

/** The longest text (UTF-16 units) hashed in the reused scratch block; longer ones allocate. */
const SMALL_TEXT_MAX = 4096

// Scratch space reused by every call (hashing is synchronous): the message schedule, and the
// padded message (3 UTF-8 bytes per UTF-16 unit at most, plus padding and length).
const W = new Int32Array(64)
const scratch = new Uint8Array(SMALL_TEXT_MAX * 3 + 72)
const H = new Int32Array(8)
const encoder = new TextEncoder()
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Reads `a[i]` (always in bounds here; `noUncheckedIndexedAccess` cannot know). */
const at = (a: Int32Array | Uint8Array, i: number): number => a[i] as number

/** SHA-256 hex of `text` (UTF-8, lone surrogates as U+FFFD like `TextEncoder` and Node). */
export function sha256Hex(text: string): string {
  return nativeHash === undefined ? sha256HexJs(text) : nativeHash('sha256', text, 'hex')
}

/** The JavaScript implementation (edge runtimes); exported for the tests that pin it to Node's. */
export function sha256HexJs(text: string): string {
  if (text.length <= SMALL_TEXT_MAX)
    return digest(scratch, encoder.encodeInto(text, scratch).written)
  const bytes = encoder.encode(text)
  const block = new Uint8Array(bytes.length + 72)
  block.set(bytes)
  return digest(block, bytes.length)
}

/**
 * Pads the `n` message bytes at the start of `block` (room for 72 more) and hashes them. The bit
 * length is written as 32 bits: texts are far below 512 MB.
 */
function digest(block: Uint8Array, n: number): string {
  // Padding: 0x80, zeros, then the bit length as a 64-bit big-endian integer.
  const total = (((n + 8) >> 6) + 1) << 6
  block[n] = 0x80
  block.fill(0, n + 1, total - 4)
  const bits = n * 8
  block[total - 4] = bits >>> 24
  block[total - 3] = bits >>> 16
  block[total - 2] = bits >>> 8
  block[total - 1] = bits
  H[0] = 0x6a09e667
  H[1] = 0xbb67ae85
  H[2] = 0x3c6ef372
  H[3] = 0xa54ff53a
  H[4] = 0x510e527f
  H[5] = 0x9b05688c
  H[6] = 0x1f83d9ab
  H[7] = 0x5be0cd19
  for (let offset = 0; offset < total; offset += 64) compress(block, offset)
  let out = ''
  for (let i = 0; i < 8; i++) {
    const x = at(H, i)
    out +=
      (HEX[(x >>> 24) & 255] as string) +
      (HEX[(x >>> 16) & 255] as string) +
      (HEX[(x >>> 8) & 255] as string) +
      (HEX[x & 255] as string)
  }
  return out
}

/** One 64-byte block of `block` at `offset` into `H`. */
function compress(block: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4
    W[i] =
      (at(block, j) << 24) | (at(block, j + 1) << 16) | (at(block, j + 2) << 8) | at(block, j + 3)
  }
  for (let i = 16; i < 64; i++) {
    const x = at(W, i - 15)
    const y = at(W, i - 2)
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
    W[i] = (at(W, i - 16) + s0 + at(W, i - 7) + s1) | 0
  }
  let a = at(H, 0)
  let b = at(H, 1)
  let c = at(H, 2)
  let d = at(H, 3)
  let e = at(H, 4)
  let f = at(H, 5)
  let g = at(H, 6)
  let h = at(H, 7)
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + at(K, i) + at(W, i)) | 0
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
    h = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  H[0] = (at(H, 0) + a) | 0
  H[1] = (at(H, 1) + b) | 0
  H[2] = (at(H, 2) + c) | 0
  H[3] = (at(H, 3) + d) | 0
  H[4] = (at(H, 4) + e) | 0
  H[5] = (at(H, 5) + f) | 0
  H[6] = (at(H, 6) + g) | 0
  H[7] = (at(H, 7) + h) | 0
}
