/**
 * @module validate
 * `validate({ body, query, params })`: checks request parts with zod 4 schemas (anything with
 * `safeParseAsync`) and answers 400 `INVALID_REQUEST` listing each issue's path and code, never the
 * offending values (they may hold secrets, and echoing them invites injection). The parsed data
 * goes on `ctx.state.validated`, and `mw.data(ctx)` returns it typed. A middleware that rewrites
 * the body afterwards (the prompt guard's redaction) has it validated again (`revalidateBody`), so
 * the validated body is always the schema's output for the body the route reads.
 */
import {
  type Context,
  errorBody,
  InvalidOptionsError,
  isAikitError,
  type Middleware,
} from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { RequestValidationError, type ValidationIssue } from './data-errors.js'
import { clientPath } from './validate-path.js'
import './validate-state.js'
import type { ValidatedParts } from './validate-state.js'

/** The part of a zod 4 schema `validate` uses (any Standard-Schema-like zod type fits). */
export interface ZodLikeSchema<Output = unknown> {
  safeParseAsync(
    value: unknown
  ): Promise<
    { success: true; data: Output } | { success: false; error: { issues: readonly ZodLikeIssue[] } }
  >
}

/** The fields of a zod issue that `validate` reports. */
export interface ZodLikeIssue {
  readonly code: string
  readonly path: readonly PropertyKey[]
  readonly message: string
}

/** Options of `validate`. */
export interface ValidateOptions<B = unknown, Q = unknown, P = unknown> {
  /** Schema of the JSON body (read with `ctx.json()`, so body limits apply). @default none */
  body?: ZodLikeSchema<B>
  /**
   * Schema of the query string, given as an object of strings (a repeated key gives an array
   * of strings). @default none
   */
  query?: ZodLikeSchema<Q>
  /** Schema of the route parameters (see `getParams`). @default none */
  params?: ZodLikeSchema<P>
  /**
   * Where route parameters come from. @default Fastify's `request.params` or Express's
   * `req.params` when the context has them, else `{}` (under Next, read them from the route)
   */
  getParams?: (ctx: Context) => unknown
  /** Most issues listed in the 400 response. @default 20 */
  maxIssues?: number
  /** Most query parameters accepted before answering 400. @default 1000 */
  maxQueryParams?: number
}
// The schemas' own keys are the app's data model and are not checked here: only this object's.
const VALIDATE_KEYS = Object.keys({
  body: true,
  query: true,
  params: true,
  getParams: true,
  maxIssues: true,
  maxQueryParams: true,
} satisfies Record<keyof ValidateOptions, true>)

/** The middleware, plus a typed reader of what it validated. */
export interface ValidateMiddleware<B, Q, P> extends Middleware {
  /** The validated parts for this request (after the middleware ran). */
  data(ctx: Context): { body: B; query: Q; params: P }
}

const DEFAULTS = { maxIssues: 20, maxQueryParams: 1000 }

/** Parses a new body into its `ctx.state.validated`; returns the 400 to answer if it fails. */
type BodyReparser = (value: unknown) => Promise<RequestValidationError | undefined>

/** The body schema behind each `ctx.state.validated` object that `validate({ body })` set. */
const bodyReparsers = new WeakMap<ValidatedParts, BodyReparser>()

/**
 * @internal For a middleware that replaced the request body after `validate({ body })` ran (the
 * prompt guard writing back redacted messages): parses `value` with the same body schema and puts
 * the output on `ctx.state.validated.body`, so it and `mw.data(ctx).body` describe the body the
 * route reads. Returns the `RequestValidationError` to answer (400) when the new body no longer
 * passes the schema, else undefined; does nothing when no `validate({ body })` set
 * `ctx.state.validated`.
 */
export async function revalidateBody(
  ctx: Context,
  value: unknown
): Promise<RequestValidationError | undefined> {
  const validated = ctx.state.validated
  if (validated === undefined) return undefined
  return bodyReparsers.get(validated)?.(value)
}

function isSchema(value: unknown): value is ZodLikeSchema {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { safeParseAsync?: unknown }).safeParseAsync === 'function'
  )
}

/** Parses a raw query string into a null-prototype object (`?__proto__=` cannot poison). */
export function parseQuery(
  raw: string,
  maxParams: number
): Record<string, string | string[]> | undefined {
  const out = Object.create(null) as Record<string, string | string[]>
  if (raw === '') return out
  let count = 0
  for (const [k, v] of new URLSearchParams(raw)) {
    if (++count > maxParams) return undefined
    const prev = out[k]
    if (prev === undefined) out[k] = v
    else if (Array.isArray(prev)) prev.push(v)
    else out[k] = [prev, v]
  }
  return out
}

