/**
 * How the linearity tests measure without asserting a duration: the cost of 16 inputs of n
 * characters against the cost of one input of 16n characters. Linear work makes them about equal;
 * quadratic work makes the long one 16 times dearer.
 */
import { promptGuard } from '../src/prompt-guard.js'

const guard = promptGuard({ maxInputTokens: 10_000_000 })

/** Each timing repeats its work until it lasts about this long: a 1 ms timing is mostly noise. */
const SAMPLE_MS = 20
/** Timings of each side: the best is the least disturbed by other work on the machine. */
const RUNS = 11

/**
 * The time `fn` took on this thread, in ms: the lesser of its wall time (which counts the time the
 * loaded runner gave other processes) and this process's CPU time (which counts V8's helper
 * threads), each at least the work done.
 */
async function timeOf(fn: () => unknown): Promise<number> {
  const cpu = process.cpuUsage()
  const start = performance.now()
  await fn()
  const wall = performance.now() - start
  const used = process.cpuUsage(cpu)
  return Math.min(wall, (used.user + used.system) / 1_000)
}

/**
 * The cost of `long` over the cost of `short`: each repeated to about SAMPLE_MS a timing, best of
 * RUNS timings taken alternately (a busy spell of the machine weighs on both sides alike).
 */
export async function costRatio(short: () => unknown, long: () => unknown): Promise<number> {
  await short() // warm up
  await long()
  const once = Math.max(await timeOf(short), await timeOf(long), 0.01)
  const repeats = Math.min(200, Math.ceil(SAMPLE_MS / once))
  const repeated = (fn: () => unknown) => async () => {
    for (let i = 0; i < repeats; i++) await fn()
  }
  let shortCost = Number.POSITIVE_INFINITY
  let longCost = Number.POSITIVE_INFINITY
  for (let i = 0; i < RUNS; i++) {
    shortCost = Math.min(shortCost, await timeOf(repeated(short)))
    longCost = Math.min(longCost, await timeOf(repeated(long)))
  }
  return longCost / Math.max(shortCost, 0.001)
}

/** Cost of one input of 16n characters over the cost of 16 inputs of n characters. */
export async function longOverShort(
  make: (n: number) => Parameters<typeof guard.checkInput>[0]
): Promise<number> {
  const n = 4_000
  const short = make(n)
  const long = make(16 * n)
  return costRatio(
    async () => {
      for (let i = 0; i < 16; i++) await guard.checkInput(short)
    },
    () => guard.checkInput(long)
  )
}
