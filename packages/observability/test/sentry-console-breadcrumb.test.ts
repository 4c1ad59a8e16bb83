/**
 * A console breadcrumb carries the same text twice, as `message` (the arguments joined with
 * spaces) and as `data.arguments`, which redaction reads by different rules: in the array a string
 * naming a credential censors the item after it (`['password', pw]`), in text only
 * `name: value` / `name=value` is caught. They were redacted apart, so one copy always leaked;
 * the message is now rebuilt from the redacted arguments, redacted as text, and the arguments are
 * dropped. Checked through `initSentry`'s own `beforeBreadcrumb` (a stand-in `sentry` module), and
 * end to end with the real @sentry/node v11 in a child process.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { forgetSentryClient, type Hook, initWithStandIn } from './sentry-stand-in.js'

const rev = (s: string): string => s.split('').reverse().join('')
const PASSWORD = rev('9Iu3Y1t6R4e7W2q8')

let options: Record<string, Hook>

beforeAll(() => {
  options = initWithStandIn().options
})

afterAll(forgetSentryClient)

/** A breadcrumb as Sentry's console integration records `console.log(...args)`. */
const consoleCrumb = (args: unknown[]) => ({
  category: 'console',
  level: 'log',
  message: args.map(String).join(' '),
  data: { arguments: args, logger: 'console' },
})

it.each([[['password', PASSWORD]], [['password:', PASSWORD]], [['apiKey=', PASSWORD]]])(
  'keeps the value of console.log(%j) out of both message and data.arguments',
  (args) => {
    const crumb = options.beforeBreadcrumb!(consoleCrumb(args)) as {
      message: string
      data: Record<string, unknown>
    }
    expect(JSON.stringify(crumb)).not.toContain(PASSWORD)
    expect(crumb.message).toMatch(/^(?:password:? |apiKey= ?)\[redacted\]$/)
    expect(crumb.data).toEqual({ logger: 'console' })
  }
)

it('rebuilds the message of a console breadcrumb without secrets as its arguments read', () => {
  const error = new Error('connect failed')
  const crumb = options.beforeBreadcrumb!(
    consoleCrumb(['retrying', 3, { host: 'db', password: PASSWORD }, error, null])
  ) as { message: string }
  expect(crumb.message).toBe(
    'retrying 3 {"host":"db","password":"[redacted]"} Error: connect failed null'
  )
})

const CHILD = `
import * as Sentry from '@sentry/node'
import { initSentry } from '@aikit/observability/sentry'
import { createServer } from 'node:http'
const got = []
const dsn = createServer((req, res) => { let b = ''; req.on('data', (c) => (b += c)); req.on('end', () => { got.push(b); res.end('{}') }) })
await new Promise((r) => dsn.listen(0, '127.0.0.1', r))
initSentry({ dsn: 'http://public@127.0.0.1:' + dsn.address().port + '/1' })
const pw = process.env.TEST_PASSWORD
console.log('password', pw)
console.log('password:', pw)
Sentry.captureException(new Error('db connect failed'))
await Sentry.flush(3000)
const all = got.join('\\\\n')
console.error(JSON.stringify({ events: got.length, leaked: all.includes(pw), crumb: all.includes('"message":"password [redacted]"') }))
await Sentry.close(1000); dsn.close()
`

it('with the real @sentry/node v11, console.log of a password reaches no breadcrumb', () => {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, TEST_PASSWORD: PASSWORD },
    timeout: 30_000,
    encoding: 'utf8',
  })
  // The verdict is the child's last stderr line (its stdout is the console.log calls themselves).
  const verdict = JSON.parse(child.stderr.trim().split('\n').pop() ?? '{}') as {
    events?: number
    leaked?: boolean
    crumb?: boolean
  }
  expect(verdict.events).toBeGreaterThan(0)
  expect(verdict).toMatchObject({ leaked: false, crumb: true })
})
