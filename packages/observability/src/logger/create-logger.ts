/**
 * @module create-logger
 * `createLogger()`: a winston logger writing JSON lines, every line passed through the
 * `@aikit/security` redactor (key names such as `authorization` / `cookie` / `apiKey`, and secret
 * shapes inside any string), and every line written during a request carrying its `requestId`,
 * `route` and `subject` from AsyncLocalStorage, LLM wrapper lines included.
 */
import type { Writable } from 'node:stream'
import { currentContext, InvalidOptionsError, requireAsyncContext } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { redact as defaultRedact, type Redactor } from '@aikit/security'
import winston from 'winston'
import { routeOf } from '../route.js'
import { withErrorFields } from './error-fields.js'
import { LineBatch } from './line-batch.js'
import '../state.js'

/** Options of `createLogger`. */
export interface LoggerOptions {
  /**
   * Lowest level written (npm levels: error, warn, info, http, verbose, debug, silly).
   * Default: the `LOG_LEVEL` environment variable (trimmed, any case), else `'info'`.
   */
  level?: string
  /** Applied to every line before it is written. Default: `redact` from `@aikit/security`. */
  redact?: Redactor
  /** Where lines go. Default `process.stdout`. Ignored when `transports` is given. */
  stream?: Writable
  /** winston transports, replacing the default stream transport. */
  transports?: winston.transport[]
  /** Fields added to every line, e.g. `{ service: 'chat-api' }`. Default `{}`. */
  defaultMeta?: Record<string, unknown>
}

/** The keys of `LoggerOptions`; any other key is refused (`defaultMeta`'s own are the app's). */
const LOGGER_OPTION_KEYS = [
  'level',
  'redact',
  'stream',
  'transports',
  'defaultMeta',
] as const satisfies readonly (keyof LoggerOptions)[]

const LEVELS = Object.keys(winston.config.npm.levels)

/**
 * Adds requestId, route and subject of the running request (when there is one) to a line, when it
 * is handed to the logger. Not a winston format: winston's Logger is a Transform stream, and when
 * a transport applies backpressure (the File transport waiting for 'drain') `write()` only queues
 * the line; its formats run later, from whatever async context resumes the stream, and would read
 * another request's context (or none).
 */
function addRequestContext(info: unknown): void {
  if (typeof info !== 'object' || info === null) return
  const ctx = currentContext()
  if (ctx === undefined) return
  const line = info as Record<string, unknown>
  const state = ctx.state
  if (line.requestId === undefined && state.requestId !== undefined)
    line.requestId = state.requestId
  if (line.route === undefined) {
    const route = routeOf(ctx)
    if (route !== undefined) line.route = route
  }
  if (line.subject === undefined && state.subject !== undefined) line.subject = state.subject
}

/**
 * Captures the request context synchronously on every line: `log()`, the level methods, the
 * profiler and child loggers all hand their line to `write()` of this logger before anything is
 * queued. A child (`logger.child(meta)`) inherits the fast writers of its parent, which know
 * nothing of its `meta`: they are hidden on the child, so its lines take `log()`.
 */
function captureRequestContext(logger: winston.Logger): void {
  const write = logger.write
  Object.defineProperty(logger, 'write', {
    configurable: true,
    writable: true,
    value: function write_(this: winston.Logger, info: unknown, encoding?: unknown, cb?: unknown) {
      addRequestContext(info)
      return (write as (info: unknown, encoding?: unknown, cb?: unknown) => boolean).call(
        this,
        info,
        encoding,
        cb
      )
    },
  })
  const child = logger.child
  Object.defineProperty(logger, 'child', {
    configurable: true,
    writable: true,
    value: function child_(this: winston.Logger, meta: object): winston.Logger {
      const made = child.call(this, meta)
      Object.defineProperty(made, FAST_LINE, { value: undefined })
      Object.defineProperty(made, FAST_REQUEST_LINE, { value: undefined })
      return made
    },
  })
}

/** Writes errors given as fields as their type, message, stack, own fields and cause (error-fields.ts). */
const errorFieldsFormat = winston.format((info) => withErrorFields(info))

/** Runs the redactor over the line (copy-on-write: winston's symbol keys survive the copy). */
function redaction(redact: Redactor): winston.Logform.Format {
  return winston.format((info) => {
    const out = redact(info)
    if (out === info) return info
    if (out === null || typeof out !== 'object') return censoredLine(info, out)
    // winston keeps the level and the formatted line under symbol keys: carry any the redactor dropped.
    const line = out as Record<PropertyKey, unknown>
    const source = info as unknown as Record<PropertyKey, unknown>
    for (const sym of Object.getOwnPropertySymbols(info)) {
      if (!(sym in line)) line[sym] = source[sym]
    }
    return line as unknown as winston.Logform.TransformableInfo
  })()
}

