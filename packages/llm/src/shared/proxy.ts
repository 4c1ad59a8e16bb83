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
 * A proxy of `target` whose `overrides` win. Other methods: on a CLIENT (`bind: true`) the class's
 * methods are bound to the real object (its `#private` fields need the real `this`); on a RESOURCE
 * (`bind: false`) they run with the proxy as `this`, so the SDK's own helpers built on `create`
 * (`messages.stream`, `messages.parse`, `chat.completions.parse`) call the wrapped `create`.
 *
 * A client's `constructor` is its class itself, never bound (a bound copy has none of the class's
 * statics: `client.constructor.RateLimitError`). A bound copy is kept per method and made again
 * when the client's method is no longer the one it was made from. A function that is an own
 * property of the client (a method replaced on it, `vi.spyOn(client, 'post')`) is handed back as it
 * is, as on the bare client: `client.post` is the spy, and the one called from then on.
 *
 * An overridden name (`create` of a resource) replaced on the proxy (`vi.spyOn(wrapped.messages,
 * 'create')`, an assignment, a `defineProperty`) keeps its replacement in the proxy, never on the
 * SDK's object: the proxy answers the replacement from then on, which wraps the kit's method (what
 * the proxy reports as its own `create`), as a spy on the bare resource wraps the SDK's. Putting
 * the kit's method back (a spy's `mockRestore()`) or deleting the name ends the replacement.
 */
export function overlay<T extends object>(
  target: T,
  overrides: Readonly<Record<string, unknown>>,
  bind: boolean
): T {
  const bound = new Map<PropertyKey, Bound>()
  // Replacements of overridden names (made on the first one: most proxies never get one).
  let replaced: Map<PropertyKey, PropertyDescriptor> | undefined
  const overridden = (prop: PropertyKey): boolean =>
    typeof prop === 'string' && Object.hasOwn(overrides, prop)
  /** What the proxy reports for an overridden name: its replacement, else the override. */
  const describe = (prop: PropertyKey): PropertyDescriptor =>
    replaced?.get(prop) ?? {
      value: overrides[prop as string],
      writable: true,
      enumerable: Object.getOwnPropertyDescriptor(target, prop)?.enumerable ?? false,
      configurable: true,
    }
  /** Replaces an overridden name (`descriptor` may be partial, as `Object.defineProperty` takes). */
  const replace = (prop: PropertyKey, descriptor: PropertyDescriptor): void => {
    const previous = describe(prop)
    let next: PropertyDescriptor
    if ('get' in descriptor || 'set' in descriptor) {
      next = {
        enumerable: descriptor.enumerable ?? previous.enumerable ?? false,
        configurable: true,
      }
      const get = descriptor.get ?? previous.get
      const set = descriptor.set ?? previous.set
      if (get !== undefined) next.get = get
      if (set !== undefined) next.set = set
    } else {
      next = {
        value: 'value' in descriptor ? descriptor.value : previous.value,
        writable: descriptor.writable ?? previous.writable ?? true,
        enumerable: descriptor.enumerable ?? previous.enumerable ?? false,
        configurable: true,
      }
    }
    // The kit's own method put back (a spy restored): no replacement any more.
    if (
      next.get === undefined &&
      next.set === undefined &&
      next.value === overrides[prop as string]
    ) {
      replaced?.delete(prop)
      return
    }
    replaced ??= new Map()
    replaced.set(prop, next)
  }
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (overridden(prop)) {
        const replacement = replaced?.get(prop)
        if (replacement === undefined) return overrides[prop as string]
        return replacement.get !== undefined
          ? replacement.get.call(receiver)
          : 'value' in replacement
            ? replacement.value
            : undefined
      }
      if (!bind) return Reflect.get(t, prop, receiver)
      const value: unknown = Reflect.get(t, prop, t)
      if (typeof value !== 'function' || prop === 'constructor' || Object.hasOwn(t, prop)) {
        return value
      }
      let entry = bound.get(prop)
      if (entry === undefined || entry.of !== value) {
        entry = { of: value, fn: (value as (...args: unknown[]) => unknown).bind(t) }
        bound.set(prop, entry)
      }
      return entry.fn
    },
    set(t, prop, value, receiver) {
      if (!overridden(prop)) return Reflect.set(t, prop, value, receiver)
      const replacement = replaced?.get(prop)
      if (replacement?.set !== undefined) {
        replacement.set.call(receiver, value)
        return true
      }
      if (replacement?.get !== undefined || replacement?.writable === false) return false
      replace(prop, { value })
      return true
    },
    defineProperty(t, prop, descriptor) {
      // A non-configurable one must be the target's own (the proxy's invariants): left to it.
      if (!overridden(prop) || descriptor.configurable === false) {
        return Reflect.defineProperty(t, prop, descriptor)
      }
      replace(prop, descriptor)
      return true
    },
    getOwnPropertyDescriptor(t, prop) {
      const own = Reflect.getOwnPropertyDescriptor(t, prop)
      if (!overridden(prop) || own?.configurable === false) return own
      return describe(prop)
    },
    deleteProperty(t, prop) {
      if (!overridden(prop)) return Reflect.deleteProperty(t, prop)
      replaced?.delete(prop)
      return true
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
