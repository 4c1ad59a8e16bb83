/**
 * @module redact
 * Secret redaction for logs and error reports: by key path (pino syntax), by key name at any depth,
 * and by value pattern inside every string (a key pasted into a prompt, a token in a URL or an error
 * message), which key-path redaction alone misses.
 *
 * The walk is copy-on-write: nothing is allocated for a subtree without secrets, and only the
 * objects on the way to a censored value are shallow-copied, so the input is never mutated and a
 * clean log object comes back as the same reference.
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { secretArgs } from './redact-commands.js'
import { DEFAULT_SENSITIVE_KEYS, lowerKey } from './redact-keys.js'
import { isCredentialKey } from './redact-names.js'
import { anyTerminal, compilePaths, type PathNode, step } from './redact-paths.js'
import {
  compileScanner,
  customPatterns,
  DEFAULT_SCANNER,
  MIN_SCAN_LENGTH,
  redactSecrets,
  SECRET_PATTERNS,
  type SecretScanner,
} from './redact-patterns.js'
import { redactedHead } from './redact-truncate.js'

/** Options of `createRedactor`. */
export interface RedactorOptions {
  /**
   * pino-style paths whose value is censored: `headers.authorization`, `*.password`,
   * `req.headers["x-api-key"]`, `items[*].secret`. `*` matches one level. Keys compare
   * case-insensitively. Never build paths from user input. @default []
   */
  paths?: string[]
  /**
   * Key names censored at any depth, case-insensitive. `true`: the built-in list (authorization,
   * cookie, set-cookie, x-api-key, x-goog-api-key, api_key, apiKey, password, secret, token, …)
   * and any key naming a credential after a prefix or in camelCase (`DB_PASSWORD`,
   * `OPENAI_API_KEY`, `stripeSecret`, `GITHUB_TOKEN`); an array: these names in addition to the
   * built-in ones; `false`: none. The same names censor the value that follows them in an array
   * (`req.rawHeaders`, `[name, value]` pairs) and the `value` of a `{ name, value }` record (HAR
   * headers, Kubernetes env entries). @default true
   */
  keys?: boolean | string[]
  /**
   * Secret patterns searched inside every string (Anthropic/OpenAI/AWS/GitHub/… keys, bearer
   * tokens, JWTs, cookies, `password=` in query strings). `true`: the built-in patterns; an array:
   * the built-in patterns plus these regexes (the whole match is censored); `false`: none.
   * @default true
   */
  patterns?: boolean | RegExp[]
  /** Replacement for a censored value. @default '[redacted]' */
  censor?: string
  /**
   * Keep the non-secret prefix of a pattern match (`sk-ant-[redacted]`, `Bearer [redacted]`),
   * which helps debugging without leaking anything usable. @default true
   */
  keepPrefix?: boolean
  /** Objects nested deeper than this are replaced by `'[max depth]'`. @default 32 */
  maxDepth?: number
  /**
   * Strings longer than this are cut and end with `…[truncated]`. The scan sees 4096 characters
   * past the cut, so a secret across it is censored whole (the cut then falls after its censor).
   * @default 1_048_576
   */
  maxStringLength?: number
}

/** Every key of `RedactorOptions` (unknown keys are refused). */
const REDACTOR_OPTION_KEYS = [
  'paths',
  'keys',
  'patterns',
  'censor',
  'keepPrefix',
  'maxDepth',
  'maxStringLength',
] as const satisfies readonly (keyof RedactorOptions)[]

/** A redaction function: returns a redacted copy (or the value itself when nothing changed). */
export type Redactor = (value: unknown) => unknown

const DEFAULTS = {
  censor: '[redacted]',
  keepPrefix: true,
  maxDepth: 32,
  maxStringLength: 1_048_576,
}

const KEY_CACHE_LIMIT = 4096
/** Longer keys are not cached (they are rare, and would make the cache heavy). */
const MAX_CACHED_KEY = 256
const SENSITIVE_KEY = 1
const PLAIN_KEY = 2
/** Longest array item taken for a name (`['Authorization', '…']`): header and variable names. */
const MAX_NAME_ITEM = 64
const CIRCULAR = '[circular]'
const TOO_DEEP = '[max depth]'
const TRUNCATED = '…[truncated]'