/**
 * The line written when the redactor did not give an object back (a redactor answers its censor
 * string for a value it cannot walk: a throwing proxy trap or getter): the level, the timestamp
 * and that censor, never the fields it could not vouch for.
 */
function censoredLine(
  info: winston.Logform.TransformableInfo,
  out: unknown
): winston.Logform.TransformableInfo {
  const line: Record<PropertyKey, unknown> = {
    level: info.level,
    message: typeof out === 'string' ? out : '[redacted]',
  }
  if (typeof info.timestamp === 'string') line.timestamp = info.timestamp
  const level = Symbol.for('level')
  line[level] = (info as unknown as Record<PropertyKey, unknown>)[level]
  return line as unknown as winston.Logform.TransformableInfo
}

/**
 * Set on loggers made by `createLogger` with the default stream transport: writes one line straight
 * to the stream (batched per event-loop turn, see line-batch.ts), skipping winston's format pipeline
 * (~25 µs a line here, against ~4) while producing the same JSON (fields redacted, level and
 * timestamp included). `requestLogger` uses it for its one line per
 * request. Returns false, and writes nothing, whenever the pipeline may differ (transports added or
 * removed, logger or transport silenced, a transport level set): the caller then uses `log()`.
 */
export const FAST_LINE = Symbol.for('@aikit/observability.fast-line.v1')

/** The fast line writer's signature. */
export type FastLine = (level: string, message: string, fields: Record<string, unknown>) => boolean

/**
 * Set next to `FAST_LINE` when the logger also redacts with the default redactor: writes
 * `requestLogger`'s line from its values, without building, walking and stringifying an object
 * (half the time of `FAST_LINE` per line, measured). The text is the one `FAST_LINE` writes for
 * `{ requestId, method, path, status, durationMs, aborted, route?, subject? }`: the default redactor
 * censors none of these keys (checked when the logger is made) and scans each string value on its
 * own, so each string is redacted alone. Returns false, writing nothing, where `FAST_LINE` would,
 * and when `defaultMeta` holds anything but strings, numbers and booleans (the caller then falls back).
 */
export const FAST_REQUEST_LINE = Symbol.for('@aikit/observability.fast-request-line.v1')

/**
 * The fast request line writer's signature (`route` and `subject` omitted when undefined).
 * `generatedId`: the id is a `crypto.randomUUID()` made by `requestLogger` itself, which cannot hold
 * a secret, so the writer may skip redacting it (an id from the client or a custom generator is
 * redacted like any other string).
 */
export type FastRequestLine = (
  level: string,
  requestId: string,
  method: string,
  path: string,
  status: number | null,
  durationMs: number,
  aborted: boolean,
  route: string | undefined,
  subject: string | undefined,
  generatedId?: boolean
) => boolean

/** The keys of the request line, in the order `requestLogger` sets them (then winston's three). */
const REQUEST_LINE_KEYS = [
  'requestId',
  'method',
  'path',
  'status',
  'durationMs',
  'aborted',
  'route',
  'subject',
  'level',
  'message',
  'timestamp',
] as const

/** '000' … '999': the milliseconds of a timestamp. */
const MILLIS = Array.from({ length: 1000 }, (_, ms) => String(ms).padStart(3, '0'))
/** 1970-01-01 to 9999-12-31: where `toISOString` prints `YYYY-MM-DDTHH:mm:ss.sssZ`. */
const ISO_FIXED_END = 253402300800000

// NaN equals no time: the first call (even at 0, the epoch) formats.
let lastMs = Number.NaN
let lastIso = ''
let secondStart = -1
let secondPrefix = ''
/**
 * `new Date().toISOString()`, formatted once per millisecond (busy servers log many lines per ms)
 * and, within a second, from the second's `YYYY-MM-DDTHH:mm:ss.` and the milliseconds:
 * `toISOString` costs ~0.5 µs, which a quiet server (a line every few ms) pays on every line.
 */
export function isoNow(ms: number = Date.now()): string {
  if (ms !== lastMs) {
    lastMs = ms
    if (!(ms >= 0 && ms < ISO_FIXED_END)) {
      lastIso = new Date(ms).toISOString()
      return lastIso
    }
    const millis = ms % 1000
    const second = ms - millis
    if (second !== secondStart) {
      secondStart = second
      secondPrefix = new Date(second).toISOString().slice(0, 20)
    }
    lastIso = `${secondPrefix}${MILLIS[millis]}Z`
  }
  return lastIso
}

