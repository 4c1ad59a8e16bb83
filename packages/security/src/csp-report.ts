/**
 * @module csp-report
 * `cspReportHandler()`: the endpoint browsers send CSP violation reports to, in both formats:
 * the legacy `report-uri` body (`application/csp-report`, `{ "csp-report": {...} }`) and the
 * Reporting API (`application/reports+json`, an array of `{ type: 'csp-violation', body }`).
 * Bodies are bounded; every accepted report answers 204 with no body.
 */
import {
  AikitError,
  type Context,
  InvalidOptionsError,
  InvalidRequestError,
  type Middleware,
  UnsupportedMediaTypeError,
} from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'

/** One violation, normalised from either report format. Strings are cut to 1024 characters. */
export interface CspViolation {
  documentURL?: string
  blockedURL?: string
  effectiveDirective?: string
  disposition?: string
  originalPolicy?: string
  sourceFile?: string
  sample?: string
  referrer?: string
  statusCode?: number
  lineNumber?: number
  columnNumber?: number
}

/** Options of `cspReportHandler()`. */
export interface CspReportHandlerOptions {
  /** Receives the violations of one report body (never called with an empty list). Required. */
  onReport: (violations: CspViolation[], ctx: Context) => void | Promise<void>
  /** Largest report body in bytes; larger bodies get 413. @default 16384 */
  maxBytes?: number
  /** Handle only this path (other requests pass on); handle every request when unset. @default undefined */
  path?: string
  /** Most violations taken from one Reporting API batch. @default 50 */
  maxReports?: number
}
const CSP_REPORT_HANDLER_KEYS = Object.keys({
  onReport: true,
  maxBytes: true,
  path: true,
  maxReports: true,
} satisfies Record<keyof CspReportHandlerOptions, true>)

const MAX_STRING = 1024
const TYPES = new Set(['application/csp-report', 'application/reports+json', 'application/json'])

const LEGACY_FIELDS: Record<string, keyof CspViolation> = {
  'document-uri': 'documentURL',
  'blocked-uri': 'blockedURL',
  'effective-directive': 'effectiveDirective',
  'violated-directive': 'effectiveDirective',
  disposition: 'disposition',
  'original-policy': 'originalPolicy',
  'source-file': 'sourceFile',
  'script-sample': 'sample',
  referrer: 'referrer',
  'status-code': 'statusCode',
  'line-number': 'lineNumber',
  'column-number': 'columnNumber',
}
const API_FIELDS: (keyof CspViolation)[] = [
  'documentURL',
  'blockedURL',
  'effectiveDirective',
  'disposition',
  'originalPolicy',
  'sourceFile',
  'sample',
  'referrer',
  'statusCode',
  'lineNumber',
  'columnNumber',
]
const NUMBERS = new Set<keyof CspViolation>(['statusCode', 'lineNumber', 'columnNumber'])

function pick(out: CspViolation, key: keyof CspViolation, value: unknown): void {
  if (out[key] !== undefined) return
  if (NUMBERS.has(key)) {
    if (typeof value === 'number' && Number.isFinite(value))
      (out as Record<string, unknown>)[key] = value
  } else if (typeof value === 'string') {
    ;(out as Record<string, unknown>)[key] = value.slice(0, MAX_STRING)
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Extracts the violations from a parsed body of either format. */
export function parseCspReports(body: unknown, maxReports = 50): CspViolation[] {
  if (isObject(body) && isObject(body['csp-report'])) {
    const raw = body['csp-report']
    const out: CspViolation = {}
    for (const [from, to] of Object.entries(LEGACY_FIELDS)) pick(out, to, raw[from])
    return [out]
  }
  if (!Array.isArray(body)) return []
  const out: CspViolation[] = []
  for (const item of body) {
    if (out.length >= maxReports) break
    if (!isObject(item) || item.type !== 'csp-violation' || !isObject(item.body)) continue
    const v: CspViolation = {}
    for (const key of API_FIELDS) pick(v, key, item.body[key])
    out.push(v)
  }
  return out
}

function mediaType(ctx: Context): string {
  const raw = ctx.header('content-type') ?? ''
  const semi = raw.indexOf(';')
  return (semi === -1 ? raw : raw.slice(0, semi)).trim().toLowerCase()
}

/**
 * Reads the body as JSON. `application/csp-report` is JSON text under a media type core's
 * `ctx.json()` does not accept, so it is read through a view of the context whose `content-type`
 * says JSON; the same size and depth limits apply.
 */
function readJson(ctx: Context, type: string, maxBytes: number): Promise<unknown> {
  const limits = { maxBytes, maxDepth: 8 }
  if (type !== 'application/csp-report') return ctx.json(limits)
  const view = Object.create(ctx) as Context
  const header = (name: string): string | undefined =>
    name.toLowerCase() === 'content-type' ? 'application/json' : ctx.header(name)
  Object.defineProperty(view, 'header', { value: header })
  return view.json(limits)
}

function positiveInt(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionsError(field, 'must be a positive integer')
  }
  return value
}

/**
 * The CSP report endpoint: `POST` with `application/csp-report`, `application/reports+json` or
 * `application/json`, at most `maxBytes` → `onReport(violations)` → 204. Another method answers
 * 405, another content type 415, a larger body 413, malformed JSON 400 (the kit's JSON errors).
 * Point the policy at it with `report-uri` (and/or `report-to` plus a `Reporting-Endpoints` header).
 */
export function cspReportHandler(options: CspReportHandlerOptions): Middleware {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object with onReport')
  }
  rejectUnknownOptions(options, CSP_REPORT_HANDLER_KEYS)
  const { onReport, path } = options
  if (typeof onReport !== 'function')
    throw new InvalidOptionsError('onReport', 'must be a function')
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new InvalidOptionsError('path', "must be a path starting with '/'")
  }
  const maxBytes = positiveInt(options.maxBytes, 'maxBytes', 16_384)
  const maxReports = positiveInt(options.maxReports, 'maxReports', 50)
  return async function cspReportHandler(ctx, next) {
    if (path !== undefined && ctx.path !== path) {
      await next()
      return
    }
    if (ctx.method !== 'POST') {
      ctx.setHeader('Allow', 'POST')
      throw new AikitError('METHOD_NOT_ALLOWED', 405, 'Use POST to send CSP reports', {
        details: { allow: 'POST' },
      })
    }
    const type = mediaType(ctx)
    if (!TYPES.has(type)) throw new UnsupportedMediaTypeError('application/csp-report')
    const body = await readJson(ctx, type, maxBytes)
    const violations = parseCspReports(body, maxReports)
    if (violations.length === 0) throw new InvalidRequestError('No CSP violation in the report')
    await onReport(violations, ctx)
    ctx.respond(204)
  }
}
