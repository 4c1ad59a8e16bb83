/**
 * @module known-options
 * Refusing option keys a factory does not know. A misspelt option (`trustproxy`, `maxbytes`)
 * would otherwise be ignored and its default silently used, which is how a security or budget
 * setting gets lost between a config file and the code.
 */
import { InvalidOptionsError } from './errors.js'

/** Edit distance between two short strings, capped: anything above `cap` returns `cap + 1`. */
function distance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const value = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost
      )
      current.push(value)
      if (value < rowMin) rowMin = value
    }
    if (rowMin > cap) return cap + 1
    previous = current
  }
  return previous[b.length] as number
}

/** The known key a misspelt one most likely meant, if any is close. */
function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase()
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of known) {
    const d = candidate.toLowerCase() === lower ? 0 : distance(lower, candidate.toLowerCase(), 2)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/**
 * Throws `InvalidOptionsError` naming the first own enumerable key of `options` that is not in
 * `known` (with the closest known name as a hint). `path` prefixes the field, e.g. `'limits[0].'`.
 * Keys whose value is `undefined` are refused too: `{ trustproxy: undefined }` is still a typo.
 */
export function rejectUnknownOptions(options: object, known: readonly string[], path = ''): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue
    const hint = closest(key, known)
    throw new InvalidOptionsError(
      `${path}${key}`,
      hint === undefined
        ? `is not a known option (known: ${known.join(', ')})`
        : `is not a known option; did you mean \`${path}${hint}\`?`
    )
  }
}
