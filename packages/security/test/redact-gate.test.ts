import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createRedactor } from '../src/redact.js'
import { GATED_PATTERN_IDS, mayHoldSecret } from '../src/redact-gate.js'
import {
  compileScanner,
  customPatterns,
  DEFAULT_SCANNER,
  findSecrets,
  redactSecrets,
  SECRET_PATTERNS,
  type SecretScanner,
} from '../src/redact-patterns.js'

// Fakes built at runtime so no secret scanner flags this file.
const run = (s: string, n: number): string => s.repeat(Math.ceil(n / s.length)).slice(0, n)
const ALNUM = 'a1B2c3D4e5F6g7H8i9J0'

/** The built-in scanner without its gate: the reference the gate must never change. */
const UNGATED: SecretScanner = { ...DEFAULT_SCANNER, gate: undefined }

/** Strings each pattern matches, in several spellings (case, spaces, Unicode spaces, quotes). */
const SHAPES: Record<string, string[]> = {
  'private-key': [
    `-----BEGIN RSA PRIVATE KEY-----\n${run(ALNUM, 40)}\n-----END RSA PRIVATE KEY-----`,
    `x-----BEGINPRIVATE KEY-----${run(ALNUM, 3)}-----END PRIVATE KEY-----`,
  ],
  'llm-provider-key': [`sk-ant-api03-${run(ALNUM, 40)}`, `(sk-${run(ALNUM, 20)})`],
  'stripe-key': [`sk_live_${run(ALNUM, 24)}`, `rk_test_${run(ALNUM, 12)}`],
  'aws-access-key-id': [
    'AKIAQWERTYUIOP234567',
    'ASIAQWERTYUIOP234567',
    'ABIAQWERTYUIOP234567',
    'ACCAQWERTYUIOP234567',
    'A3TXQWERTYUIOP234567',
  ],
  'aws-bedrock-key': [`ABSK${run('+/', 120)}`],
  'github-token': [
    `ghp_${run(ALNUM, 30)}`,
    `ghs_${run(ALNUM, 30)}`,
    `github_pat_${run(ALNUM, 30)}`,
  ],
  'huggingface-token': [`hf_${run(ALNUM, 34)}`],
  'google-api-key': [`AIza${run(ALNUM, 35)}`],
  'slack-token': [`xoxb-${run(ALNUM, 20)}`, `xoxp-${run(ALNUM, 12)}`],
  'perplexity-key': [`pplx-${run(ALNUM, 48)}`],
  jwt: [`eyJ${run(ALNUM, 12)}.${run(ALNUM, 12)}`],
  'url-userinfo': [
    'redis://:pw@10.0.0.5:6379',
    'rediss://app:p@ss@cache:6380',
    'x+y.z://u:p:q@h',
    'http://us\u00e9r:p\u00e4ss@proxy',
  ],
  'auth-header': [
    'Authorization: Basic dXNlcjpwYXNz',
    'PROXY-AUTHORIZATION\t\t=xyz',
    'x-api-key=plainsecretvalue',
    'Api_Key    :value',
    'apikey\u00a0:value',
    'Authorization: ApiKey opaque-credential',
    'authorization="Negotiate a b c"',
    "x-api-key: 'quoted value'",
    'Authorization: Digest username="a", response="b"',
    '{"authorization":"Digest username=\\"a\\", response=\\"b\\""}',
    '{ authorization: \'Digest username="a", response="b"\' }',
    'x-goog-api-key: value',
    'Helicone-Auth: Bearer value',
    'X-Vault-Token:value',
    "{ 'x-functions-key': [ 'a', 'b' ] }",
    '{"ocp-apim-subscription-key":["a","b"]}',
    'x-hub-signature=sha256=abc',
  ],
  'bearer-token': [
    'sent Bearer abc123def456 upstream',
    'BEARER\tabc123def456',
    'bearer\u2028abc123def456',
    'bearer\ufeffabc123def456',
  ],
  cookie: [
    'Cookie: sid=s3cr3t',
    'SET-COOKIE=abc',
    'cookie \u3000: x',
    '{"set-cookie":["sid=a; Path=/","b=c"]}',
  ],
  'credential-param': [
    '/login?user=ann&password=hunter2',
    '?PassWd=x',
    ' pwd=xyz1',
    ';pass=xyz1',
    '&passphrase=x',
    ',client_secret=x',
    '"access_token=x',
    "'id_token=x",
    '?auth_token=x',
    '&session=x&sessionid=y&session_id=z',
    '?key=x&sig=y&signature=z',
    '?X-Amz-Signature=a&x-amz-credential=b&X-AMZ-SECURITY-TOKEN=c',
    'user=ann password="two words"',
    "token='x'",
    'credentials=x',
    'password = x',
    'PASSWORD: x',
    "{ token: 'x' }",
    'Credentials: x',
    "{'client_secret': 'x'}",
    '#access_token=x',
    '?X-Goog-Signature=x&X-Goog-Credential=y',
    '?accessToken=x&refreshToken=y',
    '/proxy/https%3A%2F%2Fapi.example%2Fv1%3Ftoken%3Dx',
    '%26password%3dx',
    '%253Fkey%253Dx',
    '%3Bsig%3Dx',
    '%3Fpassword %3D x',
  ],
  'credential-json': [
    '{"password":"hunter2"}',
    '{"apiKey" \t : "x"}',
    '{"COOKIE":"x","Authorization":"y","refresh_token":"z"}',
    '{"x-api-key":"x","api-key":"y","Proxy-Authorization":"z"}',
    '{"credentials":"x","private_key":"y"}',
    '{"password":"a\\"b"}',
    '{\\"authorization\\":\\"Digest a=\\\\\\"b\\\\\\"\\"}',
    '{\\"helicone-auth\\":\\"x\\"}',
    '{\\"x-vault-token\\":[\\"a\\",\\"b\\"]}',
  ],
  'credential-prefixed': [
    'DB_PASSWORD=x',
    'ANTHROPIC_API_KEY="x y"',
    'AWS_SECRET_ACCESS_KEY=x',
    ' --password=x',
    "?MY_TOKEN='x'",
    '{"DB_PASSWORD":"z"}',
    '{"GITHUB_TOKEN" : "a\\"b"}',
    'smtp_PASSWORD=x',
    'DB_PASSWORD: x',
    "{ GITHUB_TOKEN: 'x' }",
    '{\\"GITHUB_TOKEN\\":\\"x\\"}',
    '{"dbPassword":"x"}',
    "openaiApiKey: 'x'",
  ],
}

