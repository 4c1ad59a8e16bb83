/**
 * `keySlot`, which the store uses to tell which Cluster master serves a call: it must agree with
 * Redis's own `CLUSTER KEYSLOT` (CRC16/XMODEM of the hash tag's UTF-8 bytes, mod 16384).
 */
import { expect, it } from 'vitest'
import { keySlot } from '../src/redis/slot.js'

it('hashes keys as Redis Cluster does, hash tags and UTF-8 included', () => {
  // Values from CLUSTER KEYSLOT (and the cluster-key-slot package ioredis uses).
  expect(keySlot('foo')).toBe(12182)
  expect(keySlot('bar')).toBe(5061)
  expect(keySlot('{user1000}.following')).toBe(3443)
  expect(keySlot('{user1000}.followers')).toBe(3443)
  expect(keySlot('aikit:{rl}:x')).toBe(785)
  // An empty tag or an unclosed brace: the whole key is hashed.
  expect(keySlot('{}x')).toBe(10595)
  expect(keySlot('x{')).toBe(3596)
  // Non-ASCII keys hash their UTF-8 bytes.
  expect(keySlot('héllo')).toBe(11061)
  expect(keySlot('a{é}b')).toBe(10180)
  expect(keySlot('日本語')).toBe(12788)
  expect(keySlot('emoji😀')).toBe(3827)
})
