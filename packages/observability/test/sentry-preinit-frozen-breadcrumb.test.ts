/**
 * When the app called `Sentry.init` itself, `initSentry` scrubs breadcrumbs in the client's
 * `beforeAddBreadcrumb` hook by rewriting the breadcrumb in place. That hook receives whatever the
 * app's own `beforeBreadcrumb` returned; a frozen breadcrumb made the rewrite throw, and Sentry's
 * `addBreadcrumb` does not catch hook errors, so `Sentry.addBreadcrumb(...)` threw into the app.
 * Such a breadcrumb is now left to the envelope check, which still scrubs it before it is sent.
 * Checked with a stand-in client and, end to end, with the real @sentry/node v11 in a child process.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { forgetSentryClient, type Hook, initWithStandIn } from './sentry-stand-in.js'

let hooks: Map<string, Hook[]>

beforeAll(() => {
  // The app initialised Sentry itself: initSentry attaches to its client.
  hooks = initWithStandIn({ appInitialised: true }).clientHooks
})

afterAll(forgetSentryClient)

it('the beforeAddBreadcrumb hook does not throw on a frozen breadcrumb', () => {
  const [hook] = hooks.get('beforeAddBreadcrumb') ?? []
  expect(hook).toBeDefined()
  const crumb = Object.freeze({ timestamp: 1, category: 'app', message: 'user signed in' })
  expect(() => hook!(crumb)).not.toThrow()
})

const CHILD = `
import * as Sentry from '@sentry/node'
import { initSentry } from '@aikit/observability/sentry'
import { createServer } from 'node:http'
const got = []
const dsn = createServer((req, res) => { let b = ''; req.on('data', (c) => (b += c)); req.on('end', () => { got.push(b); res.end('{}') }) })
await new Promise((r) => dsn.listen(0, '127.0.0.1', r))
const url = 'http://public@127.0.0.1:' + dsn.address().port + '/1'
Sentry.init({ dsn: url, beforeBreadcrumb: (b) => Object.freeze({ ...b }) })
initSentry({ dsn: url })
const token = process.env.TEST_TOKEN
let threw = null
try { Sentry.addBreadcrumb({ category: 'app', message: 'calling with Authorization: Bearer ' + token }) } catch (e) { threw = String(e) }
Sentry.captureException(new Error('upstream failed'))
await Sentry.flush(3000)
const all = got.join('\\n')
process.stderr.write(JSON.stringify({ threw, events: got.length, leaked: all.includes(token), crumb: all.includes('calling with Authorization') }) + '\\n')
await Sentry.close(500); dsn.close()
`

it('with the real @sentry/node v11 initialised by the app, Sentry.addBreadcrumb does not throw, and the breadcrumb is sent scrubbed', () => {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, TEST_TOKEN: ['9f3a', '71c2', 'e8b4', '5d06'].join('') },
    timeout: 30_000,
    encoding: 'utf8',
  })
  const verdict = JSON.parse(child.stderr.trim().split('\n').pop() ?? '{}') as unknown
  expect(verdict).toEqual({ threw: null, events: 1, leaked: false, crumb: true })
})
