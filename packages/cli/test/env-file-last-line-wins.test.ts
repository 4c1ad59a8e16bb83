/**
 * A variable written twice in an env file takes its LAST line's value (as with dotenv and
 * `node --env-file`), whichever spelling each line uses: a BOM on the first line, `export` + a tab,
 * blanks around the name. The lines inside a multi-line quoted value are kept verbatim.
 */
import { describe, expect, it } from 'vitest'
import { parseEnvFile } from '../src/load-input.js'

describe('env-file duplicates keep the last line', () => {
  it('export<tab>NODE_ENV=development then NODE_ENV=production → production', () => {
    expect(parseEnvFile('export\tNODE_ENV=development\nNODE_ENV=production\n').NODE_ENV).toBe(
      'production'
    )
  })

  it('a BOM-prefixed first line overridden by a later line → the later value', () => {
    expect(parseEnvFile('\uFEFFNODE_ENV=development\nNODE_ENV=production\n').NODE_ENV).toBe(
      'production'
    )
  })

  it('blanks around the name and export with two spaces: the last line still wins', () => {
    const vars = parseEnvFile('NODE_ENV=production\n\tNODE_ENV\t=test\nexport  NODE_ENV=staging\n')
    expect(vars.NODE_ENV).toBe('staging')
    expect(parseEnvFile('export  A=1\nA\t=2\r\n').A).toBe('2')
  })

  it('an assignment-like line inside a multi-line quoted value is part of the value', () => {
    const vars = parseEnvFile('A=1\nKEY="line one\nexport\tA=2\n  A = 3\n"\nB=4\n')
    expect(vars).toEqual({ A: '1', KEY: 'line one\nexport\tA=2\n  A = 3\n', B: '4' })
    expect(parseEnvFile("Q='x\n\tQ=2\n'\n").Q).toBe('x\n\tQ=2\n')
  })

  it('a quote that never closes is the line’s value, and later lines are read as usual', () => {
    expect(parseEnvFile('A="open\nexport\tA=2\n')).toEqual({ A: '2' })
  })
})
