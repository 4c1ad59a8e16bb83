import { type OpenAIErrorDetail, sendError } from './errors.js'
import type { Exchange } from './exchange.js'
import { isRecord } from './tokens.js'

/** A 400 the real API sends for one request field. */
export interface FieldProblem extends OpenAIErrorDetail {
  message: string
}

/** How the API names a JSON value's type in its "Invalid type" messages. */
function typeName(value: unknown): string {
  if (typeof value === 'number') return 'a decimal number'
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/** An integer field's problem, as the real API words it (`null` counts as not given). */
export function integerProblem(
  field: string,
  value: unknown,
  min: number,
  max: number
): FieldProblem | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return {
      message: `Invalid type for '${field}': expected an integer, but got ${typeName(value)} instead.`,
      param: field,
      code: 'invalid_type',
    }
  }
  if (value < min) {
    return {
      message: `Invalid '${field}': integer below minimum value. Expected a value >= ${min}, but got ${value} instead.`,
      param: field,
      code: 'integer_below_min_value',
    }
  }
  if (value > max) {
    return {
      message: `Invalid '${field}': integer above maximum value. Expected a value <= ${max}, but got ${value} instead.`,
      param: field,
      code: 'integer_above_max_value',
    }
  }
  return undefined
}

const SERVICE_TIERS = ['auto', 'default', 'flex', 'scale', 'priority']

/** A `service_tier` outside the API's values (`null` counts as not given). */
export function serviceTierProblem(value: unknown): FieldProblem | undefined {
  if (value === undefined || value === null || SERVICE_TIERS.includes(value as string)) {
    return undefined
  }
  return {
    message: `Invalid value: '${String(value)}'. Supported values are: 'auto', 'default', 'flex', 'scale', and 'priority'.`,
    param: 'service_tier',
    code: 'invalid_value',
  }
}

/** The tier an answer reports: the one asked for, `'default'` for `'auto'` or none. */
export function servedTier(value: unknown): string {
  return typeof value === 'string' && value !== 'auto' ? value : 'default'
}

/**
 * Responses: a `function_call_output` item must answer a `function_call` of the same `call_id` in
 * the input (unless the call is in the previous response, which the fake does not keep).
 */
export function toolOutputProblem(body: Record<string, unknown>): FieldProblem | undefined {
  if (!Array.isArray(body.input) || body.previous_response_id != null) return undefined
  const calls = new Set<unknown>()
  for (const item of body.input) {
    if (!isRecord(item)) continue
    if (item.type === 'function_call') calls.add(item.call_id)
    else if (item.type === 'function_call_output' && !calls.has(item.call_id)) {
      return {
        message: `No tool call found for function call output with call_id ${String(item.call_id)}.`,
        param: 'input',
      }
    }
  }
  return undefined
}

/** Sends the first problem found as a 400; `true` when one was sent. */
export function refuse(x: Exchange, ...problems: Array<FieldProblem | undefined>): boolean {
  const problem = problems.find((p) => p !== undefined)
  if (problem === undefined) return false
  sendError(x.res, x.call, 'openai', { status: 400, ...problem })
  return true
}
