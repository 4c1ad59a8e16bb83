/**
 * Credentials named with a hyphen (`access-token`, `refresh-token`, `X-Access-Token`) are kept out
 * of Sentry like their `_` spellings: in `request.query_string` (string, pair-array and object
 * forms), the request URL, request headers and an http breadcrumb's `url` / `http.query`. They
 * used to pass untouched. Driven through `initSentry`'s own `beforeSend` / `beforeBreadcrumb` (a
 * stand-in `sentry` module records the options it is given; no Sentry state is left on
 * globalThis), and end to end with the real @sentry/node v10 (whose SDK filters nothing by name)
 * in a child process, so this shared-project file never loads Sentry itself.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { forgetSentryClient, type Hook, initWithStandIn } from './sentry-stand-in.js'

const rev = (s: string): string => s.split('').reverse().join('')
const TOKEN = rev('0qQ1rR2sS3tT4uU5vV6wW7xX8yY9zZ')

let options: Record<string, Hook>

beforeAll(() => {
  options = initWithStandIn().options
  expect(options.beforeSend).toBeDefined()
})

afterAll(forgetSentryClient)

it('keeps an access-token / refresh-token query parameter out of the event and breadcrumbs', () => {
  const event = options.beforeSend!({
    exception: { values: [{ type: 'Error', value: 'oauth callback failed' }] },
    request: {
      url: `https://app.example/oauth/callback?access-token=${TOKEN}`,
      query_string: `access-token=${TOKEN}&refresh-token=${TOKEN}`,
    },
    breadcrumbs: [
      {
        type: 'http',
        category: 'http',
        data: { url: 'https://api.example/v1/me', 'http.query': `access-token=${TOKEN}` },
      },
    ],
  })
  expect(JSON.stringify(event)).toContain('oauth callback failed')
  expect(JSON.stringify(event)).not.toContain(TOKEN)

  for (const query_string of [
    [
      ['access-token', TOKEN],
      ['refresh-token', TOKEN],
    ],
    { 'access-token': TOKEN, 'refresh-token': TOKEN },
  ]) {
    const e = options.beforeSend!({ message: 'x', request: { query_string } })
    expect(JSON.stringify(e)).not.toContain(TOKEN)
  }

  const crumb = options.beforeBreadcrumb!({
    type: 'http',
    category: 'fetch',
    data: { url: `https://api.example/v1/me?refresh-token=${TOKEN}`, method: 'GET' },
  })
  expect(JSON.stringify(crumb)).not.toContain(TOKEN)
})

it('drops X-Access-Token request headers like X-Auth-Token', () => {
  const event = options.beforeSend!({
    message: 'upstream failed',
    request: {
      headers: { 'X-Auth-Token': TOKEN, 'X-Access-Token': TOKEN, 'content-type': 'text/plain' },
    },
  }) as { request: { headers: Record<string, unknown> } }
  expect(event.request.headers['content-type']).toBe('text/plain')
  expect(JSON.stringify(event)).not.toContain(TOKEN)
})

// The child: a local DSN endpoint, initSentry with the real v10 SDK, an Express route that fails
// for a request carrying the credentials. Prints which markers reached the DSN outside the
// source lines Sentry attaches to frames (the script's own text).
const CHILD = `
import * as Sentry from '@sentry/node-v10'
import { initSentry } from '@aikit/observability/sentry'
import { createServer } from 'node:http'
const got = []
const dsn = createServer((req, res) => { let b = ''; req.on('data', (c) => (b += c)); req.on('end', () => { got.push(b); res.end('{}') }) })
await new Promise((r) => dsn.listen(0, '127.0.0.1', r))
initSentry({ dsn: 'http://public@127.0.0.1:' + dsn.address().port + '/1', sentry: Sentry })
const express = (await import('express')).default
const app = express()
app.get('/cb', () => { throw new Error('oauth callback failed') })
Sentry.setupExpressErrorHandler(app)
const s = app.listen(0, '127.0.0.1')
await new Promise((r) => s.on('listening', r))
const t = process.env.TEST_TOKEN
await fetch('http://127.0.0.1:' + s.address().port + '/cb?access-token=' + t, { headers: { 'X-Access-Token': t } })
await Sentry.flush(3000)
const events = got.join('\\n')
console.log(JSON.stringify({ events: got.length, leaked: events.includes(t), sample: events.slice(Math.max(0, events.indexOf(t) - 120), events.indexOf(t) + 40) }))
await Sentry.close(1000); s.close(); dsn.close()
`

it('with the real @sentry/node v10, keeps an X-Access-Token header and ?access-token= out of the event', () => {
  const cwd = fileURLToPath(new URL('..', import.meta.url))
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd,
    env: { ...process.env, TEST_TOKEN: TOKEN },
    timeout: 30_000,
    encoding: 'utf8',
  })
  const result = JSON.parse(out.trim().split('\n').pop()!) as {
    events: number
    leaked: boolean
    sample: string
  }
  expect(result.events).toBeGreaterThan(0)
  expect(result).toMatchObject({ leaked: false })
})
