/**
 * @module redis/slot
 * The Redis Cluster hash slot of a key (CRC16/XMODEM of its hash-tag part, mod 16384), so the store
 * can tell which master serves a call without asking the client.
 */
import { hashSlotSource } from '../store/keys.js'

const TABLE = /* @__PURE__ */ (() => {
  const table = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1
    table[i] = crc & 0xffff
  }
  return table
})()

let encoder: TextEncoder | undefined

/** The Cluster slot (0..16383) of `key`, hashed as Redis does: the UTF-8 bytes of its hash tag. */
export function keySlot(key: string): number {
  const source = hashSlotSource(key)
  let crc = 0
  for (let i = 0; i < source.length; i++) {
    const code = source.charCodeAt(i)
    if (code >= 0x80) return crcOfBytes(source)
    crc = ((crc << 8) & 0xff00) ^ (TABLE[((crc >> 8) ^ code) & 0xff] as number)
  }
  return crc & 0x3fff
}

function crcOfBytes(source: string): number {
  encoder ??= new TextEncoder()
  const bytes = encoder.encode(source)
  let crc = 0
  for (let i = 0; i < bytes.length; i++) {
    crc = ((crc << 8) & 0xff00) ^ (TABLE[((crc >> 8) ^ (bytes[i] as number)) & 0xff] as number)
  }
  return crc & 0x3fff
}
