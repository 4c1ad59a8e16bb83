/**
 * @module utf8
 * The UTF-8 length of a string, without encoding it and without `node:buffer` (the main entry is
 * edge-safe): the memory tier's byte bound counts what a value's serialized text weighs in bytes.
 */

type ByteLength = (text: string, encoding: 'utf8') => number

/** Node's (and Bun's, Deno's) `Buffer.byteLength` when the runtime has one: never imported. */
const nativeByteLength: ByteLength | undefined = (() => {
  const buffer = (globalThis as { Buffer?: { byteLength?: ByteLength } }).Buffer
  return typeof buffer?.byteLength === 'function' ? buffer.byteLength.bind(buffer) : undefined
})()

/**
 * Bytes of `text` in UTF-8, counted in JavaScript: 1 per code unit below U+0080, 2 below U+0800,
 * 4 per surrogate pair, 3 for the rest of the BMP (a lone surrogate too: it is encoded as U+FFFD,
 * as `TextEncoder` and `Buffer` do).
 */
export function countUtf8(text: string): number {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800 || (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1)))) {
      // Two bytes for one unit, or four bytes for a pair (two units): one more byte per unit.
      bytes += 1
      if (c >= 0xd800) {
        bytes += 1
        i++
      }
    } else {
      bytes += 2
    }
  }
  return bytes
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}

/** Bytes of `text` in UTF-8: the runtime's native count when it has one, else `countUtf8`. */
export const utf8Length: (text: string) => number =
  nativeByteLength === undefined ? countUtf8 : (text) => nativeByteLength(text, 'utf8')
