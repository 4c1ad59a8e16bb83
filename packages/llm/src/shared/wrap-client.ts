/**
 * @module wrap-client
 * The client proxy both wrappers build: each wrapped route's `create` goes through the kit, the
 * resources on the way to it are proxied so the rest of the SDK still answers, and
 * `withOptions(...)` returns its copy wrapped the same way (see proxy.ts).
 */
import { type Flight, interceptCreate } from './engine.js'
import type { ResolvedOptions } from './options.js'
import { optionalResourceAt, overlay, resourceAt, rewrapWithOptions } from './proxy.js'
import type { ApiSpec } from './spec.js'

/** A wrapped method: the path of its resource under the client (`['chat', 'completions']`). */
export interface ClientRoute {
  readonly path: readonly string[]
  readonly spec: ApiSpec
  /** A route an SDK version may not have (`beta.*`): skipped when missing, not refused. */
  readonly optional?: boolean
}

type AnyCreate = (...args: unknown[]) => never

/** A resource on the way to the wrapped methods, and what its proxy answers itself. */
interface Node {
  readonly target: object
  readonly overrides: Record<string, unknown>
  readonly children: Map<string, Node>
}

/**
 * Wraps `client` with options already validated (`resolveOptions`). A required route the client
 * lacks throws `InvalidOptionsError('client')` (resourceAt). `flights`: per route, the calls in
 * flight, which a client's `withOptions()` copies share with it (identical calls through a copy
 * with another `timeout` coalesce with the parent's).
 */
export function wrapClient<C extends object>(
  client: C,
  resolved: ResolvedOptions,
  routes: readonly ClientRoute[],
  flights: Map<ClientRoute, Map<string, Flight>> = new Map()
): C {
  const root: Node = { target: client, overrides: {}, children: new Map() }
  // The resources' overrides: the SDK helpers that reach `create` through `this._client`
  // (`messages.stream`, `chat.completions.parse`, …) must find the wrapped client there.
  const wrappedResources: Record<string, unknown>[] = []
  for (const route of routes) {
    const resource = route.optional
      ? optionalResourceAt(client, route.path)
      : resourceAt(client, route.path)
    if (resource === undefined) continue
    let node = root
    for (const part of route.path) {
      let child = node.children.get(part)
      if (child === undefined) {
        const target = (node.target as Record<string, unknown>)[part] as object
        child = { target, overrides: {}, children: new Map() }
        node.children.set(part, child)
      }
      node = child
    }
    const real = (resource.create as AnyCreate).bind(resource)
    let routeFlights = flights.get(route)
    if (routeFlights === undefined) {
      routeFlights = new Map()
      flights.set(route, routeFlights)
    }
    node.overrides.create = interceptCreate(route.spec, resolved, real, client, routeFlights)
    wrappedResources.push(node.overrides)
  }
  const overridesOf = (node: Node): Record<string, unknown> => {
    for (const [name, child] of node.children) {
      node.overrides[name] = overlay(child.target, overridesOf(child), false)
    }
    return node.overrides
  }
  const overrides = overridesOf(root)
  rewrapWithOptions(client, overrides, (derived) => wrapClient(derived, resolved, routes, flights))
  const wrapped = overlay(client, overrides, true)
  for (const resource of wrappedResources) resource._client = wrapped
  wrappedClients().set(wrapped, Object.freeze({ budgeted: resolved.budget !== undefined }))
  return wrapped
}

/** What a wrapped client says of itself to the other AI Kit packages (see `wrappedClients`). */
export interface WrappedClientInfo {
  /** Wrapped with a `budget`: its calls are charged by the wrapper itself. */
  readonly budgeted: boolean
}

/**
 * The wrapped clients, by the proxy the wrapper returned: one map per process under a well-known
 * symbol, so another package reads it without importing this one, and two copies of this package
 * share it. `@aikit/queue` refuses a budgeted client (its worker would charge every job twice).
 */
function wrappedClients(): WeakMap<object, WrappedClientInfo> {
  const g = globalThis as Record<symbol, WeakMap<object, WrappedClientInfo> | undefined>
  const key = Symbol.for('@aikit/llm.wrapped-clients')
  let map = g[key]
  if (map === undefined) {
    map = new WeakMap()
    g[key] = map
  }
  return map
}
