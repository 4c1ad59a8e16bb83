/**
 * A price entry's shape is fixed: each field is a rate the table bills, so a field it does not
 * read would be a price never charged. Fields copied from another price sheet (a per-million
 * suffix, LiteLLM's per-token names, batch prices, audio or image token rates) are refused with
 * what to write instead, and any other unknown field with the entry's fields and their unit.
 * A multiplier for the mode the entry's rates already are (`speed.standard`,
 * `inferenceGeo.global`, always billed 1×) is refused unless it is 1, instead of being ignored.
 */
import { InvalidOptionsError } from '@aikit/core'
import { createPriceTable, PRICES } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

/** The InvalidOptionsError `fn` throws. */
function refusal(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

/** The refusal of an override of model `m` with `extra` fields. */
const refuse = (extra: object): InvalidOptionsError =>
  refusal(() => createPriceTable({ overrides: { m: { input: 3, output: 15, ...extra } } } as never))

describe('price entry fields from other price sheets are refused with what to write', () => {
  it('a per-million suffix: the field it stands for (rates are per million already)', () => {
    const error = refuse({ cacheWrite1hPer1M: 6 })
    expect(error.field).toBe('overrides["m"].cacheWrite1hPer1M')
    expect(error.message).toContain('`overrides["m"].cacheWrite1h`')
    expect(error.message).toContain('per million tokens')
    expect(refuse({ inputPerMTok: 3 }).message).toContain('`overrides["m"].input`')
    expect(refuse({ priority: { input: 6, output: 30, outputPer1M: 30 } }).message).toContain(
      '`overrides["m"].priority.output`'
    )
  })

  it('batch prices: batchDiscountPercent', () => {
    const error = refuse({ batch: { input: 1.5, output: 7.5 } })
    expect(error.field).toBe('overrides["m"].batch')
    expect(error.message).toContain('batchDiscountPercent')
    expect(refuse({ flex: { input: 1, output: 5, batchInput: 1 } }).message).toContain(
      'batchDiscountPercent'
    )
  })

  it('LiteLLM per-token costs: USD per million tokens under our names', () => {
    const error = refuse({ input_cost_per_token: 3e-6 })
    expect(error.field).toBe('overrides["m"].input_cost_per_token')
    expect(error.message).toContain('1,000,000')
    expect(error.message).toContain('`input`')
    expect(refuse({ search_context_cost_per_query: 0.01 }).message).toContain('webSearchPer1k')
    expect(refuse({ output_cost_per_reasoning_token: 1e-5 }).message).toContain(
      '`overrides["m"].output`'
    )
  })

  it('audio and image token rates: no rates of their own, billed as input / output', () => {
    for (const field of ['inputAudio', 'input_cost_per_audio_token', 'imageInputPer1M']) {
      const error = refuse({ [field]: 40 })
      expect(error.field).toBe(`overrides["m"].${field}`)
      expect(error.message).toContain('audio and image tokens have no rates of their own')
      expect(error.message).toContain('`input` / `output`')
    }
  })

  it("any other unknown field: the entry's fields, their unit, and where notes go", () => {
    const error = refuse({ notes: 'from the June sheet' })
    expect(error.field).toBe('overrides["m"].notes')
    expect(error.message).toContain('not a price field')
    expect(error.message).toContain('cacheWrite1h')
    expect(error.message).toContain('USD per million tokens')
    expect(error.message).toContain('source')
    // A near miss keeps its did-you-mean.
    expect(refuse({ cachedRead: 0.3 }).message).toContain('did you mean `overrides["m"].cacheRead`')
  })

  it('every built-in entry passes the check, and extends as its own table', () => {
    const table = createPriceTable({ prices: PRICES })
    for (const key of Object.keys(PRICES)) {
      expect(table.resolve(key)?.key).toBe(key)
      expect(() => table.extend({ overrides: { [key]: { ...PRICES[key] } } })).not.toThrow()
    }
  })
})

describe('a multiplier for the standard mode is refused unless 1', () => {
  it('speed.standard or inferenceGeo.global other than 1 is named (they are always 1×)', () => {
    const speed = refuse({ multipliers: { speed: { standard: 2, fast: 6 } } })
    expect(speed.field).toBe('overrides["m"].multipliers.speed.standard')
    expect(speed.message).toContain('must be 1')
    expect(refuse({ multipliers: { inferenceGeo: { global: 1.2 } } }).field).toBe(
      'overrides["m"].multipliers.inferenceGeo.global'
    )
  })

  it('1 is accepted (a full mode map copied from a price sheet)', () => {
    const table = createPriceTable({
      overrides: {
        m: {
          input: 1,
          output: 1,
          multipliers: { speed: { standard: 1, fast: 6 }, inferenceGeo: { global: 1, us: 1.1 } },
        },
      },
    })
    expect(table.priceOf('m', { inputTokens: 1_000_000, outputTokens: 0, speed: 'fast' })).toBe(
      6_000_000
    )
  })
})