function positiveInt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionsError(field, 'must be a positive integer')
  }
  return value
}

function resolveKeys(keys: RedactorOptions['keys']): Set<string> {
  if (keys === undefined || keys === true) return new Set(DEFAULT_SENSITIVE_KEYS)
  if (keys === false) return new Set()
  if (!Array.isArray(keys)) throw new InvalidOptionsError('keys', 'must be a boolean or an array')
  const set = new Set(DEFAULT_SENSITIVE_KEYS)
  keys.forEach((k, i) => {
    if (typeof k !== 'string' || k === '') {
      throw new InvalidOptionsError(`keys[${i}]`, 'must be a non-empty string')
    }
    set.add(k.toLowerCase())
  })
  return set
}

function resolvePatterns(patterns: RedactorOptions['patterns']): SecretScanner | undefined {
  if (patterns === undefined || patterns === true) return DEFAULT_SCANNER
  if (patterns === false) return undefined
  if (!Array.isArray(patterns)) {
    throw new InvalidOptionsError('patterns', 'must be a boolean or an array of RegExp')
  }
  patterns.forEach((p, i) => {
    if (!(p instanceof RegExp)) throw new InvalidOptionsError(`patterns[${i}]`, 'must be a RegExp')
  })
  return compileScanner([...SECRET_PATTERNS, ...customPatterns(patterns)])
}

const plainProto = Object.prototype

/** An object that serialises through its own method. */
type WithToJSON = { toJSON: (key: string) => unknown }

/** What `Headers`, `URLSearchParams` and `FormData` share: named entries, appended in order. */
interface WebMultimap {
  entries(): IterableIterator<[string, unknown]>
  append(name: string, value: unknown): void
}

/** The Web classes that keep their entries out of sight of `JSON.stringify` (where defined). */
const WEB_MULTIMAPS = [globalThis.Headers, globalThis.URLSearchParams, globalThis.FormData].filter(
  (c) => typeof c === 'function'
) as unknown as (new () => WebMultimap)[]

/** The Web `Request` and `Response` classes (where defined). */
const FetchRequest = typeof globalThis.Request === 'function' ? globalThis.Request : undefined
const FetchResponse = typeof globalThis.Response === 'function' ? globalThis.Response : undefined
const WebHeaders = typeof globalThis.Headers === 'function' ? globalThis.Headers : undefined
const WebDOMException =
  typeof globalThis.DOMException === 'function' ? globalThis.DOMException : undefined
const NodeBuffer = (globalThis as { Buffer?: { from(bytes: Uint8Array): Uint8Array } }).Buffer
const isNodeBuffer = (value: Uint8Array): boolean =>
  NodeBuffer !== undefined && value instanceof (NodeBuffer as unknown as typeof Uint8Array)
const utf8 = new TextDecoder('utf-8', { fatal: true })
const utf8Encoder = new TextEncoder()

/** The Web multimap class `value` is an instance of, if any. */
function webMultimapOf(value: object): (new () => WebMultimap) | undefined {
  for (const Class of WEB_MULTIMAPS) if (value instanceof Class) return Class
  return undefined
}

