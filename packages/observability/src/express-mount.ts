/**
 * @module express-mount
 * The mount path template behind Express's `req.baseUrl` (the text the mount paths matched, e.g.
 * `/users/42` for `app.use('/users/:id', router)`), found in the app's router tree: the chain of
 * mount layers from the app's router down to the layer of `req.route`, each matched again against
 * its piece of `baseUrl`. `req.params` cannot be used for this: a router made without
 * `mergeParams` never sees its mount path's params. Express 5 (router 2) and Express 4 layers.
 */
import { placeParams } from './mount-template.js'

/** A router layer: a mount (`use`) or a route, Express 5 (router 2) or Express 4. */
interface LayerLike {
  handle?: unknown
  route?: unknown
  /** router 2: `use('/')` matches everything, consuming nothing. */
  slash?: unknown
  /** router 2: one path-to-regexp `match` function per path, pure (no state on the layer). */
  matchers?: unknown
  /** router 2: the path(s) as given to `use`. */
  rawPath?: unknown
  /** Express 4: the compiled path, its capture groups named by `keys`. */
  regexp?: unknown
  keys?: unknown
}

interface AppLike {
  _router?: unknown
  router?: unknown
  parent?: unknown
  mountpath?: unknown
}

interface MountMatch {
  /** The text the layer matched. */
  path: string
  params: Record<string, unknown>
  /** What is left of `baseUrl` for the layers below. */
  rest: string
}

/** Nested routers deeper than this are not searched (a router mounted in itself loops). */
const MAX_DEPTH = 32
/** Chains remembered per route (a router can be mounted in several places). */
const MAX_CHAINS = 8

/** Per root router stack, per Route: the chains of mount layers found to lead to it. */
const chainsOf = new WeakMap<object, WeakMap<object, LayerLike[][]>>()
/** Per request: routeOf is read by the metrics, every log line and Sentry's tags. */
const lastOf = new WeakMap<object, { base: string; route: object; mount: string | undefined }>()

/**
 * The template of `base` (`req.baseUrl`) for a request Express routed to `route`: each mount
 * path's params as `:name`, its literal segments lower-cased (see `placeParams`). `undefined` when
 * no chain of mounts in the app's router tree explains `base`: the unmatched route, never the raw
 * text. `null` when `req` has no Express app to search.
 */
export function expressMountTemplate(
  req: object,
  route: object,
  base: string
): string | undefined | null {
  const last = lastOf.get(req)
  if (last !== undefined && last.base === base && last.route === route) return last.mount
  const apps = appChain((req as { app?: unknown }).app)
  const rootStack = apps === undefined ? undefined : stackOf(apps[0]!)
  if (apps === undefined || rootStack === undefined) return null
  let byRoute = chainsOf.get(rootStack)
  if (byRoute === undefined) {
    byRoute = new WeakMap()
    chainsOf.set(rootStack, byRoute)
  }
  let chains = byRoute.get(route)
  let pieces: MountMatch[] | undefined
  for (const chain of chains ?? []) {
    pieces = replay(chain, base)
    if (pieces !== undefined) break
  }
  if (pieces === undefined) {
    const fallback: { chain?: LayerLike[] } = {}
    const chain = search(rootStack, base, apps, 0, route, 0, [], fallback) ?? fallback.chain
    if (chain !== undefined) {
      pieces = replay(chain, base)
      if (chains === undefined) {
        chains = []
        byRoute.set(route, chains)
      }
      if (chains.length >= MAX_CHAINS) chains.shift()
      chains.push(chain)
    }
  }
  let mount: string | undefined
  if (pieces !== undefined) {
    mount = ''
    for (const piece of pieces) {
      const template = placeParams(piece.path, Object.keys(piece.params), piece.params)
      if (template === undefined) {
        mount = undefined
        break
      }
      mount += template
    }
  }
  lastOf.set(req, { base, route, mount })
  return mount
}

/** The apps from the outermost down to `app` (a sub-app's `parent` is the app it is mounted on). */
function appChain(app: unknown): AppLike[] | undefined {
  const apps: AppLike[] = []
  let current = app
  while ((typeof current === 'function' || typeof current === 'object') && current !== null) {
    apps.unshift(current as AppLike)
    if (apps.length > MAX_DEPTH) return undefined
    current = (current as AppLike).parent
  }
  return apps.length === 0 ? undefined : apps
}

/** An app's router stack: Express 4 keeps the router in `_router` (its `router` getter throws). */
function stackOf(app: AppLike): LayerLike[] | undefined {
  let router = app._router
  if (router === undefined) {
    try {
      router = app.router
    } catch {
      return undefined
    }
  }
  const stack = (router as { stack?: unknown } | undefined)?.stack
  return Array.isArray(stack) ? (stack as LayerLike[]) : undefined
}

/**
 * Depth-first, in stack order (the order Express tries layers), the mount layers whose paths
 * consume `text` and lead to the layer of `route`, in the innermost app. Failing that, the mount
 * layers down to the first plain function mounted on exactly the rest of `text`: a router the app
 * calls from a function of its own (`app.use('/users/:id', (req, res, next) => router(req, res,
 * next))`) is not in the tree, and that function's mount path stands for the router's.
 */