function defaultParams(ctx: Context): unknown {
  // Fastify's context carries the Fastify request (routed before the hooks run); Express's
  // carries `req`, whose `params` the router filled in.
  const c = ctx as unknown as { request?: { params?: unknown }; req?: { params?: unknown } }
  const params = c.request?.params ?? c.req?.params
  return typeof params === 'object' && params !== null ? params : {}
}

/**
 * A client-safe copy of an issue: no input values, and no key the client chose (a record's or
 * catchall's key reads `*`, see `clientPath`).
 */
function toIssue(
  where: ValidationIssue['in'],
  issue: ZodLikeIssue,
  schema: ZodLikeSchema
): ValidationIssue {
  const path = clientPath(schema, issue.path)
  // zod's own messages describe the rule; `unrecognized_keys` names the input's keys, so it is
  // replaced. Custom messages are the app's own text.
  const message =
    issue.code === 'unrecognized_keys' ? 'Unrecognized key' : String(issue.message).slice(0, 200)
  return { in: where, path, code: issue.code, message }
}

/** Creates the validation middleware. Options are validated here. */
export function validate<B = undefined, Q = undefined, P = undefined>(
  options: ValidateOptions<B, Q, P>
): ValidateMiddleware<B, Q, P> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, VALIDATE_KEYS)
  for (const part of ['body', 'query', 'params'] as const) {
    if (options[part] !== undefined && !isSchema(options[part])) {
      throw new InvalidOptionsError(part, 'must be a zod schema (with safeParseAsync)')
    }
  }
  if (options.body === undefined && options.query === undefined && options.params === undefined) {
    throw new InvalidOptionsError('options', 'give at least one of body, query, params')
  }
  const getParams = options.getParams ?? defaultParams
  if (typeof getParams !== 'function') {
    throw new InvalidOptionsError('getParams', 'must be a function (ctx) => params')
  }
  const maxIssues = options.maxIssues ?? DEFAULTS.maxIssues
  if (!Number.isInteger(maxIssues) || maxIssues < 1) {
    throw new InvalidOptionsError('maxIssues', 'must be a positive integer')
  }
  const maxQueryParams = options.maxQueryParams ?? DEFAULTS.maxQueryParams
  if (!Number.isInteger(maxQueryParams) || maxQueryParams < 1) {
    throw new InvalidOptionsError('maxQueryParams', 'must be a positive integer')
  }
  const { body, query, params } = options

  const middleware = async function validateRequest(ctx: Context, next: () => Promise<void>) {
    const issues: ValidationIssue[] = []
    const validated: ValidatedParts = {}
    const check = async (
      where: ValidationIssue['in'],
      schema: ZodLikeSchema,
      value: unknown
    ): Promise<void> => {
      const result = await schema.safeParseAsync(value)
      if (result.success) validated[where] = result.data
      else for (const issue of result.error.issues) issues.push(toIssue(where, issue, schema))
    }
    if (params !== undefined) await check('params', params, getParams(ctx))
    if (query !== undefined) {
      const parsed = parseQuery(ctx.query, maxQueryParams)
      if (parsed === undefined) {
        issues.push({
          in: 'query',
          path: [],
          code: 'too_many_params',
          message: `More than ${maxQueryParams} query parameters`,
        })
      } else await check('query', query, parsed)
    }
    if (body !== undefined) {
      let value: unknown
      try {
        value = await ctx.json()
      } catch (error) {
        // 413/415/400 from the body reader: answer with it (it never holds the body's content).
        if (!isAikitError(error)) throw error
        ctx.respond(error.status, errorBody(error))
        return
      }
      await check('body', body, value)
    }
    if (issues.length > 0) {
      const error = new RequestValidationError(issues.slice(0, maxIssues))
      ctx.respond(error.status, errorBody(error))
      return
    }
    if (body !== undefined) {
      bodyReparsers.set(validated, async (value) => {
        const result = await body.safeParseAsync(value)
        if (result.success) {
          validated.body = result.data
          return undefined
        }
        const found = result.error.issues.slice(0, maxIssues).map((i) => toIssue('body', i, body))
        return new RequestValidationError(found)
      })
    }
    ctx.state.validated = validated
    await next()
  } as ValidateMiddleware<B, Q, P>
  middleware.data = (ctx: Context) => {
    const v = ctx.state.validated ?? {}
    return { body: v.body as B, query: v.query as Q, params: v.params as P }
  }
  return middleware
}