/** Creates a redactor. Options are validated here; the returned function never throws. */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, REDACTOR_OPTION_KEYS)
  const censor = options.censor ?? DEFAULTS.censor
  if (typeof censor !== 'string') throw new InvalidOptionsError('censor', 'must be a string')
  const keepPrefix = options.keepPrefix ?? DEFAULTS.keepPrefix
  if (typeof keepPrefix !== 'boolean') {
    throw new InvalidOptionsError('keepPrefix', 'must be a boolean')
  }
  const maxDepth = positiveInt(options.maxDepth ?? DEFAULTS.maxDepth, 'maxDepth')
  const maxStringLength = positiveInt(
    options.maxStringLength ?? DEFAULTS.maxStringLength,
    'maxStringLength'
  )
  if (options.paths !== undefined && !Array.isArray(options.paths)) {
    throw new InvalidOptionsError('paths', 'must be an array of strings')
  }
  const root = compilePaths(options.paths ?? [], 'paths')
  const rootNodes: PathNode[] | undefined = root === undefined ? undefined : [root]
  const sensitive = resolveKeys(options.keys)
  /** Whether keys naming a credential by the rules of `isCredentialKey` are censored too. */
  const credentialKeys = options.keys !== false
  const scanner = resolvePatterns(options.patterns)

  /** Ancestors of the value being walked, by depth, for cycle detection. */
  const ancestors: object[] = []

  const scan = (s: string): string => redactSecrets(s, scanner!, censor, keepPrefix)

  function redactString(s: string): string {
    if (s.length > maxStringLength) {
      if (scanner === undefined) return s.slice(0, maxStringLength) + TRUNCATED
      return redactedHead(s, maxStringLength, scan, censor) + TRUNCATED
    }
    if (scanner === undefined) return s
    return redactSecrets(s, scanner, censor, keepPrefix)
  }

  /** Whether `key` names a credential: the key list, or the rules of `isCredentialKey`. */
  function sensitiveName(key: string): boolean {
    return sensitive.has(key.toLowerCase()) || (credentialKeys && isCredentialKey(key))
  }

  /**
   * Whether a string found as an array item or a record's `name` names a credential (the
   * key cache is read, never written: such strings are values, and one may be a secret).
   */
  function namesCredential(item: unknown): boolean {
    if (typeof item !== 'string' || item.length > MAX_NAME_ITEM || item.length < 3) return false
    const hit = keyKinds.get(item)
    return hit !== undefined ? hit === SENSITIVE_KEY : sensitiveName(item)
  }

  /**
   * Object key → `SENSITIVE_KEY` or `PLAIN_KEY`, for keys that hold no secret themselves (log
   * objects repeat a few keys, so each is lower-cased and scanned once). A key that holds a secret
   * is never cached, so no secret stays in memory; the cache is bounded.
   */
  const keyKinds = new Map<string, number>()
  /** The kind of `key`, caching it when `key` is clean (`outKey === key`). */
  function keyKind(key: string, outKey: string): number {
    const kind = sensitiveName(key) ? SENSITIVE_KEY : PLAIN_KEY
    if (outKey === key && key.length <= MAX_CACHED_KEY && keyKinds.size < KEY_CACHE_LIMIT) {
      keyKinds.set(key, kind)
    }
    return kind
  }
  function sensitiveKey(key: string): boolean {
    const hit = keyKinds.get(key)
    if (hit !== undefined) return hit === SENSITIVE_KEY
    return keyKind(key, key.length < MIN_SCAN_LENGTH ? key : redactString(key)) === SENSITIVE_KEY
  }

  /** Whether the value under `key` is censored whole; `nodes` are the path nodes reached. */
  function censored(key: string, nodes: PathNode[] | undefined): boolean {
    return sensitiveKey(key) || (nodes !== undefined && anyTerminal(nodes))
  }

  // Hot path: primitives are handled inline by the callers, so `walk` sees strings and objects.
  function walk(value: unknown, depth: number, nodes: PathNode[] | undefined): unknown {
    if (typeof value === 'string') {
      return value.length < MIN_SCAN_LENGTH ? value : redactString(value)
    }
    if (typeof value !== 'object' || value === null) return value
    if (depth >= maxDepth) return TOO_DEEP
    // `ancestors[0..depth)` is the path from the root: a value found there is a cycle.
    for (let i = 0; i < depth; i++) if (ancestors[i] === value) return CIRCULAR
    ancestors[depth] = value
    return walkObjectLike(value, depth, nodes, true)
  }

  /** `viaToJSON`: an object with a `toJSON` method is redacted as what it serialises to. */
  function walkObjectLike(
    value: object,
    depth: number,
    nodes: PathNode[] | undefined,
    viaToJSON: boolean
  ): unknown {
    if (Array.isArray(value)) return walkArray(value, depth, nodes)
    const proto = Object.getPrototypeOf(value)
    if (proto === plainProto || proto === null) {
      if (viaToJSON && typeof (value as WithToJSON).toJSON === 'function') {
        return walkToJSON(value as WithToJSON, depth, nodes, proto)
      }
      return walkObject(value, depth, nodes, proto)
    }
    if (value instanceof Error) return walkError(value, depth, nodes)
    if (value instanceof URL) {
      // A URL object serialises to its href (JSON.stringify, util.inspect): scan it like a string.
      const href = redactString(value.href)
      if (href === value.href) return value
      return URL.canParse(href) ? new URL(href) : href
    }
    if (value instanceof Map) return walkMap(value, depth, nodes)
    if (value instanceof Set) return walkSet(value, depth, nodes)
    const multimap = webMultimapOf(value)
    if (multimap !== undefined) {
      return withOwnProps(value, depth, nodes, proto, (force) =>
        walkMultimap(value as WebMultimap, multimap, nodes, force)
      )
    }
    if (FetchRequest !== undefined && value instanceof FetchRequest) {
      return withOwnProps(value, depth, nodes, proto, (force) => walkRequest(value, nodes, force))
    }
    if (FetchResponse !== undefined && value instanceof FetchResponse) {
      return withOwnProps(value, depth, nodes, proto, (force) => walkResponse(value, nodes, force))
    }
    if (value instanceof Uint8Array) return walkBytes(value)
    if (
      ArrayBuffer.isView(value) ||
      value instanceof ArrayBuffer ||
      value instanceof Date ||
      value instanceof RegExp ||
      value instanceof Promise ||
      value instanceof WeakMap ||
      value instanceof WeakSet
    ) {
      return value
    }
    if (viaToJSON && typeof (value as WithToJSON).toJSON === 'function') {
      return walkToJSON(value as WithToJSON, depth, nodes, proto)
    }
    return walkObject(value, depth, nodes, proto)
  }

  /**
   * An object with its own serialisation (`toJSON`, own or inherited: defineEnv's env object,
   * which hides its secrets there; a class instance): what a JSON logger writes is what `toJSON`
   * returns, so that is what is redacted. A copy of the properties would lose the method, and
   * with it what it hides. As in `JSON.stringify`, the result's own `toJSON` is not called.
   */
  function walkToJSON(
    value: WithToJSON,
    depth: number,
    nodes: PathNode[] | undefined,
    proto: object | null
  ): unknown {
    const json = value.toJSON('')
    if (json === value) return walkObject(value, depth, nodes, proto)
    if (typeof json === 'string') return json.length < MIN_SCAN_LENGTH ? json : redactString(json)
    if (typeof json !== 'object' || json === null) return json
    for (let i = 0; i < depth; i++) if (ancestors[i] === json) return CIRCULAR
    ancestors[depth] = json
    return walkObjectLike(json, depth, nodes, false)
  }

  /**
   * An array; a string item naming a credential censors the item after it, as a key would its
   * value: `req.rawHeaders` (`['Authorization', '…', 'Cookie', '…']`), `[name, value]` pairs
   * (`Object.entries`, a `Headers`' entries), argument lists (`['--password', '…']`).
   */
  function walkArray(arr: unknown[], depth: number, nodes: PathNode[] | undefined): unknown {
    let copy: unknown[] | undefined
    let valueOfName = false
    for (let i = 0; i < arr.length; i++) {
      const item = arr[i]
      const childNodes = nodes === undefined ? undefined : step(nodes, String(i))
      let out: unknown
      if (valueOfName || (childNodes !== undefined && anyTerminal(childNodes))) {
        out = valueOfName && item === undefined ? item : censor
        valueOfName = false
      } else {
        out = walk(item, depth + 1, childNodes)
        valueOfName = namesCredential(item)
      }
      if (out !== item) {
        copy ??= arr.slice()
        copy[i] = out
      }
    }
    return copy ?? arr
  }

  /** `copyProto`: the prototype of the copy made when something changed (`proto` by default). */
  function walkObject(
    obj: object,
    depth: number,
    nodes: PathNode[] | undefined,
    proto: object | null,
    copyProto: object | null = proto
  ): unknown {
    let copy: Record<string, unknown> | undefined
    const plain = proto === plainProto || proto === null
    // for-in on a plain object uses V8's enum cache for the keyed loads (measured faster than
    // Object.keys here); class instances go through Object.keys to skip inherited keys.
    for (const key in obj) {
      if (!plain && !Object.hasOwn(obj, key)) continue
      const item = (obj as Record<string, unknown>)[key]
      // A secret can be a key too (a token used as a map key), as for Map keys.
      let kind = keyKinds.get(key)
      let outKey = key
      if (kind === undefined) {
        if (key.length >= MIN_SCAN_LENGTH) outKey = redactString(key)
        kind = keyKind(key, outKey)
      }
      const childNodes = nodes === undefined ? undefined : step(nodes, lowerKey(key))
      let out: unknown
      if (
        kind === SENSITIVE_KEY ||
        (childNodes !== undefined && anyTerminal(childNodes)) ||
        ((key === 'value' || key === 'Value') && recordNamesCredential(obj))
      ) {
        out = item === undefined ? item : censor
      } else if (key === 'args' && Array.isArray(item)) {
        out = walkCommandArgs(obj, item, depth, childNodes)
      } else if (typeof item === 'string') {
        out = item.length < MIN_SCAN_LENGTH ? item : redactString(item)
      } else if (typeof item !== 'object' || item === null) out = item
      else out = walk(item, depth + 1, childNodes)
      if (out !== item || outKey !== key) {
        if (copy === undefined) {
          copy =
            copyProto === plainProto ? { ...obj } : Object.assign(Object.create(copyProto), obj)
        }
        if (outKey !== key) delete copy![key]
        copy![outKey] = out
      }
    }
    return copy ?? obj
  }

  /**
   * A `{ name, value }` record whose name names a credential (a HAR / undici header list, a
   * Kubernetes env entry); `key` / `Key` count as the name too (`{ Key, Value }` tags).
   */
  function recordNamesCredential(obj: object): boolean {
    const r = obj as Record<string, unknown>
    return namesCredential(r.name ?? r.Name ?? r.key ?? r.Key)
  }

  /** `args` of a `{ name, args }` command (ioredis): credentials among them are censored. */
  function walkCommandArgs(
    obj: object,
    args: unknown[],
    depth: number,
    nodes: PathNode[] | undefined
  ): unknown {
    const walked = walk(args, depth + 1, nodes)
    const name = (obj as { name?: unknown }).name
    const secret = typeof name === 'string' ? secretArgs(name, args) : undefined
    if (secret === undefined || !Array.isArray(walked)) return walked
    let copy: unknown[] | undefined
    for (let i = 0; i < walked.length; i++) {
      if (!secret(i) || walked[i] === censor) continue
      copy ??= walked === args ? walked.slice() : walked
      copy[i] = censor
    }
    return copy ?? walked
  }

  /**
   * An error's own properties (message, stack, cause, a subclass's fields) are walked; its copy
   * keeps its class. A message a prototype getter computes (a DOMException's, kept in an internal
   * slot; a class's own getter) is read too, since loggers read `err.message`: the copy holds it
   * redacted as its own (the getter would read the original's hidden state, or throw on a copy).
   * A DOMException's copy is a real DOMException: a plain object on its prototype throws when
   * its `message` is read or it is inspected.
   */
  function walkError(err: Error, depth: number, nodes: PathNode[] | undefined): unknown {
    let copy: Record<string, unknown> | undefined
    // message, stack and cause are own but not enumerable: walk every own string key. On Node 24
    // (V8 12+) `stack` is an own accessor whose getter only works on the original error, so it is
    // read here and copied as a plain value.
    const readOwn = (key: string, desc: PropertyDescriptor): { item: unknown } | undefined => {
      if ('value' in desc) return { item: desc.value }
      if (key !== 'stack') return undefined
      try {
        return { item: err.stack }
      } catch {
        return undefined
      }
    }
    const dom = WebDOMException !== undefined && err instanceof WebDOMException
    let message: string | undefined
    let messageChanged = false
    if (!Object.hasOwn(err, 'message')) {
      let inherited: unknown
      try {
        inherited = err.message
      } catch {
        // A throwing getter: nothing to show, so nothing to redact.
      }
      if (typeof inherited === 'string') {
        const messageNodes = nodes === undefined ? undefined : step(nodes, 'message')
        message = censored('message', messageNodes)
          ? censor
          : inherited.length < MIN_SCAN_LENGTH
            ? inherited
            : redactString(inherited)
        messageChanged = message !== inherited
      }
    }
    const makeCopy = (): Record<string, unknown> => {
      const base = (
        dom
          ? new (WebDOMException as typeof DOMException)(message ?? '', err.name)
          : Object.create(Object.getPrototypeOf(err))
      ) as Record<string, unknown>
      for (const k of Object.getOwnPropertyNames(err)) {
        const d = Object.getOwnPropertyDescriptor(err, k)
        if (d === undefined) continue
        const v = readOwn(k, d)
        if ('value' in d || v === undefined) Object.defineProperty(base, k, d)
        else {
          Object.defineProperty(base, k, {
            value: v.item,
            writable: true,
            enumerable: d.enumerable ?? false,
            configurable: true,
          })
        }
      }
      if (message !== undefined && !dom) {
        Object.defineProperty(base, 'message', {
          value: message,
          writable: true,
          enumerable: false,
          configurable: true,
        })
      }
      return base
    }
    for (const key of Object.getOwnPropertyNames(err)) {
      const desc = Object.getOwnPropertyDescriptor(err, key)
      const read = desc === undefined ? undefined : readOwn(key, desc)
      if (desc === undefined || read === undefined) continue
      const item = read.item
      const childNodes = nodes === undefined ? undefined : step(nodes, lowerKey(key))
      const out = censored(key, childNodes) ? censor : walk(item, depth + 1, childNodes)
      if (out !== item) {
        copy ??= makeCopy()
        Object.defineProperty(copy, key, {
          value: out,
          writable: true,
          enumerable: desc.enumerable ?? false,
          configurable: true,
        })
      }
    }
    if (messageChanged) copy ??= makeCopy()
    return copy ?? err
  }

  /**
   * An object copied for what it keeps in internal slots (`copyOf` returns the copy, or the
   * object itself when nothing there changed and `force` is false): its own enumerable
   * properties are what a JSON logger prints of it (a subclass's fields, what a library set on
   * it: ofetch's `response._data`), so they are walked as an object's are and set on the copy.
   */
  function withOwnProps(
    value: object,
    depth: number,
    nodes: PathNode[] | undefined,
    proto: object | null,
    copyOf: (force: boolean) => unknown
  ): unknown {
    // The walked properties land on a prototype-less object: one with the class's prototype
    // would run its setters (or throw on its getter-only `url`).
    const own = walkObject(value, depth, nodes, proto, null) as Record<string, unknown>
    const copy = copyOf(own !== value)
    if (own === value || typeof copy !== 'object' || copy === null) return copy
    for (const key of Object.keys(own)) {
      Object.defineProperty(copy, key, {
        value: own[key],
        writable: true,
        enumerable: true,
        configurable: true,
      })
    }
    return copy
  }

  /**
   * A Web `Request`: its URL and referrer (a page URL: a callback's `?code=`, a token) are
   * scanned and its headers censored as a `Headers` is, into a new Request of the same method
   * and options, without the body (the original's stays unread). util.inspect prints them all.
   */
  function walkRequest(req: Request, nodes: PathNode[] | undefined, force = false): unknown {
    const headers = walkMultimap(
      req.headers as unknown as WebMultimap,
      WebHeaders as unknown as new () => WebMultimap,
      nodes === undefined ? undefined : step(nodes, 'headers')
    ) as Headers
    const url = redactString(req.url)
    const referrer = redactString(req.referrer)
    if (!force && headers === req.headers && url === req.url && referrer === req.referrer) {
      return req
    }
    try {
      return new (FetchRequest as typeof Request)(url, {
        method: req.method,
        headers,
        referrer,
        // `navigate` is the browser's own; a constructed Request cannot take it.
        ...(req.mode === 'navigate' ? {} : { mode: req.mode }),
        credentials: req.credentials,
        cache: req.cache,
        redirect: req.redirect,
        referrerPolicy: req.referrerPolicy,
        integrity: req.integrity,
        keepalive: req.keepalive,
      })
    } catch {
      return censor
    }
  }

  /**
   * A Web `Response`: its headers censored as a `Headers` is, and its status text scanned (an
   * upstream may echo a token there), into a new Response of the same status, without the body.
   * `url`, `redirected` and `type` are set by fetch, not by the constructor: the copy carries
   * them (the URL scanned) as own properties, not enumerable, so `util.inspect` shows them and
   * `JSON.stringify` still prints `{}`.
   */
  function walkResponse(res: Response, nodes: PathNode[] | undefined, force = false): unknown {
    const headers = walkMultimap(
      res.headers as unknown as WebMultimap,
      WebHeaders as unknown as new () => WebMultimap,
      nodes === undefined ? undefined : step(nodes, 'headers')
    ) as Headers
    const url = redactString(res.url)
    const statusText = redactString(res.statusText)
    if (!force && headers === res.headers && url === res.url && statusText === res.statusText) {
      return res
    }
    try {
      const copy = new (FetchResponse as typeof Response)(null, {
        status: res.status,
        statusText,
        headers,
      })
      const set = (key: string, value: unknown): void => {
        Object.defineProperty(copy, key, { value, enumerable: false, configurable: true })
      }
      set('url', url)
      set('redirected', res.redirected)
      set('type', res.type)
      return copy
    } catch {
      return censor
    }
  }

  /**
   * A `Uint8Array` (a Node `Buffer` included) holding UTF-8 text: a JSON logger writes its bytes
   * (`{"type":"Buffer","data":[…]}`), inspect their hex, so a key in it is a decode away. Its text
   * is redacted as a string is; when that changes it, the copy is the redacted text's bytes, of
   * the same class. Bytes that are not UTF-8 (an image, a hash) are kept as they are.
   */
  function walkBytes(bytes: Uint8Array): unknown {
    if (scanner === undefined || bytes.length < MIN_SCAN_LENGTH) return bytes
    let text: string
    try {
      text = utf8.decode(bytes)
    } catch {
      return bytes
    }
    const out = redactString(text)
    if (out === text) return bytes
    const encoded = utf8Encoder.encode(out)
    return isNodeBuffer(bytes)
      ? (NodeBuffer as { from(b: Uint8Array): Uint8Array }).from(encoded)
      : encoded
  }

  function walkMap(
    map: Map<unknown, unknown>,
    depth: number,
    nodes: PathNode[] | undefined
  ): unknown {
    let changed = false
    const entries: [unknown, unknown][] = []
    for (const [k, item] of map) {
      let out: unknown
      if (typeof k === 'string') {
        const childNodes = nodes === undefined ? undefined : step(nodes, lowerKey(k))
        out = censored(k, childNodes) ? censor : walk(item, depth + 1, childNodes)
      } else {
        out = walk(item, depth + 1, undefined)
      }
      const outKey = typeof k === 'string' ? redactString(k) : k
      if (out !== item || outKey !== k) changed = true
      entries.push([outKey, out])
    }
    return changed ? new Map(entries) : map
  }

  /**
   * A Web `Headers`, `URLSearchParams` or `FormData`: its entries are walked as a Map's (names as
   * keys, string values scanned, files kept) into a copy of the same class, so what a logger
   * prints keeps its shape: `JSON.stringify` still `{}`, `util.inspect` the same entries,
   * censored. An entry the copy refuses once censored (a header name holding a secret: brackets
   * are not allowed in a name) is left out.
   */
  function walkMultimap(
    value: WebMultimap,
    Class: new () => WebMultimap,
    nodes: PathNode[] | undefined,
    force = false
  ): unknown {
    let changed = false
    const entries: [string, unknown][] = []
    for (const [name, item] of value.entries()) {
      let out = item
      if (censored(name, nodes === undefined ? undefined : step(nodes, lowerKey(name)))) {
        out = censor
      } else if (typeof item === 'string' && item.length >= MIN_SCAN_LENGTH) {
        out = redactString(item)
      }
      const outName = name.length < MIN_SCAN_LENGTH ? name : redactString(name)
      if (out !== item || outName !== name) changed = true
      entries.push([outName, out])
    }
    if (!changed && !force) return value
    const copy = new Class()
    for (const [name, item] of entries) {
      try {
        copy.append(name, item)
      } catch {
        // Not a valid entry of this class any more: left out rather than shown unredacted.
      }
    }
    return copy
  }

  function walkSet(set: Set<unknown>, depth: number, nodes: PathNode[] | undefined): unknown {
    let changed = false
    const items: unknown[] = []
    for (const item of set) {
      const out = walk(item, depth + 1, nodes === undefined ? undefined : step(nodes, '*'))
      if (out !== item) changed = true
      items.push(out)
    }
    return changed ? new Set(items) : set
  }

  return function redactValue(value: unknown): unknown {
    try {
      return walk(value, 0, rootNodes)
    } catch {
      // A throwing getter or proxy: never let redaction crash the logger, and never leak.
      return censor
    } finally {
      ancestors.length = 0 // hold no reference to the caller's objects
    }
  }
}

/** Redacts with the default options (key names, value patterns, censor `[redacted]`). */
export const redact: Redactor = createRedactor()