function search(
  stack: LayerLike[],
  text: string,
  apps: AppLike[],
  level: number,
  route: object,
  depth: number,
  chain: LayerLike[],
  fallback: { chain?: LayerLike[] }
): LayerLike[] | undefined {
  if (depth > MAX_DEPTH) return undefined
  const innermost = level === apps.length - 1
  for (const layer of stack) {
    if (layer === null || typeof layer !== 'object') continue
    if (layer.route !== undefined) {
      if (layer.route === route && text === '' && innermost) return [...chain]
      continue
    }
    const inner = innerOf(layer, apps, level)
    if (inner === undefined) {
      if (fallback.chain === undefined && innermost && typeof layer.handle === 'function') {
        if (matchMount(layer, text)?.rest === '') fallback.chain = [...chain, layer]
      }
      continue
    }
    const match = matchMount(layer, text)
    if (match === undefined) continue
    chain.push(layer)
    const found = search(
      inner.stack,
      match.rest,
      apps,
      inner.level,
      route,
      depth + 1,
      chain,
      fallback
    )
    chain.pop()
    if (found !== undefined) return found
  }
  return undefined
}

/** The stack a mount layer hands requests to: a router's, or (`app.use(path, subApp)`) an app's. */
function innerOf(
  layer: LayerLike,
  apps: AppLike[],
  level: number
): { stack: LayerLike[]; level: number } | undefined {
  if (typeof layer.handle !== 'function') return undefined
  const handle = layer.handle as { stack?: unknown; name?: unknown }
  if (Array.isArray(handle.stack)) return { stack: handle.stack as LayerLike[], level }
  // Express wraps a mounted app in a function of this name, which does not expose the app: the
  // app is the next one down from `req.app` to the outermost.
  const sub = apps[level + 1]
  if (handle.name !== 'mounted_app' || sub === undefined) return undefined
  if (layer.rawPath !== undefined && !samePath(layer.rawPath, sub.mountpath)) return undefined
  const stack = stackOf(sub)
  return stack === undefined ? undefined : { stack, level: level + 1 }
}

/** router 2 keeps the mount path(s) flattened; `mountpath` is what was given to `use`. */
function samePath(rawPath: unknown, mountpath: unknown): boolean {
  const a = Array.isArray(rawPath) ? rawPath : [rawPath]
  const b = Array.isArray(mountpath) ? mountpath.flat(Number.POSITIVE_INFINITY) : [mountpath]
  return a.length === b.length && a.every((p, i) => p === b[i])
}

/** The layers of `chain` matched again, each against what the previous ones left of `base`. */
function replay(chain: LayerLike[], base: string): MountMatch[] | undefined {
  const pieces: MountMatch[] = []
  let text = base
  for (const layer of chain) {
    const match = matchMount(layer, text)
    if (match === undefined) return undefined
    pieces.push(match)
    text = match.rest
  }
  return text === '' ? pieces : undefined
}

/** A mount layer matched against the start of `text`, ending where a segment ends (as Express requires). */
function matchMount(layer: LayerLike, text: string): MountMatch | undefined {
  const match = matchLayer(layer, text)
  if (match === undefined || !text.startsWith(match.path)) return undefined
  const rest = text.slice(match.path.length)
  if (rest !== '' && rest[0] !== '/') return undefined
  return { path: match.path, params: match.params, rest }
}

/** A layer's match of `text`, without the state Express 4's `layer.match()` leaves on the layer. */
function matchLayer(
  layer: LayerLike,
  text: string
): { path: string; params: Record<string, unknown> } | undefined {
  try {
    if (Array.isArray(layer.matchers)) {
      if (layer.slash === true) return { path: '', params: {} }
      for (const matcher of layer.matchers) {
        if (typeof matcher !== 'function') continue
        const m = matcher(text) as { path?: unknown; params?: unknown } | false
        if (m && typeof m.path === 'string') {
          return { path: m.path, params: (m.params ?? {}) as Record<string, unknown> }
        }
      }
      return undefined
    }
    const regexp = layer.regexp as (RegExp & { fast_slash?: boolean; fast_star?: boolean }) | null
    if (!(regexp instanceof RegExp)) return undefined
    if (regexp.fast_slash === true) return { path: '', params: {} }
    if (regexp.fast_star === true) return { path: text, params: { 0: decode(text) } }
    const m = regexp.exec(text)
    if (m === null) return undefined
    const keys = Array.isArray(layer.keys) ? (layer.keys as { name?: unknown }[]) : []
    const params: Record<string, unknown> = {}
    for (let i = 1; i < m.length; i++) {
      const name = keys[i - 1]?.name ?? i - 1
      if (m[i] !== undefined) params[String(name)] = decode(m[i]!)
    }
    return { path: m[0], params }
  } catch {
    // A value Express could not decode either (it answered 400): no template from it.
    return undefined
  }
}

function decode(value: string): string {
  return value.includes('%') ? decodeURIComponent(value) : value
}
