import { InvalidOptionsError } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { createRedactor, redact } from '../src/redact.js'

// Realistic-looking fakes, built at runtime so no secret scanner flags this file.
const ANTHROPIC = `sk-ant-api03-${'a1B2c3D4e5'.repeat(9)}xyzAA`
const OPENAI_PROJ = `sk-proj-${'Zx9Yw8Vu7T'.repeat(7)}T3BlbkFJ${'q1W2e3R4t5'.repeat(7)}`
const OPENAI_LEGACY = `sk-${'abcdEFGH12'.repeat(2)}T3BlbkFJ${'ijklMNOP34'.repeat(2)}`
const AWS_ID = `AKIA${'QWERTYUIOP234567'}`
const JWT = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${'s1gnatureXY'.repeat(3)}`
const GITHUB = `ghp_${'A1b2C3d4E5'.repeat(3)}f6G7h8`

function json(value: unknown): string {
  return JSON.stringify(value)
}

describe('redact: key names at any depth', () => {
  it('censors default sensitive keys whatever their case, leaving other keys alone', () => {
    const input = {
      headers: { Authorization: 'Bearer abc', cookie: 'sid=1', 'X-Api-Key': 'k', accept: '*/*' },
      user: { name: 'ann', password: 'hunter2', apiKey: 'x', api_key: 'y' },
      deep: [{ secret: 's' }, { token: 't' }],
    }
    expect(redact(input)).toEqual({
      headers: {
        Authorization: '[redacted]',
        cookie: '[redacted]',
        'X-Api-Key': '[redacted]',
        accept: '*/*',
      },
      user: { name: 'ann', password: '[redacted]', apiKey: '[redacted]', api_key: '[redacted]' },
      deep: [{ secret: '[redacted]' }, { token: '[redacted]' }],
    })
  })

  it('censors a whole object or array under a sensitive key', () => {
    expect(redact({ credentials: { user: 'u', pass: 'p' }, 'set-cookie': ['a=1', 'b=2'] })).toEqual(
      { credentials: '[redacted]', 'set-cookie': '[redacted]' }
    )
  })

  it('keys: false turns the name list off; an array adds names', () => {
    expect(createRedactor({ keys: false, patterns: false })({ password: 'p' })).toEqual({
      password: 'p',
    })
    expect(createRedactor({ keys: ['ssn'] })({ SSN: '123', password: 'p' })).toEqual({
      SSN: '[redacted]',
      password: '[redacted]',
    })
  })
})

describe('redact: pino-style paths', () => {
  const r = createRedactor({
    keys: false,
    paths: ['req.headers["x-custom-auth"]', '*.pin', 'items[*].card', 'list[1]', 'a.b.c'],
  })

  it('censors exact, bracketed, wildcard and index paths', () => {
    const out = r({
      req: { headers: { 'X-Custom-Auth': 'v', other: 'o' } },
      user: { pin: '1234', name: 'n' },
      admin: { pin: '9' },
      items: [
        { card: '4111', id: 1 },
        { card: '5500', id: 2 },
      ],
      list: ['keep', 'drop', 'keep'],
      a: { b: { c: 1, d: 2 } },
      pin: 'top-level pin is one level too shallow for *.pin',
    })
    expect(out).toEqual({
      req: { headers: { 'X-Custom-Auth': '[redacted]', other: 'o' } },
      user: { pin: '[redacted]', name: 'n' },
      admin: { pin: '[redacted]' },
      items: [
        { card: '[redacted]', id: 1 },
        { card: '[redacted]', id: 2 },
      ],
      list: ['keep', '[redacted]', 'keep'],
      a: { b: { c: '[redacted]', d: 2 } },
      pin: 'top-level pin is one level too shallow for *.pin',
    })
  })

  it('rejects malformed paths at construction, naming the bad entry', () => {
    for (const bad of ['', 'a..b', 'a.', 'a[', 'a["x]', 'a[b]', 'a b']) {
      expect(() => createRedactor({ paths: ['ok', bad] })).toThrow(InvalidOptionsError)
      try {
        createRedactor({ paths: ['ok', bad] })
      } catch (e) {
        expect((e as InvalidOptionsError).field).toBe('paths[1]')
      }
    }
  })
})

describe('redact: secrets inside strings', () => {
  it.each([
    ['Anthropic key', `calling with ${ANTHROPIC} now`, 'sk-ant-[redacted]', ANTHROPIC],
    ['OpenAI project key', `key=${OPENAI_PROJ}`, '[redacted]', OPENAI_PROJ],
    ['OpenAI legacy key', `using ${OPENAI_LEGACY}.`, 'sk-[redacted]', OPENAI_LEGACY],
    ['AWS access key id', `aws ${AWS_ID} in use`, 'AKIA[redacted]', AWS_ID],
    ['JWT', `token is ${JWT}`, 'eyJ[redacted]', JWT],
    ['GitHub token', `push with ${GITHUB}`, 'ghp_[redacted]', GITHUB],
    ['bearer token', 'sent Bearer abc123def456 upstream', 'Bearer [redacted]', 'abc123def456'],
    [
      'Authorization line',
      'Authorization: Basic dXNlcjpwYXNz',
      'Authorization: Basic [redacted]',
      'dXNlcjpwYXNz',
    ],
    ['x-api-key line', 'x-api-key=plainsecretvalue', 'x-api-key=[redacted]', 'plainsecretvalue'],
    ['cookie line', 'Cookie: sid=s3cr3t; theme=dark', 'Cookie: [redacted]', 's3cr3t'],
    [
      'password in a query',
      '/login?user=ann&password=hunter2&x=1',
      'password=[redacted]',
      'hunter2',
    ],
    ['token in a URL', 'GET /cb?access_token=abcd1234 200', 'access_token=[redacted]', 'abcd1234'],
    [
      'password in JSON text',
      '{"user":"ann","password":"hunter2"}',
      '"password":"[redacted]"',
      'hunter2',
    ],
  ])('%s', (_name, text, expected, secret) => {
    const out = redact({ msg: text }) as { msg: string }
    expect(out.msg).toContain(expected)
    expect(out.msg).not.toContain(secret)
  })

  it('leaves ordinary text untouched (same string, no false positives)', () => {
    const benign = [
      'the bearer of bad news arrived',
      'a basic understanding of tokens',
      'GET /api/chat?model=claude&stream=true 200 12ms',
      'task-manager started on port 3000',
      'deploying task-manager-service-discovery-worker-1 to the cluster',
      'risk-assessment-pipeline-v2-production finished',
      'user asked about cookies and recipes',
      'sk-short',
      // Prefixed names count only for credential words (password, token, api_key, secret, …).
      '/search?sort_key=name&cache_key=abc&max_tokens=1024&page=2',
      'the password reset link was sent; tokens used: 5',
      'use --passes=3 and token_type=bearer',
      'an authorization server issues tokens',
    ]
    for (const text of benign) expect(redact(text)).toBe(text)
  })

  // An opaque credential with no provider prefix: only the name in front of it gives it away.
  const CRED = 'Zq7wXc9vBn3mLk5j'

  it.each([
    // Any scheme: everything after `Authorization:` to the end of the line is censored.
    [`Authorization: ApiKey ${CRED}`, 'Authorization: ApiKey [redacted]'],
    [`authorization: Negotiate ${CRED}`, 'authorization: Negotiate [redacted]'],
    [`Proxy-Authorization: SSWS ${CRED}`, 'Proxy-Authorization: SSWS [redacted]'],
    [`Authorization: Bot ${CRED}`, 'Authorization: Bot [redacted]'],
    [`Authorization: Custom ${CRED}\nHost: a`, 'Authorization: [redacted]\nHost: a'],
    [`Authorization: ${CRED} ${CRED}`, 'Authorization: [redacted]'],
    // ... or to the closing quote.
    [`authorization="Bearer ${CRED} x" host=a`, 'authorization="Bearer [redacted]" host=a'],
    [
      `{"msg":"sent Authorization: Bearer ${CRED}","status":401}`,
      '{"msg":"sent Authorization: Bearer [redacted]","status":401}',
    ],
    // Quoted values (logfmt, shell, config files), spaces included.
    [`user=ann password="${CRED} x" status=401`, 'user=ann password="[redacted]" status=401'],
    [`export API_KEY="${CRED}"`, 'export API_KEY="[redacted]"'],
    [`token='${CRED}'`, "token='[redacted]'"],
    [`api_key='${CRED} x'`, "api_key='[redacted]'"],
    // Prefixed names (environment dumps, CLI flags).
    [`ANTHROPIC_API_KEY=${CRED}`, 'ANTHROPIC_API_KEY=[redacted]'],
    [`DB_PASSWORD=${CRED}`, 'DB_PASSWORD=[redacted]'],
    [`GITHUB_TOKEN=${CRED}`, 'GITHUB_TOKEN=[redacted]'],
    [`AWS_SECRET_ACCESS_KEY=${CRED}`, 'AWS_SECRET_ACCESS_KEY=[redacted]'],
    [`mysql --user=root --password=${CRED} db`, 'mysql --user=root --password=[redacted] db'],
    // Serialised headers and credentials (JSON text), escaped quotes included.
    [JSON.stringify({ 'x-api-key': CRED }), '{"x-api-key":"[redacted]"}'],
    [JSON.stringify({ 'api-key': CRED }), '{"api-key":"[redacted]"}'],
    [JSON.stringify({ credentials: CRED }), '{"credentials":"[redacted]"}'],
    [JSON.stringify({ DB_PASSWORD: `${CRED}"x` }), '{"DB_PASSWORD":"[redacted]"}'],
  ])('censors the credential in %j', (text, expected) => {
    expect(redact(text)).toBe(expected)
  })

  it('censors serialised headers in a string as it censors the same headers as an object', () => {
    for (const headers of [{ 'x-api-key': CRED }, { 'api-key': CRED }, { Authorization: CRED }]) {
      expect(json(redact(headers))).not.toContain(CRED)
      expect(redact(json(headers))).not.toContain(CRED)
    }
  })

  it('keepPrefix: false censors the whole match', () => {
    const r = createRedactor({ keepPrefix: false })
    expect(r(`k ${ANTHROPIC}`)).toBe('k [redacted]')
  })

  it('applies extra patterns and a custom censor', () => {
    const r = createRedactor({ patterns: [/ACME-\d{6}/], censor: '***' })
    expect(r('order ACME-123456 and ACME-654321')).toBe('order *** and ***')
    expect(r(`k ${ANTHROPIC}`)).toBe('k sk-ant-***')
  })

  it('patterns: false skips value scanning', () => {
    expect(createRedactor({ patterns: false })(ANTHROPIC)).toBe(ANTHROPIC)
  })
})

