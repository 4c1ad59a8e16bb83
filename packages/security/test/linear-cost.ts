/**
 * How the linearity tests measure without asserting a duration: the cost of 16 inputs of n
 * characters against the cost of one input of 16n characters, best of 5 each. Linear work makes
 * them about equal; quadratic work makes the long one 16 times dearer.
 */
import { promptGuard } from '../src/prompt-guard.js'

const guard = promptGuard({ maxInputTokens: 10_000_000 })

/** The best of `runs` timings of `fn` (the least disturbed by other work on the machine). */
async function best(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  let min = Number.POSITIVE_INFINITY
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await fn()
    min = Math.min(min, performance.now() - start)
  }
  return min
}

/** Cost of one input of 16n characters over the cost of 16 inputs of n characters. */
export async function longOverShort(
  make: (n: number) => Parameters<typeof guard.checkInput>[0]
): Promise<number> {
  const n = 4_000
  const short = make(n)
  const long = make(16 * n)
  await guard.checkInput(short) // warm up
  const shortCost = await best(async () => {
    for (let i = 0; i < 16; i++) await guard.checkInput(short)
  })
  const longCost = await best(() => guard.checkInput(long))
  return longCost / Math.max(shortCost, 0.001)
}
