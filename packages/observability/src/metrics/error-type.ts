/**
 * @module error-type
 * The OTel `error.type` value of a thrown value: a kit error's stable `code`, a provider error's
 * HTTP status, a timeout, else the error class name. Never the message (it can carry secrets and
 * has unbounded cardinality).
 */
import { OTHER_ERROR } from './names.js'

const SAFE = /^[A-Za-z0-9_.:-]{1,64}$/

export function errorTypeOf(error: unknown): string {
  if (error === null || typeof error !== 'object') return OTHER_ERROR
  const e = error as { code?: unknown; status?: unknown; name?: unknown }
  if (e.name === 'AbortError' || e.name === 'TimeoutError') {
    return e.name === 'TimeoutError' ? 'timeout' : 'aborted'
  }
  if (typeof e.status === 'number' && Number.isInteger(e.status) && e.status >= 400) {
    return typeof e.code === 'string' && SAFE.test(e.code) && e.code === e.code.toUpperCase()
      ? e.code
      : String(e.status)
  }
  if (typeof e.code === 'string' && SAFE.test(e.code)) return e.code
  if (typeof e.name === 'string' && SAFE.test(e.name)) return e.name
  return OTHER_ERROR
}
