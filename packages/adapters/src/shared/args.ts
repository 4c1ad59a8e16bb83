/**
 * @module shared/args
 * `(...middleware, options?)` argument handling shared by `toExpress` and `toNodeHandler`.
 */
import { compose, InvalidOptionsError, type Middleware } from '@aikit/core'

/**
 * Splits `(...middleware, options?)`: a trailing plain object (not a function) is the options.
 * `middleware` is the list composed; `list` the list itself.
 */
export function splitArgs<O extends object>(
  args: readonly unknown[]
): { middleware: Middleware; list: Middleware[]; options: O | undefined } {
  let end = args.length
  let options: O | undefined
  const last = args[end - 1]
  if (end > 0 && typeof last !== 'function') {
    if (typeof last !== 'object' || last === null || Array.isArray(last)) {
      throw new InvalidOptionsError(
        `middleware[${end - 1}]`,
        'must be a function (ctx, next) => Promise, or a trailing options object'
      )
    }
    options = last as O
    end--
  }
  const list = args.slice(0, end) as Middleware[]
  // compose validates every entry; `list` is the same middleware, uncomposed.
  return { middleware: compose(...list), list, options }
}