describe('redact: shapes', () => {
  it('never mutates the input and returns clean values by reference', () => {
    const input = { a: { b: [1, 2, { c: 'x' }] }, headers: { authorization: 'Bearer z9z9z9z9' } }
    const before = json(input)
    const out = redact(input) as typeof input
    expect(json(input)).toBe(before)
    expect(out).not.toBe(input)
    expect(out.a).toBe(input.a)
    const clean = { a: { b: [1, 2, 'plain words'] } }
    expect(redact(clean)).toBe(clean)
  })

  it('handles cycles without throwing', () => {
    const a: Record<string, unknown> = { name: 'a', password: 'p' }
    a.self = a
    a.list = [a]
    const out = redact(a) as Record<string, unknown>
    expect(out.self).toBe('[circular]')
    expect(out.password).toBe('[redacted]')
    expect((out.list as unknown[])[0]).toBe('[circular]')
  })

  it('redacts Error message, stack and enumerable fields, keeping the class', () => {
    class UpstreamError extends Error {
      apiKey = 'raw'
    }
    const err = new UpstreamError(`401 for key ${ANTHROPIC}`)
    const out = redact({ err }) as { err: UpstreamError }
    expect(out.err).toBeInstanceOf(UpstreamError)
    expect(out.err.message).toBe('401 for key sk-ant-[redacted]')
    expect(out.err.stack).not.toContain(ANTHROPIC)
    expect(out.err.apiKey).toBe('[redacted]')
    expect(err.message).toContain(ANTHROPIC)
  })

  it('redacts inside Map and Set', () => {
    const map = new Map<string, unknown>([
      ['Authorization', 'Bearer q1w2e3r4'],
      ['note', `key ${AWS_ID}`],
    ])
    const out = redact({ map, set: new Set([`jwt ${JWT}`]) }) as {
      map: Map<string, unknown>
      set: Set<string>
    }
    expect(out.map.get('Authorization')).toBe('[redacted]')
    expect(out.map.get('note')).toBe('key AKIA[redacted]')
    expect([...out.set][0]).toBe('jwt eyJ[redacted]')
    expect(map.get('Authorization')).toBe('Bearer q1w2e3r4')
  })

  it('caps depth instead of recursing without end', () => {
    let deep: unknown = `secret ${ANTHROPIC}`
    for (let i = 0; i < 10_000; i++) deep = { d: deep }
    const out = json(redact(deep))
    expect(out).toContain('[max depth]')
    expect(out).not.toContain(ANTHROPIC)
  })

  it('keeps non-plain values (Date, bytes, numbers, null) as they are', () => {
    const d = new Date(0)
    const bytes = new Uint8Array([1, 2])
    const out = redact({ d, bytes, n: 1, z: null, u: undefined }) as Record<string, unknown>
    expect(out.d).toBe(d)
    expect(out.bytes).toBe(bytes)
    expect(redact(42)).toBe(42)
    expect(redact(null)).toBe(null)
  })

  it('a throwing getter yields the censor, not an exception', () => {
    const evil = {
      get boom(): string {
        throw new Error(ANTHROPIC)
      },
    }
    expect(redact(evil)).toBe('[redacted]')
  })

  it('truncates very long strings before scanning', () => {
    const r = createRedactor({ maxStringLength: 16 })
    expect(r('x'.repeat(40))).toBe(`${'x'.repeat(16)}…[truncated]`)
  })
})

