/**
 * The memory store reproduces how Redis turns Lua numbers into strings: `%.17g` when a number is
 * passed to `redis.call` (`luaArg`), `%.14g` for `tostring` (`luaToString`). C's printf rounds the
 * exact binary value, and a value exactly halfway between two outputs to the even one; JavaScript's
 * `toExponential` / `toFixed` round such a tie up, so the emulation corrects it. Checked against a
 * real redis-server on constructed ties and on arbitrary doubles.
 */
import { defineOp, luaArg, luaToString, memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/** For each ARGV number: SET it (Lua passes it `%.17g`), then what GET gives and `tostring` of it. */
const storeNumbers = defineOp<readonly number[], unknown>({
  name: 'storeNumbers',
  lua: `local out = {}
for i = 1, #ARGV do
  local x = tonumber(ARGV[i])
  redis.call('SET', KEYS[1], x)
  out[2 * i - 1] = redis.call('GET', KEYS[1])
  out[2 * i] = tostring(x)
end
return out`,
  js: (data, keys, argv) => {
    const out: string[] = []
    for (const arg of argv) {
      const x = Number(arg)
      data.set(keys[0] as string, x)
      out.push(data.get(keys[0] as string) as string, luaToString(x))
    }
    return out
  },
  // The shortest decimal that reads back as the same double (Lua's tonumber is strtod).
  encode: (xs) => xs.map(String),
  decode: (reply) => reply,
})

// Numbers whose exact value ends on a 5 just past the printed precision (%.17g or %.14g).
const TIES = [
  2 ** -25, // 2.98023223876953125e-08
  2 ** -21, // 4.76837158203125e-07
  12345678901234.5,
  12345678901235.5,
  99999999999999.5,
  123456789012345,
  -12345678901234.5,
  0.5,
  2.5,
  25,
]

/**
 * A double exactly halfway between two outputs of `%.<precision>g` with decimal exponent `exp`
 * (or near one, at the edges of the range): m * 2^(exp - precision) for an odd m (a multiple of
 * 5^(exp - precision + 1) when exp >= precision), `at` in [0, 1) choosing m in its range.
 */
function tie(precision: number, exp: number, at: number): number | undefined {
  const q = exp - precision
  const five = exp >= precision ? 5 ** (exp - precision + 1) : 1
  const lo = 10 ** exp / 2 ** q / five
  const hi = Math.min((10 * 10 ** exp) / 2 ** q, 2 ** 53) / five
  if (!(hi > lo) || hi < 1) return undefined
  let j = Math.floor(Math.max(lo, 1) + at * (hi - Math.max(lo, 1)))
  if (j % 2 === 0) j += 1
  const m = j * five
  if (m >= 2 ** 53) return undefined
  return m * 2 ** q
}

let server: RedisServer
let redis: Store
beforeAll(async () => {
  server = await startRedis()
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  redis = redisStore(client, { commandTimeoutMs: 5000, batch: false })
})
afterAll(async () => {
  await server?.stop()
})

describe('Lua number formatting', () => {
  it('luaArg and luaToString round an exact tie half to even, as printf does', () => {
    expect(luaArg(2 ** -25)).toBe('2.9802322387695312e-08')
    expect(luaToString(2 ** -21)).toBe('4.7683715820312e-07')
    expect(luaToString(12345678901234.5)).toBe('12345678901234')
    expect(luaToString(-12345678901234.5)).toBe('-12345678901234')
    expect(luaToString(12345678901235.5)).toBe('12345678901236') // the even neighbour is above
    expect(luaToString(99999999999999.5)).toBe('1e+14') // a carry into a new digit
    expect(luaToString(123456789012345)).toBe('1.2345678901234e+14') // exponent form
    expect(luaArg(0.1)).toBe('0.10000000000000001') // no tie: nearest
  })

  it('memoryStore stores and prints exact ties exactly as Redis does', async () => {
    const memory = memoryStore()
    const onRedis = await redis.run(storeNumbers, [redis.key('ties')], TIES)
    const inMemory = await memory.run(storeNumbers, [memory.key('ties')], TIES)
    expect(inMemory).toEqual(onRedis)
  })

  it('property: memoryStore formats constructed ties and arbitrary doubles as Redis does', async () => {
    const memory = memoryStore()
    const constructed = fc
      .record({
        precision: fc.constantFrom(14, 17),
        exp: fc.integer({ min: -12, max: 24 }),
        at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        negative: fc.boolean(),
      })
      .map(({ precision, exp, at, negative }) => {
        const x = tie(precision, exp, at)
        return x === undefined ? 1 : negative ? -x : x
      })
    const number = fc.oneof(constructed, fc.double({ noNaN: true, noDefaultInfinity: true }))
    await fc.assert(
      fc.asyncProperty(fc.array(number, { minLength: 1, maxLength: 60 }), async (xs) => {
        const onRedis = await redis.run(storeNumbers, [redis.key('p')], xs)
        const inMemory = await memory.run(storeNumbers, [memory.key('p')], xs)
        expect(inMemory).toEqual(onRedis)
      }),
      { numRuns: 200 }
    )
  })
})
