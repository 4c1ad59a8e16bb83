import { describe, expect, it } from 'vitest'

// Pins the public surface: adding or removing an export is a deliberate, reviewed change.
describe('public exports', () => {
  it('@aikit/queue', async () => {
    expect(Object.keys(await import('@aikit/queue')).sort()).toEqual([
      'JobFailedError',
      'JobNotFoundError',
      'QueueClosedError',
      'createLlmQueue',
      'createLlmWorker',
      'formatSse',
      'sseHandler',
    ])
  })
})
