/**
 * @module express-layer
 * One Express mount layer matched against the start of a piece of `req.baseUrl`: the text it
 * matched, and the template of that text, made only of what the app registered (never of client
 * text that no template describes: a label built from it would have unbounded values). Express 5
 * (router 2) layers keep the mount paths as given, so the template is the path that matched;
 * Express 4 layers keep only the compiled expression, so the template is rebuilt from where its
 * capture groups matched, and checked against the expression.
 */

/** A router layer: a mount (`use`) or a route, Express 5 (router 2) or Express 4. */
export interface LayerLike {
  handle?: unknown
  route?: unknown
  /** router 2: `use('/')` matches everything, consuming nothing. */
  slash?: unknown
  /** router 2: one path-to-regexp `match` function per path, pure (no state on the layer). */
  matchers?: unknown
  /** router 2: the path(s) as given to `use`, flattened (one per matcher). */
  rawPath?: unknown
  /** Express 4: the compiled path (the app's own for a RegExp path), its groups named by `keys`. */
  regexp?: unknown
  keys?: unknown
}

export interface MountMatch {
  /** The text the layer matched. */
  path: string
  /** Its template; `undefined` when the layer's paths cannot be read (no label from it). */
  template: string | undefined
  /** What is left of the text for the layers below. */
  rest: string
}

/** A mount layer matched against the start of `text`, ending where a segment ends (as Express requires). */
export function matchMount(layer: LayerLike, text: string): MountMatch | undefined {
  let match: { path: string; template: string | undefined } | undefined
  try {
    match = Array.isArray(layer.matchers) ? matchRouter2(layer, text) : matchExpress4(layer, text)
  } catch {
    // A value Express could not decode either (it answered 400): no template from it.
    return undefined
  }
  if (match === undefined || !text.startsWith(match.path)) return undefined
  const rest = text.slice(match.path.length)
  if (rest !== '' && rest[0] !== '/') return undefined
  return { path: match.path, template: match.template, rest }
}

/** Per router 2 layer: the template of each of its paths (layers live as long as the app). */
const templatesOf = new WeakMap<LayerLike, (string | undefined)[]>()

function matchRouter2(
  layer: LayerLike,
  text: string
): { path: string; template: string | undefined } | undefined {
  if (layer.slash === true) return { path: '', template: '' }
  const matchers = layer.matchers as unknown[]
  for (let i = 0; i < matchers.length; i++) {
    const matcher = matchers[i]
    if (typeof matcher !== 'function') continue
    const m = matcher(text) as { path?: unknown } | false
    if (!m || typeof m.path !== 'string') continue
    let templates = templatesOf.get(layer)
    if (templates === undefined) {
      const paths = layer.rawPath
      templates = matchers.map((_, j) => pathTemplate(Array.isArray(paths) ? paths[j] : paths))
      templatesOf.set(layer, templates)
    }
    return { path: m.path, template: templates[i] }
  }
  return undefined
}

/** `:name`, `:"quoted name"`, `*name`, `*"quoted"` (path-to-regexp 8), or an escaped character. */
const PATH_TOKEN = /[:*](?:"(?:\\.|[^"\\])+"|[$\p{ID_Continue}]+)|\\./gu

/**
 * A router 2 mount path as its template: as written, its literal text lower-cased (see `literal`
 * in mount-template.ts), without the trailing slashes mounts ignore. A RegExp path: the
 * expression, as Express's own `req.route.path` gives a RegExp route.
 */
function pathTemplate(path: unknown): string | undefined {
  if (path instanceof RegExp) return String(path)
  if (typeof path !== 'string') return undefined
  let template = ''
  let at = 0
  for (const m of path.matchAll(PATH_TOKEN)) {
    template += path.slice(at, m.index).toLowerCase() + m[0]
    at = m.index + m[0].length
  }
  template += path.slice(at).toLowerCase()
  return template === '/' ? '' : template.replace(/\/+$/, '')
}

type Express4RegExp = RegExp & { fast_slash?: boolean; fast_star?: boolean }

/** Per compiled expression: a copy reporting where its groups matched (the `d` flag). */
const withIndices = new WeakMap<RegExp, RegExp>()
/** Per compiled expression: its source without escapes, lower-cased (see `boundedRun`). */
const sourceText = new WeakMap<RegExp, string>()

function matchExpress4(
  layer: LayerLike,
  text: string
): { path: string; template: string | undefined } | undefined {
  const regexp = layer.regexp as Express4RegExp | null
  if (!(regexp instanceof RegExp)) return undefined
  if (regexp.fast_slash === true) return { path: '', template: '' }
  if (regexp.fast_star === true) return { path: text, template: '*' }
  let indexed = withIndices.get(regexp)
  if (indexed === undefined) {
    // Express 4 runs the layer's own expression (with its lastIndex, if global): a copy, so
    // matching here leaves no state on it.
    indexed = new RegExp(regexp.source, `${regexp.flags.replace(/[dgy]/g, '')}d`)
    withIndices.set(regexp, indexed)
  }
  const m = indexed.exec(text)
  if (m === null || m.index !== 0) return undefined
  const keys = Array.isArray(layer.keys) ? (layer.keys as { name?: unknown }[]) : []
  const runs: string[] = []
  let template = ''
  let at = 0
  for (let i = 1; i < m.length; i++) {
    const span = m.indices?.[i]
    // A group that did not take part, or one inside a group already placed.
    if (span === undefined || span[0] < at) continue
    const run = text.slice(at, span[0])
    runs.push(run)
    const name = keys[i - 1]?.name
    // Unnamed groups (`*`, `(\\d+)`, a RegExp's) give params `0`, `1`…: a wildcard.
    template += `${literalRun(run)}${typeof name === 'string' && !/^\d+$/.test(name) ? `:${name}` : '*'}`
    at = span[1]
  }
  const last = m[0].slice(at)
  runs.push(last)
  template += literalRun(last)
  if (!runs.every((run) => boundedRun(run, regexp))) template = String(regexp)
  return { path: m[0], template }
}

/** Percent-escapes are decoded by nothing here: the run is kept as the client spelt it, lower-cased. */
function literalRun(run: string): string {
  return run.toLowerCase()
}

/**
 * Whether the text the expression matched outside its groups is the app's: each of its segments
 * written out in the expression (`/api/v1` in `^\/api\/v1\/?(?=\/|$)`). A quantifier or a class
 * (`/ab+cd`, `/^\/v\d+/`) matches text that is not (`abbbcd`, `v22`). Only substrings of the
 * expression pass, so the labels made of them are bounded whatever clients send.
 */
function boundedRun(run: string, regexp: RegExp): boolean {
  let source = sourceText.get(regexp)
  if (source === undefined) {
    source = regexp.source.replace(/\\/g, '').toLowerCase()
    sourceText.set(regexp, source)
  }
  for (const segment of run.toLowerCase().split('/')) {
    if (segment !== '' && !source.includes(segment)) return false
  }
  return true
}