describe('mayHoldSecret: the gate in front of the built-in patterns', () => {
  it('is written for exactly the built-in patterns, and only the built-in scanner uses it', () => {
    expect(SECRET_PATTERNS.map((p) => p.id)).toEqual(GATED_PATTERN_IDS)
    expect(DEFAULT_SCANNER.gate).toBe(mayHoldSecret)
    const custom = compileScanner([...SECRET_PATTERNS, ...customPatterns([/internal-\d+/])])
    expect(custom.gate).toBeUndefined()
  })

  it.each(GATED_PATTERN_IDS)('lets every shape of %s through to its regex', (id) => {
    const pattern = SECRET_PATTERNS.find((p) => p.id === id)!
    const shapes = SHAPES[id]!
    expect(shapes.length).toBeGreaterThan(0)
    for (const text of shapes) {
      pattern.regex.lastIndex = 0
      expect(pattern.regex.test(text), `${id} must match ${JSON.stringify(text)}`).toBe(true)
      expect(mayHoldSecret(text), JSON.stringify(text)).toBe(true)
      expect(redactSecrets(text, DEFAULT_SCANNER, '[x]', true)).not.toBe(text)
    }
    pattern.regex.lastIndex = 0
  })

  it('rejects ordinary log strings without running any regex', () => {
    for (const text of [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/150.0 Safari/537.36',
      '/api/chat?stream=true&model=claude-sonnet',
      'en-GB,en;q=0.9',
      'application/json',
      'why does my request to the messages API fail with a 401?',
      'request completed in 812 ms',
      'user_agent=curl/8.0 x-request-id: 7f9c-42',
    ]) {
      expect(mayHoldSecret(text), text).toBe(false)
    }
  })

  it('never changes what redaction or leak detection finds (adversarial strings)', () => {
    const fragment = fc.oneof(
      fc.constantFrom(
        'sk-',
        'sk-ant-',
        'sk_live_',
        'rk_test_',
        'AKIA',
        'ASIA',
        'A3T',
        'ABSK',
        'AIza',
        'ghp_',
        'github_pat_',
        'hf_',
        'xoxb-',
        'pplx-',
        'eyJ',
        '-----BEGIN',
        ' PRIVATE KEY-----',
        '-----END',
        'Bearer',
        'bEaReR',
        'BEARER',
        'Authorization',
        'proxy-authorization',
        'x-api-key',
        'API_KEY',
        'apikey',
        'Set-Cookie',
        'cookie',
        'password',
        'PassWd',
        'pwd',
        'secret',
        'client_secret',
        'token',
        'session_id',
        'sig',
        'signature',
        'X-Amz-Credential',
        'credentials',
        'DB_',
        'ANTHROPIC_',
        '--',
        'api-key',
        'ApiKey ',
        'Negotiate ',
        'Digest ',
        '="',
        '://',
        'redis://',
        '@',
        '/',
        '#',
        'X-Goog-Signature',
        'helicone-auth',
        'X-Vault-Token',
        'x-functions-key',
        'idempotency-key',
        '-auth',
        '-key',
        '[',
        '["',
        "[ '",
        'accessToken',
        'GITHUB_TOKEN',
        'dbPassword',
        'ApiKey',
        ' = ',
        ': ',
        '\\\\',
        '\\"',
        "'",
        '\\',
        '"',
        ':',
        '=',
        ' ',
        '\t',
        '\n',
        '\u00a0',
        '\u2028',
        '\u3000',
        '\ufeff',
        '.',
        '&',
        '?',
        ';',
        '%3F',
        '%26',
        '%3D',
        '%253d',
        '%25',
        '%',
        ',',
        '-',
        '_',
        '+/',
        'é',
        'ſ',
        '\u212a'
      ),
      fc.string({ minLength: 1, maxLength: 40, unit: fc.constantFrom(...ALNUM, 'Q', 'Z', '7') })
    )
    const text = fc.array(fragment, { maxLength: 24 }).map((parts) => parts.join(''))
    fc.assert(
      fc.property(text, (s) => {
        const matched = SECRET_PATTERNS.some((p) => {
          p.regex.lastIndex = 0
          const hit = p.regex.test(s)
          p.regex.lastIndex = 0
          return hit
        })
        if (matched) expect(mayHoldSecret(s)).toBe(true)
        expect(redactSecrets(s, DEFAULT_SCANNER, '[x]', true)).toBe(
          redactSecrets(s, UNGATED, '[x]', true)
        )
        expect(findSecrets(s, DEFAULT_SCANNER)).toEqual(findSecrets(s, UNGATED))
      }),
      { numRuns: 3000 }
    )
  })
})

describe('redact: cached key names', () => {
  it('censors a sensitive key and scans a secret key on every call, not only the first', () => {
    const r = createRedactor()
    const key = `sk-ant-api03-${run(ALNUM, 40)}`
    for (let i = 0; i < 3; i++) {
      const out = r({ [key]: 1, Password: 'p', userAgent: 'curl' }) as Record<string, unknown>
      expect(JSON.stringify(out)).not.toContain(key)
      expect(out.Password).toBe('[redacted]')
      expect(out.userAgent).toBe('curl')
    }
  })

  it('keeps the key cache per redactor (its own key list and string length limit)', () => {
    const a = createRedactor({ keys: ['sessionName'] })
    const b = createRedactor({ maxStringLength: 8 })
    expect(a({ sessionName: 'x', longerKeyName: 'y' })).toEqual({
      sessionName: '[redacted]',
      longerKeyName: 'y',
    })
    expect(b({ sessionName: 'x' })).toEqual({ 'sessionN…[truncated]': 'x' })
    expect(createRedactor()({ sessionName: 'x' })).toEqual({ sessionName: 'x' })
  })
})
