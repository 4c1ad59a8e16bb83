import { describe, expect, it } from 'vitest'

// Pins the public surface: adding or removing an export is a deliberate, reviewed change.
describe('public exports', () => {
  it('@aikit/cli', async () => {
    expect(Object.keys(await import('@aikit/cli')).sort()).toEqual([
      'doctorConfigSchema',
      'formatReport',
      'runDoctor',
      'runDoctorOnline',
    ])
  })
})
