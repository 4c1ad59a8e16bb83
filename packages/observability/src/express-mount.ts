/**
 * @module express-mount
 * The mount path template behind Express's `req.baseUrl` (the text the mount paths matched, e.g.
 * `/users/42` for `app.use('/users/:id', router)`), found in the app's router tree: the chain of
 * mount layers from the app's router down to the layer of `req.route`, each matched again against
 * its piece of `baseUrl` (see express-layer.ts for a layer's template). `req.params` cannot be used
 * for this: a router made without `mergeParams` never sees its mount path's params. Express 5
 * (router 2) and Express 4 layers.
 */
import { type LayerLike, type MountMatch, matchMount } from './express-layer.js'

interface AppLike {
  _router?: unknown
  router?: unknown
  parent?: unknown
  mountpath?: unknown
}

/** Nested routers deeper than this are not searched (a router mounted in itself loops). */
const MAX_DEPTH = 32
/**
 * Chains of mounts remembered per route (a router can be mounted in several places); a route with
 * more is searched for on every request.
 */
const MAX_CHAINS = 16
/** Layers visited at most by one walk of the tree (routers mounted in each other multiply). */
const MAX_VISITS = 10_000

/**
 * What is known of a route in one tree: every chain of mounts leading to it, in the order Express
 * tries them, so the first that explains `baseUrl` is the one Express took (an earlier request
 * through another chain does not decide it); the layer count of every stack walked, to notice a
 * layer added since (a router mounted later, a route added to a router); and the functions found
 * to stand for routers outside the tree (see `search`).
 */
interface RouteChains {
  /** `undefined` when there are more than `MAX_CHAINS` (or the walk was cut short). */
  chains: LayerLike[][] | undefined
  stamps: [LayerLike[], number][]
  fallbacks: LayerLike[][]
}

/** Per root router stack, per Route. Both live as long as the app: bounded by its routes. */
const chainsOf = new WeakMap<object, WeakMap<object, RouteChains>>()
/** Per request: routeOf is read by the metrics, every log line and Sentry's tags. */
const lastOf = new WeakMap<object, { base: string; route: object; mount: string | undefined }>()

/**
 * The template of `base` (`req.baseUrl`) for a request Express routed to `route`: each mount path
 * as registered (see express-layer.ts). `undefined` when no chain of mounts in the app's router
 * tree explains `base`, or the tree cannot be read (another router version): the unmatched route,
 * never the raw text. `null` when `req` has no Express app to search.
 */
export function expressMountTemplate(
  req: object,
  route: object,
  base: string
): string | undefined | null {
  const last = lastOf.get(req)
  if (last !== undefined && last.base === base && last.route === route) return last.mount
  const app = (req as { app?: unknown }).app
  if ((typeof app !== 'function' && typeof app !== 'object') || app === null) return null
  const apps = appChain(app)
  const rootStack = apps === undefined ? undefined : stackOf(apps[0]!)
  let mount: string | undefined
  if (apps !== undefined && rootStack !== undefined) {
    const pieces = piecesOf(rootStack, apps, route, base)
    if (pieces !== undefined) mount = templateOf(pieces)
  }
  lastOf.set(req, { base, route, mount })
  return mount
}

function templateOf(pieces: MountMatch[]): string | undefined {
  let mount = ''
  for (const piece of pieces) {
    if (piece.template === undefined) return undefined
    mount += piece.template
  }
  return mount
}

/** The pieces of `base` the chain Express took to `route` matched, from what is known or a search. */
function piecesOf(
  rootStack: LayerLike[],
  apps: AppLike[],
  route: object,
  base: string
): MountMatch[] | undefined {
  let byRoute = chainsOf.get(rootStack)
  if (byRoute === undefined) {
    byRoute = new WeakMap()
    chainsOf.set(rootStack, byRoute)
  }
  let known = byRoute.get(route)
  if (known === undefined || !unchanged(known.stamps)) {
    known = enumerate(rootStack, apps, route)
    byRoute.set(route, known)
  }
  if (known.chains !== undefined) {
    for (const chain of known.chains) {
      const pieces = replay(chain, base)
      if (pieces !== undefined) return pieces
    }
  }
  for (const chain of known.fallbacks) {
    const pieces = replay(chain, base)
    if (pieces !== undefined) return pieces
  }
  // Nothing known explains `base`: a route with too many chains, or a router the app calls from a
  // function of its own. A walk of the tree, as Express's own dispatch walks it, on every such
  // request when nothing explains it.
  const fallback: { chain?: LayerLike[] } = {}
  const chain = search(rootStack, base, apps, 0, route, 0, [], fallback, { left: MAX_VISITS })
  if (chain !== undefined) return replay(chain, base)
  if (fallback.chain === undefined) return undefined
  if (known.fallbacks.length >= MAX_CHAINS) known.fallbacks.shift()
  known.fallbacks.push(fallback.chain)
  return replay(fallback.chain, base)
}

function unchanged(stamps: [LayerLike[], number][]): boolean {
  for (const [stack, length] of stamps) if (stack.length !== length) return false
  return true
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

/** Every chain of mount layers leading to the layer of `route` in the innermost app, in stack order. */
function enumerate(rootStack: LayerLike[], apps: AppLike[], route: object): RouteChains {
  const found: RouteChains = { chains: [], stamps: [], fallbacks: [] }
  const budget = { left: MAX_VISITS }
  const stamped = new Set<LayerLike[]>()
  const walk = (stack: LayerLike[], level: number, depth: number, chain: LayerLike[]): boolean => {
    if (!stamped.has(stack)) {
      stamped.add(stack)
      found.stamps.push([stack, stack.length])
    }
    if (depth > MAX_DEPTH) return false
    const innermost = level === apps.length - 1
    for (const layer of stack) {
      if (--budget.left < 0) return false
      if (layer === null || typeof layer !== 'object') continue
      if (layer.route !== undefined) {
        if (layer.route !== route || !innermost) continue
        found.chains!.push([...chain])
        if (found.chains!.length > MAX_CHAINS) return false
        continue
      }
      const inner = innerOf(layer, apps, level)
      if (inner === undefined) continue
      chain.push(layer)
      const complete = walk(inner.stack, inner.level, depth + 1, chain)
      chain.pop()
      if (!complete) return false
    }
    return true
  }
  if (!walk(rootStack, 0, 0, [])) found.chains = undefined
  return found
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
  fallback: { chain?: LayerLike[] },
  budget: { left: number }
): LayerLike[] | undefined {
  if (depth > MAX_DEPTH) return undefined
  const innermost = level === apps.length - 1
  for (const layer of stack) {
    if (--budget.left < 0) return undefined
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
      fallback,
      budget
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