/** Whether the redactor leaves every request-line key in place (no key is censored or renamed). */
function keepsRequestKeys(redact: Redactor): boolean {
  const probe: Record<string, unknown> = {}
  for (const key of REQUEST_LINE_KEYS) probe[key] = 'plain'
  try {
    const out = redact(probe) as Record<string, unknown> | null
    if (out === null || typeof out !== 'object') return false
    const keys = Object.keys(out)
    return (
      keys.length === REQUEST_LINE_KEYS.length &&
      REQUEST_LINE_KEYS.every((key, i) => keys[i] === key && out[key] === 'plain')
    )
  } catch {
    return false
  }
}

/** Keys a request line sets itself: a `defaultMeta` holding one of them changes the key order. */
const REQUEST_KEY_SET = new Set<string>(REQUEST_LINE_KEYS)

/**
 * `defaultMeta`'s part of a line (`"k":v,` pairs, redacted), or undefined when it holds a value
 * that is not a string, number or boolean, or a key of the request line (the caller falls back).
 */
function metaFragment(meta: unknown, redact: Redactor): string | undefined {
  if (meta === undefined || meta === null) return ''
  if (typeof meta !== 'object') return undefined
  const proto = Object.getPrototypeOf(meta)
  if (proto !== Object.prototype && proto !== null) return undefined
  const source = meta as Record<string, unknown>
  let count = 0
  for (const key in source) {
    count++
    const v = source[key]
    const t = typeof v
    if (REQUEST_KEY_SET.has(key) || (t !== 'string' && t !== 'number' && t !== 'boolean')) {
      return undefined
    }
  }
  if (count === 0) return ''
  const out = redact({ ...source }) as Record<string, unknown>
  // A key the redactor renamed (a secret-shaped key) moves to the end of the whole line: fall back.
  if (out === null || typeof out !== 'object' || Object.keys(out).length !== count) return undefined
  for (const key in out) if (!Object.hasOwn(source, key)) return undefined
  return `${JSON.stringify(out).slice(1, -1)},`
}

/**
 * `metaFragment` of the `defaultMeta` the previous line saw, reused while that object still holds
 * the same keys, in the same order, with the same values (and prototype): redacting and
 * stringifying it per line cost ~0.8 µs for two fields, where comparing them costs a few
 * nanoseconds. The fragment depends on nothing else (the default redactor is a pure function of
 * its input), so an edit in place or a new object is seen on the very next line. A nested
 * `defaultMeta` never gets here (`metaFragment` declines it: the generic line formats it), so
 * the values compared are primitives.
 */
class MetaCache {
  private meta: object | undefined = undefined
  private proto: unknown = undefined
  private keys: string[] = []
  private values: unknown[] = []
  private text: string | undefined = ''

  constructor(private readonly redact: Redactor) {}

  fragment(meta: unknown): string | undefined {
    if (meta === undefined || meta === null) return ''
    if (typeof meta !== 'object') return undefined
    if (meta === this.meta && this.unchanged(meta as Record<string, unknown>)) return this.text
    const text = metaFragment(meta, this.redact)
    const keys: string[] = []
    const values: unknown[] = []
    const source = meta as Record<string, unknown>
    for (const key in source) {
      keys.push(key)
      values.push(source[key])
    }
    this.meta = meta
    this.proto = Object.getPrototypeOf(meta)
    this.keys = keys
    this.values = values
    this.text = text
    return text
  }

  /** Same prototype, same keys in the same order, and identical values. */
  private unchanged(meta: Record<string, unknown>): boolean {
    if (Object.getPrototypeOf(meta) !== this.proto) return false
    const keys = this.keys
    const values = this.values
    let i = 0
    for (const key in meta) {
      if (i >= keys.length || keys[i] !== key || values[i] !== meta[key]) return false
      i++
    }
    return i === keys.length
  }
}

