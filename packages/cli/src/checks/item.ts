/**
 * @module checks/item
 * Small builders that keep every check's items the same shape.
 */
import type { DoctorItem, Facts } from '../types.js'

export const pass = (id: string, title: string, detail: string): DoctorItem => ({
  id,
  title,
  status: 'PASS',
  detail,
})

export const warn = (id: string, title: string, detail: string, fix: string): DoctorItem => ({
  id,
  title,
  status: 'WARN',
  detail,
  fix,
})

export const fail = (id: string, title: string, detail: string, fix: string): DoctorItem => ({
  id,
  title,
  status: 'FAIL',
  detail,
  fix,
})

/** The item of a check whose configuration section did not validate. */
export function invalidSection(
  facts: Facts,
  field: string,
  id: string,
  title: string
): DoctorItem | undefined {
  if (!facts.invalidFields.has(field)) return undefined
  return fail(
    id,
    title,
    `config field \`${field}\` is invalid`,
    'fix the fields the config item names'
  )
}

/** FAIL in production, WARN elsewhere. */
export const failInProduction = (
  facts: Facts,
  id: string,
  title: string,
  detail: string,
  fix: string
): DoctorItem => (facts.production ? fail : warn)(id, title, detail, fix)
