/**
 * @module proxy
 * Same-type wrappers: a `Proxy` over the SDK client (and over the resources on the path to each
 * wrapped method) that answers the wrapped names and forwards everything else. The SDK object
 * itself is never modified, so the unwrapped client keeps working as before.
 */
import { InvalidOptionsError } from '@aikit/core'

/** A method of a client as last read, and its copy bound to the client. */
interface Bound {
  readonly of: unknown
  readonly fn: unknown
}

/**
 * A proxy of `target` whose `overrides` win. Other methods: on a CLIENT (`bind: true`) they are
 * bound to the real object (its `#private` fields need the real `this`); on a RESOURCE
 * (`bind: false`) they run with the proxy as `this`, so the SDK's own helpers built on `create`
 * (`messages.stream`, `messages.parse`, `chat.completions.parse`) call the wrapped `create`.
 *
 * A client's `constructor` is its class itself, never bound (a bound copy has none of the class's
 * statics: `client.constructor.RateLimitError`). A bound copy is kept per method and made again
 * when the client's method is no longer the one it was made from (a method replaced on the
 * client, `vi.spyOn(client, 'post')`, is the one called from then on, as on the bare client).
 */
export function overlay<T extends object>(
  target: T,
  overrides: Readonly<Record<string, unknown>>,
  bind: boolean
): T {
  const bound = new Map<PropertyKey, Bound>()
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (typeof prop === 'string' && Object.hasOwn(overrides, prop)) return overrides[prop]
      if (!bind) return Reflect.get(t, prop, receiver)
      const value: unknown = Reflect.get(t, prop, t)
      if (typeof value !== 'function' || prop === 'constructor') return value
      let entry = bound.get(prop)
      if (entry === undefined || entry.of !== value) {
        entry = { of: value, fn: (value as (...args: unknown[]) => unknown).bind(t) }
        bound.set(prop, entry)
      }
      return entry.fn
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

/**
 * The object at `path` under `root` when it has a `create` method, else `undefined`: an optional
 * resource (a `beta` route an SDK version may not have).
 */
export function optionalResourceAt(
  root: unknown,
  path: readonly string[]
): Record<string, unknown> | undefined {
  try {
    return resourceAt(root, path)
  } catch {
    return undefined
  }
}

/**
 * Adds to a client's `overrides` its `withOptions(...)` (both SDKs: a copy of the client with some
 * settings changed), returning the new client wrapped by `rewrap`: the copy goes through the kit
 * as the client does (same cache, budget, guard, metrics), not around it. A client without
 * `withOptions` (a test double) gets nothing.
 */
export function rewrapWithOptions(
  client: object,
  overrides: Record<string, unknown>,
  rewrap: (derived: object) => unknown
): void {
  const withOptions: unknown = (client as Record<string, unknown>).withOptions
  if (typeof withOptions !== 'function') return
  overrides.withOptions = (...args: unknown[]): unknown => {
    const derived: unknown = withOptions.apply(client, args)
    if (typeof derived !== 'object' || derived === null) {
      throw new InvalidOptionsError('client', 'withOptions() did not return a client')
    }
    return rewrap(derived)
  }
}