/** Creates the JSON-lines logger. Invalid options throw `InvalidOptionsError` naming the field. */
export function createLogger(options: LoggerOptions = {}): winston.Logger {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, LOGGER_OPTION_KEYS)
  requireAsyncContext() // lines carry the running request's id, route and subject
  // LOG_LEVEL is read as aikitEnv's logLevel() and `aikit doctor` read it (trimmed, any case), so a
  // value both accept cannot stop the app at start-up; empty counts as unset.
  const envLevel = process.env.LOG_LEVEL
  const level =
    options.level ??
    (envLevel !== undefined && envLevel !== '' ? envLevel.trim().toLowerCase() : 'info')
  if (!LEVELS.includes(level)) {
    throw new InvalidOptionsError(
      options.level === undefined ? 'LOG_LEVEL' : 'level',
      `must be one of ${LEVELS.join(', ')}`
    )
  }
  const { redact = defaultRedact, stream, transports, defaultMeta = {} } = options
  if (typeof redact !== 'function') throw new InvalidOptionsError('redact', 'must be a function')
  if (stream !== undefined && (stream === null || typeof stream.write !== 'function')) {
    throw new InvalidOptionsError('stream', 'must be a writable stream')
  }
  if (transports !== undefined && !Array.isArray(transports)) {
    throw new InvalidOptionsError('transports', 'must be an array of winston transports')
  }
  if (defaultMeta === null || typeof defaultMeta !== 'object') {
    throw new InvalidOptionsError('defaultMeta', 'must be an object')
  }
  const out = stream ?? process.stdout
  const streamTransport =
    transports === undefined ? new winston.transports.Stream({ stream: out }) : undefined
  const logger = winston.createLogger({
    level,
    defaultMeta,
    exitOnError: false,
    format: winston.format.combine(
      winston.format.errors({ stack: true }),
      winston.format.timestamp(),
      errorFieldsFormat(),
      redaction(redact),
      winston.format.json()
    ),
    transports: transports ?? [streamTransport!],
  })
  captureRequestContext(logger)
  if (streamTransport !== undefined) {
    const batch = new LineBatch(out)
    // Lines winston writes go after the batched ones already queued: order is kept.
    const writeThroughWinston = streamTransport.log?.bind(streamTransport)
    if (writeThroughWinston !== undefined) {
      streamTransport.log = (info: unknown, next: () => void) => {
        batch.flush()
        return writeThroughWinston(info, next)
      }
    }
    // Whether a line of this level goes straight to the stream (see FAST_LINE). Reads winston's
    // pipe list directly: the `transports` getter allocates an array on every read.
    const writesFast = (lineLevel: string): boolean => {
      if (logger.silent || streamTransport.silent || streamTransport.level !== undefined) {
        return false
      }
      const pipes = (logger as unknown as { _readableState?: { pipes?: unknown } })._readableState
        ?.pipes
      const onlyOurs = Array.isArray(pipes)
        ? pipes.length === 1 && pipes[0] === streamTransport
        : pipes === streamTransport
      if (!onlyOurs) return false
      const levels = logger.levels as Record<string, number | undefined>
      const given = levels[lineLevel]
      const configured = levels[logger.level]
      return given !== undefined && configured !== undefined && configured >= given
    }
    const fastLine: FastLine = (lineLevel, message, fields) => {
      if (!writesFast(lineLevel)) return false
      const timestamp = isoNow()
      const line = redact({
        ...(logger.defaultMeta as Record<string, unknown> | undefined),
        ...withErrorFields(fields),
        level: lineLevel,
        message,
        timestamp,
      })
      // As censoredLine: a redactor that could not walk the fields answers its censor string.
      batch.push(
        JSON.stringify(
          line !== null && typeof line === 'object'
            ? line
            : {
                level: lineLevel,
                message: typeof line === 'string' ? line : '[redacted]',
                timestamp,
              }
        )
      )
      return true
    }
    Object.defineProperty(logger, FAST_LINE, { value: fastLine })
    if (redact === defaultRedact && keepsRequestKeys(redact)) {
      Object.defineProperty(logger, FAST_REQUEST_LINE, {
        value: requestLineWriter(logger, redact, batch, writesFast),
      })
    }
  }
  return logger
}

/** `JSON.stringify` of a number or null (non-finite numbers are `null` in JSON). */
const jsonNumber = (n: number | null): string =>
  n !== null && Number.isFinite(n) ? `${n}` : 'null'

/**
 * `.F`, `.FF` or `.FFF` (trailing zeros dropped) for each thousandth 1..999, and '' for 0: the
 * fractional part of a duration printed from integers, one string per value made once.
 */
const THOUSANDTHS: readonly string[] = Array.from({ length: 1000 }, (_, frac) => {
  if (frac === 0) return ''
  if (frac % 100 === 0) return `.${frac / 100}`
  if (frac % 10 === 0) return `.${frac < 100 ? '0' : ''}${frac / 10}`
  return `.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`
})

/**
 * `JSON.stringify` of a duration already rounded to 3 decimals, from integers: printing a
 * fractional double is the slow part of `${n}` (shortest round-trip digits). Below 1e12 µs the
 * decimal `W.FFF` (trailing zeros dropped) has at most 15 significant digits, so it is exactly the
 * shortest form JavaScript prints for the same double; anything else takes the general path.
 */