describe('createRedactor options validation', () => {
  it.each([
    [{ censor: 1 }, 'censor'],
    [{ maxDepth: 0 }, 'maxDepth'],
    [{ maxStringLength: 1.5 }, 'maxStringLength'],
    [{ keepPrefix: 'yes' }, 'keepPrefix'],
    [{ paths: 'a.b' }, 'paths'],
    [{ keys: [''] }, 'keys[0]'],
    [{ patterns: ['x'] }, 'patterns[0]'],
  ])('%o → InvalidOptionsError(%s)', (options, field) => {
    let error: unknown
    try {
      createRedactor(options as never)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe(field)
  })
})

describe('redact: attack table row 31 (one key in a header, a body and an error)', () => {
  it('leaves the raw key in none of the three places', () => {
    const line = {
      req: { headers: { Authorization: `Bearer ${ANTHROPIC}`, 'x-api-key': ANTHROPIC } },
      body: { messages: [{ role: 'user', content: `why does ${ANTHROPIC} fail?` }] },
      err: new Error(`upstream 401 for ${ANTHROPIC}`),
    }
    const out = redact(line) as typeof line
    const serialized = JSON.stringify(out) + String(out.err.message) + String(out.err.stack)
    expect(serialized).not.toContain(ANTHROPIC)
    expect(serialized).not.toContain(ANTHROPIC.slice(7, 30))
    expect(out.req.headers.Authorization).toBe('[redacted]')
    expect(out.body.messages[0]?.content).toBe('why does sk-ant-[redacted] fail?')
    expect(out.err.message).toBe('upstream 401 for sk-ant-[redacted]')
  })
})
