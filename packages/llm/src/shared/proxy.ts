/**
 * @module proxy
 * Same-type wrappers: a `Proxy` over the SDK client (and over the resources on the path to each
 * wrapped method) that answers the wrapped names and forwards everything else. The SDK object
 * itself is never modified, so the unwrapped client keeps working as before.
 */
import { InvalidOptionsError } from '@aikit/core'

/**
 * A proxy of `target` whose `overrides` win. Other methods: on a CLIENT (`bind: true`) they are
 * bound to the real object (its `#private` fields need the real `this`); on a RESOURCE
 * (`bind: false`) they run with the proxy as `this`, so the SDK's own helpers built on `create`
 * (`messages.stream`, `messages.parse`, `chat.completions.parse`) call the wrapped `create`.
 */
export function overlay<T extends object>(
  target: T,
  overrides: Readonly<Record<string, unknown>>,
  bind: boolean
): T {
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (typeof prop === 'string' && Object.hasOwn(overrides, prop)) return overrides[prop]
      if (!bind) return Reflect.get(t, prop, receiver)
      const value: unknown = Reflect.get(t, prop, t)
      if (typeof value !== 'function') return value
      let fn = bound.get(prop)
      if (fn === undefined) {
        fn = (value as (...args: unknown[]) => unknown).bind(t)
        bound.set(prop, fn)
      }
      return fn
    },
  })
}

/** The object at `path` under `root`, checked to have a `create` method (a missing method fails loudly). */
export function resourceAt(root: unknown, path: readonly string[]): Record<string, unknown> {
  let node: unknown = root
  for (const part of path) {
    node =
      typeof node === 'object' && node !== null
        ? (node as Record<string, unknown>)[part]
        : undefined
  }
  if (
    typeof node !== 'object' ||
    node === null ||
    typeof (node as Record<string, unknown>).create !== 'function'
  ) {
    throw new InvalidOptionsError(
      'client',
      `has no ${path.join('.')}.create() method (unsupported SDK version?)`
    )
  }
  return node as Record<string, unknown>
}
