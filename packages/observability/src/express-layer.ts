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
/** Per compiled expression: whether it is literal outside its capture groups (see `literalOutside`). */
const literalOf = new WeakMap<RegExp, boolean>()

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
  let literal = literalOf.get(regexp)
  if (literal === undefined) {
    literal = literalOutside(regexp.source)
    literalOf.set(regexp, literal)
  }
  // The text between the groups is the client's: a template only where the expression allows
  // nothing there but its own text (in any case, when case-insensitive).
  if (!literal) return { path: m[0], template: String(regexp) }
  const keys = Array.isArray(layer.keys) ? (layer.keys as { name?: unknown }[]) : []
  let template = ''
  let at = 0
  for (let i = 1; i < m.length; i++) {
    const span = m.indices?.[i]
    // A group that did not take part, or one inside a group already placed.
    if (span === undefined || span[0] < at) continue
    const name = keys[i - 1]?.name
    // Unnamed groups (`*`, `(\\d+)`, a RegExp's) give params `0`, `1`…: a wildcard.
    template += `${text.slice(at, span[0]).toLowerCase()}${typeof name === 'string' && !/^\d+$/.test(name) ? `:${name}` : '*'}`
    at = span[1]
  }
  template += m[0].slice(at).toLowerCase()
  return { path: m[0], template }
}

/**
 * Whether an expression matches nothing but its own text outside its capture groups, so that the
 * text matched there is the app's: `^\/api\/v1\/?(?=\/|$)`, `^\/users(?:\/([^\/]+?))\/?(?=\/|$)`,
 * path-to-regexp's arrays of paths (`^\/one…|^\/two…`). Not when a character or a group there is
 * repeated or optional (`/ab+cd`, `/abc?`, `(?:ab)?`: the text matched would be a prefix or a
 * repetition of the app's), a class, `.` or an alphanumeric escape matches several characters
 * (`/x/[a-z]`, `\d`), an alternation inside a group picks among spellings (`/(ab|cd)e`), or a
 * lookaround captures (its group may lie past the match). Allowed: anchors and lookarounds
 * (they match no text), an optional `/` (the trailing slash), a `?` after a group holding a
 * capture (an optional param).
 */
function literalOutside(source: string): boolean {
  return scan(source, 0, 'outside', 0) === source.length
}

type ScanMode = 'outside' | 'capture' | 'lookaround'

/** A `{n}`, `{n,}` or `{n,m}` quantifier at `i`. */
const BRACES = /^\{\d+(?:,\d*)?\}/

/**
 * Scans `s` from `i` to the `)` closing the current group (or the end) under `mode`'s rules
 * (see `literalOutside`); the index reached, or -1. `depth`: groups open around `i`.
 */
function scan(s: string, i: number, mode: ScanMode, depth: number): number {
  while (i < s.length && s[i] !== ')') {
    const c = s[i]!
    if (c === '\\') {
      const next = s[i + 1]
      if (next === undefined) return -1
      if (mode === 'outside' && /[\p{L}\p{N}_]/u.test(next)) return -1
      i = mode === 'outside' ? afterLiteral(s, i + 2, next) : skipQuantifier(s, i + 2)
      if (i === -1) return -1
      continue
    }
    if (c === '[') {
      if (mode === 'outside') return -1
      let j = i + 1
      while (j < s.length && s[j] !== ']') j += s[j] === '\\' ? 2 : 1
      i = j + 1
      continue
    }
    if (c === '(') {
      const open = groupOpening(s, i)
      if (open === undefined) return -1
      const inner: ScanMode =
        open.kind === 'lookaround' ? 'lookaround' : open.kind === 'capture' ? 'capture' : mode
      if (open.kind === 'capture' && mode === 'lookaround') return -1
      const end = scan(s, open.next, inner, depth + 1)
      if (end === -1 || s[end] !== ')') return -1
      i = end + 1
      if (mode !== 'outside') {
        i = skipQuantifier(s, i)
        continue
      }
      const q = s[i]
      if (q === '*' || q === '+' || (q === '{' && BRACES.test(s.slice(i)))) return -1
      if (q === '?') {
        // An optional param (`(?:\/([^\/]+?))?`, `(\d+)?`); an optional group of text alone is not.
        if (open.kind === 'lookaround') return -1
        if (open.kind === 'plain' && !capturesIn(s.slice(open.next, end))) return -1
        i++
      }
      continue
    }
    if (mode !== 'outside') {
      i = skipQuantifier(s, i + 1)
      continue
    }
    // Outside the captures: anchors, path-to-regexp's alternatives of whole paths, literals.
    if (c === '^' || c === '$') {
      i++
      continue
    }
    if (c === '|') {
      if (depth !== 0 || s[i + 1] !== '^') return -1
      i++
      continue
    }
    if (c === '.' || c === '*' || c === '+' || c === '?') return -1
    if (c === '{' && BRACES.test(s.slice(i))) return -1
    i = afterLiteral(s, i + 1, c)
    if (i === -1) return -1
  }
  return i
}

/** Past the quantifier of the literal `c` ending at `i`: none, or `?` after a `/`; else -1. */
function afterLiteral(s: string, i: number, c: string): number {
  const q = s[i]
  if (q === '*' || q === '+' || (q === '{' && BRACES.test(s.slice(i)))) return -1
  if (q !== '?') return i
  return c === '/' ? i + 1 : -1
}

/** A quantifier (and its lazy `?`) at `i`, skipped. */
function skipQuantifier(s: string, i: number): number {
  const q = s[i]
  if (q === '*' || q === '+' || q === '?') i++
  else if (q === '{') {
    const braces = BRACES.exec(s.slice(i))
    if (braces !== null) i += braces[0].length
  }
  return s[i] === '?' ? i + 1 : i
}

/** The kind of the group opening at `i` and where its content starts; `undefined` if unknown. */
function groupOpening(
  s: string,
  i: number
): { kind: 'capture' | 'plain' | 'lookaround'; next: number } | undefined {
  if (s[i + 1] !== '?') return { kind: 'capture', next: i + 1 }
  if (s[i + 2] === ':') return { kind: 'plain', next: i + 3 }
  if (s[i + 2] === '=' || s[i + 2] === '!') return { kind: 'lookaround', next: i + 3 }
  if (s[i + 2] === '<') {
    if (s[i + 3] === '=' || s[i + 3] === '!') return { kind: 'lookaround', next: i + 4 }
    const close = s.indexOf('>', i + 3)
    return close === -1 ? undefined : { kind: 'capture', next: close + 1 }
  }
  // Modifiers (`(?i:…)`) and anything newer: not read.
  return undefined
}

/** Whether a group's source holds a capture group (an unescaped `(` not followed by `?`, or `(?<name>`). */
function capturesIn(source: string): boolean {
  return /(?:^|[^\\])(?:\\\\)*\((?!\?)|\(\?<(?![=!])/.test(source)
}
