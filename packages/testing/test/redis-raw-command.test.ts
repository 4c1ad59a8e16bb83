/**
 * rawCommand reads a RESP bulk string by its byte length (`$<n>` counts bytes, not UTF-16 code
 * units) and decodes it as UTF-8, also when the reply spans several TCP chunks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, rawCommand, startRedis } from '../src/redis.js'

let server: RedisServer

beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

describe('rawCommand bulk-string replies', () => {
  it('returns a non-ASCII bulk string whole (ECHO héllo → héllo)', async () => {
    await expect(rawCommand(server.port, ['ECHO', 'héllo'])).resolves.toBe('héllo')
  })

  it('returns a stored multi-byte value whole (GET → 日本語)', async () => {
    await rawCommand(server.port, ['SET', 'k', '日本語'])
    await expect(rawCommand(server.port, ['GET', 'k'])).resolves.toBe('日本語')
  })

  it('returns a multi-byte value that spans many TCP chunks intact', async () => {
    // 600 000 bytes: several reads, and a 2-byte character is cut between two of them.
    const value = 'é'.repeat(300_000)
    await server.client().set('big', value)
    await expect(rawCommand(server.port, ['GET', 'big'], 5000)).resolves.toBe(value)
  })

  it('returns an empty string for a missing key and the text of simple replies', async () => {
    await expect(rawCommand(server.port, ['GET', 'missing'])).resolves.toBe('')
    await expect(rawCommand(server.port, ['PING'])).resolves.toBe('PONG')
    await expect(rawCommand(server.port, ['NOSUCHCOMMAND'])).rejects.toThrow(/unknown command/)
  })
})
