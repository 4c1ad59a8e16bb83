/**
 * @module redact-paths
 * pino-style redaction paths (`a.b`, `a["x-y"].c`, `a[0]`, `*.password`, `a[*].b`) compiled into a
 * trie that the redactor walks alongside the value. Unlike pino, keys compare case-insensitively:
 * `headers.authorization` also catches Express's `Authorization`.
 */
import { InvalidOptionsError } from '@aikit/core'

/** One trie node: children by lower-case key, plus the `*` child. */
export interface PathNode {
  children: Map<string, PathNode> | undefined
  wildcard: PathNode | undefined
  /** A path ends here: the value at this key is censored. */
  terminal: boolean
}

function newNode(): PathNode {
  return { children: undefined, wildcard: undefined, terminal: false }
}

const IDENT = /^[A-Za-z_$][\w$-]*$/

/** Splits one path into segments (`*` for a wildcard). Throws `InvalidOptionsError` if malformed. */
export function parsePath(path: string, field: string): string[] {
  if (typeof path !== 'string' || path === '') {
    throw new InvalidOptionsError(field, 'must be a non-empty string')
  }
  const segments: string[] = []
  let i = 0
  const fail = (why: string): never => {
    throw new InvalidOptionsError(field, `${why} at offset ${i}`)
  }
  while (i < path.length) {
    const c = path[i]
    if (c === '[') {
      const q = path[i + 1]
      if (q === '"' || q === "'") {
        const end = path.indexOf(q, i + 2)
        if (end === -1 || path[end + 1] !== ']') fail('unterminated quoted segment')
        segments.push(path.slice(i + 2, end))
        i = end + 2
      } else {
        const end = path.indexOf(']', i + 1)
        if (end === -1) fail('unterminated bracket')
        const inner = path.slice(i + 1, end).trim()
        if (inner !== '*' && !/^\d+$/.test(inner))
          fail('a bracket holds an index, `*` or a quoted key')
        segments.push(inner)
        i = end + 1
      }
      if (i < path.length && path[i] === '.') {
        i++
        if (i === path.length) fail('trailing dot')
      }
    } else {
      let end = i
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end++
      const name = path.slice(i, end)
      if (name !== '*' && !IDENT.test(name)) fail('expected a key name')
      segments.push(name)
      i = end
      if (path[i] === '.') {
        i++
        if (i === path.length) fail('trailing dot')
      }
    }
  }
  return segments
}

/** Compiles paths into a trie. Returns undefined for no paths. */
export function compilePaths(paths: readonly string[], field: string): PathNode | undefined {
  if (paths.length === 0) return undefined
  const root = newNode()
  paths.forEach((path, index) => {
    let node = root
    for (const segment of parsePath(path, `${field}[${index}]`)) {
      if (segment === '*') {
        node.wildcard ??= newNode()
        node = node.wildcard
      } else {
        node.children ??= new Map()
        const key = segment.toLowerCase()
        let child = node.children.get(key)
        if (child === undefined) {
          child = newNode()
          node.children.set(key, child)
        }
        node = child
      }
    }
    node.terminal = true
  })
  return root
}

/** The nodes reached from `nodes` through `key` (lower-case), or undefined when none. */
export function step(nodes: readonly PathNode[], key: string): PathNode[] | undefined {
  let next: PathNode[] | undefined
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!
    const exact = n.children?.get(key)
    if (exact !== undefined) {
      next ??= []
      next.push(exact)
    }
    if (n.wildcard !== undefined) {
      next ??= []
      next.push(n.wildcard)
    }
  }
  return next
}

/** True when one of `nodes` ends a path. */
export function anyTerminal(nodes: readonly PathNode[]): boolean {
  for (let i = 0; i < nodes.length; i++) if (nodes[i]!.terminal) return true
  return false
}
