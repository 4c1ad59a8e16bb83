/**
 * The two sides of a drift guard: the kit's factory and the doctor's schema, each giving a verdict
 * on the same input. A row states the verdict it expects (`'ok'`, or the field the kit names), so
 * a row cannot pass because both sides refuse it for some other reason (a missing store, a
 * required option the row forgot): the kit must name that field, and the doctor must name it too.
 */
import { InvalidOptionsError } from '@aikit/core'
import { expect } from 'vitest'
import type { z } from 'zod'
import { parseConfig } from '../src/config.js'

/** What a row expects: accepted, or refused naming this field (the kit's spelling). */
export type Expected = 'ok' | string

/** A verdict: accepted, or refused with the fields named, as dotted paths. */
export type Verdict = { ok: true } | { ok: false; fields: readonly string[] }

/**
 * The kit's field in the doctor's spelling: `limits[0].limit` as `limits.0.limit`, and a tier's
 * `tiers.pro.limits[0].limit` as `tiers.pro.0.limit` (the doctor's tiers are lists themselves).
 */
export const doctorSpelling = (field: string): string =>
  field.replace(/^(tiers\.[^.[]*)\.limits(?=$|[.[])/, '$1').replace(/\[(\d+)\]/g, '.$1')

/**
 * Runs the kit's factory. Only `InvalidOptionsError` is a refusal; anything else is a broken row
 * and fails the test.
 */
export function kitVerdict(run: () => unknown): Verdict {
  try {
    run()
    return { ok: true }
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    return { ok: false, fields: [doctorSpelling(error.field)] }
  }
}

/** A zod schema's verdict on the option `root` (`limits`, `tiers`), every issue's path under it. */
export function schemaVerdict(schema: z.ZodType, input: unknown, root: string): Verdict {
  const result = schema.safeParse(input)
  if (result.success) return { ok: true }
  return {
    ok: false,
    fields: result.error.issues.map((i) => [root, ...i.path.map(String)].join('.')),
  }
}

/** `parseConfig({ [section]: options })`'s verdict, fields relative to the section. */
export function sectionVerdict(section: string, options: unknown): Verdict {
  const { problems } = parseConfig({ [section]: options })
  if (problems.length === 0) return { ok: true }
  const prefix = new RegExp(`^${section}(?:\\.|$)`)
  return {
    ok: false,
    fields: problems.map((p) => {
      const field = p.slice(0, p.indexOf(': '))
      // A problem outside the section is no answer about it.
      return prefix.test(field) ? field.replace(prefix, '') : `(outside ${section}) ${field}`
    }),
  }
}

/**
 * The row's expectation holds on both sides: both accept, or the kit names `expected` (in the
 * doctor's spelling) and the doctor names it among its problems.
 */
export function expectVerdicts(expected: Expected, kit: Verdict, doctor: Verdict): void {
  if (expected === 'ok') {
    expect(kit, 'the kit').toEqual({ ok: true })
    expect(doctor, 'the doctor').toEqual({ ok: true })
    return
  }
  expect(kit, 'the kit').toEqual({ ok: false, fields: [expected] })
  expect(doctor.ok, 'the doctor refuses').toBe(false)
  if (!doctor.ok) expect(doctor.fields, 'the doctor names the field').toContain(expected)
}