function jsonMillis(ms: number): string {
  const micros = Math.round(ms * 1000)
  if (!(micros >= 0 && micros < 1e12) || micros / 1000 !== ms) return jsonNumber(ms)
  const whole = Math.floor(micros / 1000)
  return `${whole}${THOUSANDTHS[micros - whole * 1000]}`
}

/** Entries a per-logger text cache keeps at most (methods, paths, routes, subjects, statuses). */
const TEXT_CACHE_MAX = 1000
/**
 * Longest value (method, path, route, subject) a per-logger text cache keeps: values come from
 * clients, and an entry holds the value and its quoted text for the logger's life, so 1,000 long
 * paths could pin tens of MB. Longer values are quoted on each line.
 */
const MAX_CACHED_TEXT = 256

/** Builds the `FAST_REQUEST_LINE` writer of one logger. */
function requestLineWriter(
  logger: winston.Logger,
  redact: Redactor,
  batch: LineBatch,
  writesFast: (level: string) => boolean
): FastRequestLine {
  // The line is put together from few pieces: the constant text between two values is folded
  // into the cached text of the value before it (each value redacted and quoted once), which
  // spares most of the string joins (and the garbage they leave) of one join per field.
  const quoted = new Map<string, string>()
  const quote = (value: string): string => {
    let q = quoted.get(value)
    if (q === undefined) {
      q = JSON.stringify(redact(value))
      if (value.length <= MAX_CACHED_TEXT && quoted.size < TEXT_CACHE_MAX) quoted.set(value, q)
    }
    return q
  }
  /** `,"method":<method>,"path":` */
  const methodTexts = new Map<string, string>()
  const methodText = (method: string): string => {
    let t = methodTexts.get(method)
    if (t === undefined) {
      t = `,"method":${quote(method)},"path":`
      if (method.length <= MAX_CACHED_TEXT && methodTexts.size < TEXT_CACHE_MAX) {
        methodTexts.set(method, t)
      }
    }
    return t
  }
  /** `,"status":<status>,"durationMs":` */
  const statusTexts = new Map<number | null, string>()
  const statusText = (status: number | null): string => {
    let t = statusTexts.get(status)
    if (t === undefined) {
      t = `,"status":${jsonNumber(status)},"durationMs":`
      if (statusTexts.size < TEXT_CACHE_MAX) statusTexts.set(status, t)
    }
    return t
  }
  /** `,"aborted":<aborted>[,"route":<route>]`, one map per value of `aborted`. */
  const routeTexts = [new Map<string | undefined, string>(), new Map<string | undefined, string>()]
  const routeText = (aborted: boolean, route: string | undefined): string => {
    const texts = routeTexts[aborted ? 1 : 0]!
    let t = texts.get(route)
    if (t === undefined) {
      t = `,"aborted":${aborted}${route === undefined ? '' : `,"route":${quote(route)}`}`
      const short = route === undefined || route.length <= MAX_CACHED_TEXT
      if (short && texts.size < TEXT_CACHE_MAX) texts.set(route, t)
    }
    return t
  }
  /** `,"level":<level>,"message":"request","timestamp":<timestamp>}` and the newline, per level,
   * for the millisecond `tailIso` (made again when the timestamp moves on). */
  let tailIso = ''
  const tails = new Map<string, string>()
  const tailText = (level: string, iso: string): string => {
    if (iso !== tailIso) {
      tailIso = iso
      tails.clear()
    }
    let t = tails.get(level)
    if (t === undefined) {
      // Our own `YYYY-MM-DDTHH:mm:ss.sssZ` (isoNow): digits and `-:T.Z` hold no secret, none
      // needs escaping, and the default redactor returns it as is (property-tested).
      t = `,"level":${quote(level)},"message":"request","timestamp":"${iso}"}\n`
      tails.set(level, t)
    }
    return t
  }
  const meta = new MetaCache(redact)
  return (
    level,
    requestId,
    method,
    path,
    status,
    durationMs,
    aborted,
    route,
    subject,
    generatedId
  ) => {
    if (!writesFast(level)) return false
    // Read on every line: `defaultMeta` may be replaced or edited in place at any time.
    const metaText = meta.fragment(logger.defaultMeta)
    if (metaText === undefined) return false
    // Paths, routes and subjects repeat from request to request: quoted (and redacted) once each.
    const id = generatedId === true ? `"${requestId}"` : JSON.stringify(redact(requestId))
    let line = `{${metaText}"requestId":${id}${methodText(method)}${quote(path)}${statusText(status)}${jsonMillis(durationMs)}${routeText(aborted, route)}`
    if (subject !== undefined) line += `,"subject":${quote(subject)}`
    batch.pushLine(line + tailText(level, isoNow()))
    return true
  }
}
