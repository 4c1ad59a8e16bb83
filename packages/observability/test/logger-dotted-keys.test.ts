/**
 * Log fields named OTel-style with dots (`db.password`, `openai.api_key`) are censored like their
 * `_` / camelCase forms (the redactor checks a dotted key's last segment); they were written in
 * clear. Apps that log span-like attribute bags hit this.
 */
import { Writable } from 'node:stream'
import { createLogger } from '@aikit/observability'
import { expect, it, vi } from 'vitest'

const rev = (s: string): string => s.split('').reverse().join('')
const PASSWORD = rev('9Iu3Y1t6R4e7W2q8')

it('censors dotted credential field names like their _ / camelCase forms', async () => {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk))
      cb()
    },
  })
  const logger = createLogger({ stream })
  logger.info('db connect', { db_password: PASSWORD, 'db.system': 'postgresql' })
  logger.info('db connect', { 'db.password': PASSWORD, 'openai.api_key': PASSWORD })
  // Written asynchronously: polled (a loaded runner takes longer than any fixed sleep).
  const lines = await vi.waitFor(
    () => {
      const written = chunks.join('').trim().split('\n')
      expect(written).toHaveLength(2)
      return written
    },
    { timeout: 10_000, interval: 10 }
  )
  expect(lines[0]).not.toContain(PASSWORD) // the `_` form is censored today
  expect(lines[1]).not.toContain(PASSWORD)
})
