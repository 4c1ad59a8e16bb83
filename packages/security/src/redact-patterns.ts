/**
 * @module redact-patterns
 * Secret shapes found inside free text (log messages, prompts, URLs, error stacks), each behind a
 * cheap keyword pre-filter (`indexOf`) so the regex only runs on strings that can match — the
 * gitleaks approach. Prefixes are looser than gitleaks' (we want recall, not precision).
 *
 * Every scan is linear in the text's length (a log line or a prompt is attacker-controlled):
 * quantifiers are unnested; a credential value runs to its end however long (a 10 KiB `Cookie:`
 * line is censored whole, not its first 4 KiB) and requires nothing after it, so a value that has
 * started always matches; a pattern that can fail after a long scan is either written so that the
 * scanned stretches of two start positions cannot overlap (a value that stops at the next
 * candidate's delimiter, a name that must follow a delimiter) or, where a regex cannot be (`jwt`,
 * `private-key`), matched by hand (redact-linear.ts).
 */
import { mayHoldSecret } from './redact-gate.js'
import { JwtMatcher, PrivateKeyMatcher, type SecretRegex } from './redact-linear.js'
import {
  CREDENTIAL_HEADER_NAME,
  ENV_ONLY_NAMES,
  LISTED_ONLY_HEADERS,
  STRONG_NAMES,
  SUFFIX_HEADER_NAME,
} from './redact-names.js'
import { SpanIndex } from './span-index.js'

export type { SecretRegex } from './redact-linear.js'

/** One secret shape. */
export interface SecretPattern {
  /** Stable rule id, e.g. `anthropic-key` (used in prompt-guard findings). */
  readonly id: string
  /** Substrings (case-insensitive) of which one must occur before the regex runs. Empty: always. */
  readonly keywords: readonly string[]
  /**
   * Global regex (or a linear-time matcher behaving like one). Its capture groups, when
   * `keepGroups`, are non-secret parts kept (`Bearer `); they must be contiguous from the start
   * of the match.
   */
  readonly regex: SecretRegex
  /** Whether the capture groups are kept in the output. @default true */
  readonly keepGroups?: boolean
}

/**
 * Fragments of the credential names below (`password=`, `"token":`, `X-Amz-Signature=`, …).
 * Keywords compare case-insensitively and are chosen to start with few distinct letters (p, s,
 * k, a, h, o, e): the pre-filter's cost grows with the number of distinct first characters.
 */
const CREDENTIAL_NAME_KEYWORDS = [
  'pass',
  'pwd',
  'ecret',
  'oken',
  'ession',
  'key=',
  'key"',
  'key%', // `key%3D…`: a query percent-encoded inside a path or a parameter
  // `private_key: …` (YAML, util.inspect) and `\"api_key\"` (JSON inside a JSON string), where
  // no `key=` / `key"` follows the name.
  'ate_key',
  'atekey',
  'ate-key',
  'ess_key',
  'esskey',
  'ess-key',
  'api_key',
  'apikey',
  'api-key',
  'sig',
  'amz-',
  'orization',
  'ookie',
  'ential',
]

/** Authorization schemes kept before the censor (`Authorization: Bearer [redacted]`). */
const AUTH_SCHEMES =
  'Bearer|Basic|Digest|Token|Negotiate|NTLM|DPoP|ApiKey|SSWS|Bot|OAuth|AWS4-HMAC-SHA256'

/**
 * A value after its opening quote (kept in the prefix), to the closing quote: spaces and
 * backslash escapes (`\"` in JSON text, in shell) included.
 */
const QUOTED = String.raw`(?<=")(?:[^"\\\r\n]|\\.)+|(?<=')(?:[^'\\\r\n]|\\.)+`

/** A single-quoted / double-quoted string's content, to its closing quote (escapes, no line break). */
const SQ_CHARS = String.raw`(?:[^'\\\r\n]|\\.)*`
const DQ_CHARS = String.raw`(?:[^"\\\r\n]|\\.)*`
/**
 * An array of quoted strings as a credential's value (`"set-cookie":["sid=…"]` in JSON text,
 * `'x-vault-token': [ '…', '…' ]` in util.inspect output), not after an opening quote of the value
 * (`password="[x"` is a string): every item is censored, from inside the first item's opening
 * quote (kept with the `[`, in a capture group) to the last item's closing quote (kept), so JSON
 * text stays valid (`["[redacted]"]`). An item ends at its closing quote and the next one must
 * follow a `,`: the scan never goes back further than the spaces before a missing comma.
 */
const QUOTED_ARRAY = String.raw`(?<!["'])(?:(\[\s*')${SQ_CHARS}|(\[\s*")${DQ_CHARS})(?:["']\s*,\s*(?:'${SQ_CHARS}|"${DQ_CHARS}))*`

/**
 * An object as `util.inspect` writes a value (`credentials: { user: 'a', pass: '…' }`), two levels
 * deep at most: censored whole, braces included. (As a bare value it was censored to its first
 * space only, the rest of the object left readable.) Each character is either no brace or opens
 * the one nested level: no backtracking.
 */
const INSPECTED_OBJECT = String.raw`\{(?:[^{}]|\{[^{}]*\})*\}`

/**
 * A credential value after `=` / `:` and an optional opening quote (kept in the prefix): quoted,
 * it runs to the closing quote (spaces and escapes included); an array of quoted strings, to its
 * last item; bare, to the first character in `bareStop`.
 */
const quotedOr = (bareStop: string): string =>
  `(?:${QUOTED_ARRAY}|${QUOTED}|${INSPECTED_OBJECT}|[^${bareStop}]+)`

/**
 * An Authorization value without an opening quote of its own (a header line, or the part after
 * the scheme): to the end of the line, or to an unescaped quote closing the string around it (a
 * JSON message, an inspected object). A Digest / OAuth auth-param's quoted value (`response="…"`,
 * closed, whatever follows it but a word character, a `"` or a backslash: `)`, `.`, `;`, `]`
 * too) is part of it, so every parameter is censored, not only the first, while
 * `Basic abc=","status":401` still stops at the JSON quote (its `","` is followed by a letter). A
 * `="…"` that does not close so ends the value at its quote: each character is scanned at most
 * twice.
 */
const AUTH_LINE = String.raw`(?:="(?:[^"\\\r\n]|\\.)*"(?![\w"\\])|[^"'\\\r\n]|\\.)+`

/**
 * A qualified credential name: a strong name after the `_` / `-` / `.` it starts at (`db_password`,
 * `spring.datasource.password`) or as the last word
 * of a camelCase name (`dbPassword`, `openaiApiKey`: the match starts at its capital), or an
 * environment-style name after its `_` (see the pattern). Object keys follow the same rules
 * (redact-names.ts).
 */
const PREFIXED_NAME = `(?:[_.-](?:${STRONG_NAMES})|(?<=[a-z0-9])(?=[A-Z])(?:${STRONG_NAMES})|(?<=[A-Z0-9])_(?:${ENV_ONLY_NAMES}))`
/**
 * The keywords of the prefixed-name pattern: the strong names themselves (after a prefix or in
 * camelCase), and `_` then an environment-style name. A string holding `sk-ant-api03-` or
 * `next_page_token` never runs it.
 */
const PREFIXED_NAME_KEYWORDS = [
  'pass',
  'pwd',
  'secret',
  'api_key',
  'api-key',
  'apikey',
  'access_key',
  'access-key',
  'accesskey',
  'private_key',
  'private-key',
  'privatekey',
  '_token',
  '_signature',
  '_credential',
]
/**
 * A JSON string's content up to its closing quote (escapes included), or to the end of the text
 * (a value cut short is censored too).
 */
const JSON_VALUE = String.raw`(?:[^"\\]|\\.)+`
/**
 * The same inside a JSON document that is itself a JSON string (a logged upstream body): its
 * quotes are `\"`, so the value runs to the next `\"`. Its own escaped backslashes and quotes are
 * `\\\\` and `\\\"` (a Digest header's `username=\\\"alice\\\"`), its other escapes `\\n` or `\n`.
 */
const ESCAPED_JSON_VALUE = String.raw`(?:\\\\\\\\|\\\\\\"|\\\\[^"\\]|\\[^"\\]|[^"\\])+`
/**
 * A JSON array of strings as a member's value, after its `["` (kept): every item, to the last
 * one's closing quote (kept), so the text stays valid JSON (`"set-cookie":["[redacted]"]`).
 */
const JSON_ARRAY_ITEMS = String.raw`(?:[^"\\]|\\.)*(?:"\s*,\s*"(?:[^"\\]|\\.)*)*`
/** The same inside a JSON document held in a JSON string (`\"set-cookie\":[\"…\"]`). */
const ESCAPED_JSON_ARRAY = String.raw`(\[\s*\\")(?:${ESCAPED_JSON_VALUE})?(?:\\"\s*,\s*\\"(?:${ESCAPED_JSON_VALUE})?)*`
/**
 * The member names `redact()` censors by key in objects, as they appear in JSON text: the
 * credential headers by the rule of `isCredentialHeader` (`SENSITIVE_HEADERS`, and any name
 * ending in `-auth`, `-token`, `-key`, … but its exceptions), and the other default key names.
 */
const JSON_CREDENTIAL_NAMES = `password|passwd|passphrase|secret|client[-_]?secret|token|(?:access|refresh|id|auth|session)[-_]?token|(?:secret|access|private|api)[-_]?key|credentials|${CREDENTIAL_HEADER_NAME}`
/**
 * Parameter names whose value is a credential after `=` or `:`, spaces and quotes around allowed
 * (`password = …`, `PASSWORD: …`, an inspected object's `token: '…'`, Python's `'secret': '…'`).
 * `credentials: …` too (a header line, an inspected object), but not a fetch option's
 * `credentials: 'include'` (nor `'omit'`, `'same-origin'`).
 */
const STRONG_PARAM_NAMES = `password|passwd|pwd|passphrase|secret|client[-_]?secret|(?:access|refresh|id|auth|session)[-_]?token|token|x-auth-token|x-csrf-token|x-amz-security-token|(?:secret|access|private|api)[-_]?key|credentials(?!["']?\\s{0,4}:\\s{0,4}["']?(?:include|omit|same-origin)(?![\\w-]))`
/**
 * Parameter names whose value is a credential after `=` only (query strings, logfmt): `key: …`,
 * `session: …` or `signature: …` are ordinary text.
 */
const WEAK_PARAM_NAMES =
  'pass|session|sessionid|session_id|api[-_]?key|apikey|key|sig|signature|credentials?|x-(?:amz|goog)-(?:signature|credential)'

/**
 * A query separator percent-encoded once or twice (`%3F` `?`, `%26` `&`, `%3B` `;`, and `%253F`…):
 * a URL carried in a path or a parameter (`/proxy/https%3A%2F%2Fapi%3Ftoken%3D…`) holds its query
 * encoded, and a request log prints the path as the client sent it.
 */
const ENCODED_SEPARATOR = '%(?:25)?(?:3[FfBb]|26)'
/** `=` percent-encoded once or twice (`%3D`, `%253D`). */
const ENCODED_EQUALS = '%(?:25)?3[Dd]'

const escapeName = (w: string): string => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** The `SENSITIVE_HEADERS` the cookie pattern censors (`cookie`, `set-cookie`). */
const COOKIE_HEADERS = LISTED_ONLY_HEADERS.filter((h) => h.endsWith('cookie'))
/**
 * The credential header names of the auth-header pattern, by the rule of `isCredentialHeader`:
 * the listed ones the suffix rule misses (`authorization`, `proxy-authorization`) after a word
 * boundary, and every name ending in `-auth`, `-token`, `-key`, `-secret`, `-password` or
 * `-signature` (`X-Vault-Token`, `helicone-auth`, `x-goog-api-key`; not `idempotency-key`), which
 * starts where its run of `[\w-]` starts.
 */
const AUTH_HEADER_NAME = `\\b(?:${LISTED_ONLY_HEADERS.filter((h) => !COOKIE_HEADERS.includes(h))
  .map(escapeName)
  .join('|')})|(?<![\\w-])${SUFFIX_HEADER_NAME}`

/**
 * The built-in shapes, most specific first (an Anthropic key is replaced before the looser OpenAI
 * shape sees it). The first group of each regex is the part kept in the output, for debugging.
 */
export const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    id: 'private-key',
    keywords: ['private key'],
    regex: new PrivateKeyMatcher(),
  },
  {
    // Anthropic (`sk-ant-api03-…`, `sk-ant-admin01-…`) and OpenAI (`sk-proj-…`, `sk-svcacct-…`,
    // legacy `sk-…`) keys in one pass: a string holding one costs a single replace.
    id: 'llm-provider-key',
    keywords: ['sk-'],
    regex: /\b(sk-(?:ant-|proj-|svcacct-|admin-|None-)?)[A-Za-z0-9_-]{16,}/g,
  },
  {
    id: 'stripe-key',
    keywords: ['k_'],
    regex: /\b((?:sk|rk)_(?:test|live|prod)_)[A-Za-z0-9]{10,255}/g,
  },
  {
    id: 'aws-access-key-id',
    keywords: ['akia', 'asia', 'abia', 'acca', 'a3t'],
    regex: /\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA))[A-Z2-7]{16}\b/g,
  },
  {
    id: 'aws-bedrock-key',
    keywords: ['absk'],
    regex: /\b(ABSK)[A-Za-z0-9+/]{100,300}={0,2}/g,
  },
  {
    id: 'github-token',
    keywords: ['hp_', 'ho_', 'hu_', 'hs_', 'hr_', 'hub_pat_'],
    regex: /\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]{20,255}/g,
  },
  {
    id: 'huggingface-token',
    keywords: ['hf_'],
    regex: /\b(hf_)[A-Za-z0-9]{30,40}\b/g,
  },
  {
    id: 'google-api-key',
    keywords: ['aiza'],
    regex: /\b(AIza)[0-9A-Za-z_-]{35}/g,
  },
  {
    id: 'slack-token',
    keywords: ['oxa-', 'oxb-', 'oxp-', 'oxo-', 'oxs-', 'oxr-'],
    regex: /\b(xox[abposr]-)[A-Za-z0-9-]{10,255}/g,
  },
  {
    id: 'perplexity-key',
    keywords: ['pplx-'],
    regex: /\b(pplx-)[A-Za-z0-9]{40,64}/g,
  },
  {
    id: 'jwt',
    keywords: ['eyj'],
    regex: new JwtMatcher(),
  },
  {
    // The password of a URL's userinfo (`redis://:pw@host`, `postgres://app:pw@db/main`,
    // `http://user:pw@proxy:3128`), to the authority's last `@`; the scheme and user are kept.
    // The user may hold an `@` (`smtps://alice@example.com:pw@smtp.example.com`: WHATWG URL ends
    // the userinfo at the last `@`); the password is greedy, so it runs to that last `@`.
    // The match starts at `://`, and the authority it scans stops at the next `/`, so two
    // candidates never scan the same characters.
    id: 'url-userinfo',
    keywords: ['://'],
    regex: /(?<=[A-Za-z0-9+.-])(:\/\/[^/?#\s"'<>:]*:)[^/?#\s"'<>]+(?=@)/g,
  },
  {
    // Credential headers (`Authorization`, `Proxy-Authorization`, and every name `isCredentialHeader`
    // counts by its suffix: `X-Vault-Token`, `helicone-auth`, `x-goog-api-key`): everything after
    // the `:` (a known scheme kept) to the end of the line or the closing quote, every Digest
    // parameter included; an array of quoted strings (JSON text, util.inspect) whole.
    // `authorization=` (logfmt, a query): its value only, as any parameter. `api_key` / `apikey`:
    // their token. The name may be quoted, as in an inspected header object (`'x-api-key': '…'`).
    id: 'auth-header',
    // The listed names, then the last words of the suffix rule (`-key` only before a separator or
    // a quote: `key` alone is in too many log lines).
    keywords: [
      ...LISTED_ONLY_HEADERS.filter((h) => !COOKIE_HEADERS.includes(h)),
      'pi-key',
      'pi_key',
      'pikey',
      'auth',
      'oken',
      'key:',
      'key=',
      'key"',
      "key'",
      'ecret',
      'pass',
      'sig',
    ],
    regex: new RegExp(
      `(?:(${AUTH_HEADER_NAME})((?:["']?\\s{0,4}:\\s{0,4}["']?|\\s{0,4}=\\s{0,4}["'])(?:(?:${AUTH_SCHEMES})\\s{1,16})?)(?:${QUOTED_ARRAY}|${QUOTED}|${AUTH_LINE})|(${AUTH_HEADER_NAME})(\\s{0,4}=\\s{0,4}(?:(?:${AUTH_SCHEMES})\\s{1,16})?)[^&\\s"'#;,]+|\\b(x-api-key|api[-_]?key)(["']?\\s{0,4}[:=]\\s{0,4}["']?)${quotedOr('\\s,;"\'&')})`,
      'gi'
    ),
  },
  {
    // A bare bearer token in text. The look-ahead demands a digit, so prose ("the bearer of bad
    // news") is left alone while every real token (JWT, opaque, hex) is caught. Its scan stops at
    // the first space, so two candidates never scan the same characters.
    id: 'bearer-token',
    keywords: ['earer'],
    regex: /\b([Bb]earer\s{1,16}|BEARER\s{1,16})(?=[A-Za-z._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{6,}/g,
  },
  {
    id: 'cookie',
    keywords: ['ookie'],
    // The name may be quoted, as in an inspected header object (`'set-cookie': [ 'sid=…' ]`); an
    // array of quoted strings (that, or JSON text: `"set-cookie":["sid=…"]`) is censored whole. A
    // quoted value to its closing quote (an inspected `cookie: 'sid=…' }` was censored to the end
    // of the line, the rest of the object with it).
    regex: new RegExp(
      `\\b((?:${COOKIE_HEADERS.map(escapeName).join('|')})["']?\\s{0,4}[:=]\\s{0,4}["']?)(?:${QUOTED_ARRAY}|${QUOTED}|[^\\r\\n"]+)`,
      'gi'
    ),
  },
  {
    // `name=value` (query strings, fragments, logfmt, env files, shell), the value bare or quoted;
    // for the strong names also `name: value` and spaces around the separator (YAML, INI, an
    // inspected object's `password: '…'`).
    id: 'credential-param',
    keywords: CREDENTIAL_NAME_KEYWORDS,
    regex: new RegExp(
      `((?:^|[?&;,\\s"'#{(]|${ENCODED_SEPARATOR})(?:(?:${STRONG_PARAM_NAMES})["']?\\s{0,4}(?:[:=]|${ENCODED_EQUALS})\\s{0,4}|(?:${WEAK_PARAM_NAMES})(?:=|${ENCODED_EQUALS}))["']?)${quotedOr('&\\s"\'#;,')}`,
      'gi'
    ),
  },
  {
    // `"name": "value"` in JSON text (a serialised body or header set inside a log message): the
    // names redact() censors by key in objects. The value may hold escaped quotes.
    id: 'credential-json',
    // A header name in a JSON document held in a JSON string: `helicone-auth\"`, `-key\"`.
    keywords: [...CREDENTIAL_NAME_KEYWORDS, 'auth', 'key\\'],
    regex: new RegExp(
      `("(?:${JSON_CREDENTIAL_NAMES})"\\s{0,4}:\\s{0,4})(?:(")${JSON_VALUE}|(\\[\\s*")${JSON_ARRAY_ITEMS})|(\\\\"(?:${JSON_CREDENTIAL_NAMES})\\\\"\\s{0,4}:\\s{0,4})(?:(\\\\")${ESCAPED_JSON_VALUE}|${ESCAPED_JSON_ARRAY})`,
      'gi'
    ),
  },
  {
    // The strong credential names after a `_` / `-` prefix or in camelCase (`DB_PASSWORD=…`,
    // `ANTHROPIC_API_KEY="…"`, `--password=…`, `dbPassword: '…'`, `GITHUB_TOKEN: …`,
    // `"GITHUB_TOKEN": "…"`, and in a JSON document inside a JSON string), as a parameter or as a
    // JSON member. The match starts at the `_` / `-` or capital before the name (kept), so the
    // engine only tries positions holding one.
    id: 'credential-prefixed',
    keywords: PREFIXED_NAME_KEYWORDS,
    regex: new RegExp(
      `(${PREFIXED_NAME}["']?\\s{0,4}[:=]\\s{0,4}["']?)${quotedOr('&\\s"\'#;,')}|(${PREFIXED_NAME}\\\\"\\s{0,4}:\\s{0,4})(?:(\\\\")${ESCAPED_JSON_VALUE}|${ESCAPED_JSON_ARRAY})`,
      // Case-sensitive: the environment-style names must be upper case (see ENV_ONLY_NAMES).
      'g'
    ),
  },
]

/** Shortest string scanned: nothing shorter holds a secret worth a regex. */
export const MIN_SCAN_LENGTH = 8

/** A secret found by `findSecrets`. */
export interface SecretMatch {
  /** The pattern's id, e.g. `openai-key`. */
  ruleId: string
  /** Offset of the secret (after any kept prefix) in the scanned text. */
  index: number
  /** Length of the secret part. */
  length: number
}

/**
 * A compiled set of patterns. The pre-filter is one alternation of every pattern's literal
 * keywords: on a typical log line it is about 10x faster than an `indexOf` per keyword (measured
 * for bench/security/redact.mjs), and most strings stop there. When it hits, the keywords found
 * select which pattern regexes run.
 */
export interface SecretScanner {
  readonly patterns: readonly SecretPattern[]
  /**
   * Global alternation of the keywords holding a letter, longest first; undefined when a pattern
   * has no keyword (every pattern runs) or when there are only `literals`.
   */
  readonly prefilter: RegExp | undefined
  /**
   * Keywords without a letter (`://`), each with the bit mask it selects: looked up with
   * `indexOf` rather than in the alternation, where one punctuation first character doubled the
   * pre-filter's cost (measured on bench/security/redact.mjs's log line).
   */
  readonly literals: readonly (readonly [string, number])[]
  /** keyword → bit mask of the patterns it (or a keyword inside it) selects. */
  readonly masks: ReadonlyMap<string, number>
  /**
   * A cheaper test run before the pre-filter, false only when no pattern can match (the built-in
   * patterns' `mayHoldSecret`); undefined for other pattern sets.
   */
  readonly gate: ((text: string) => boolean) | undefined
}

const escapeRegExp = (w: string): string => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Compiles patterns (at most 31 with keywords) into a scanner. */
export function compileScanner(patterns: readonly SecretPattern[]): SecretScanner {
  const own = new Map<string, number>()
  let keyed = true
  patterns.forEach((p, i) => {
    if (p.keywords.length === 0 || i > 30) keyed = false
    for (const k of p.keywords) own.set(k, (own.get(k) ?? 0) | (1 << i))
  })
  // The gate is written for exactly the built-in patterns (test/redact-gate.test.ts checks the ids).
  const gate = patterns === SECRET_PATTERNS ? mayHoldSecret : undefined
  if (!keyed || own.size === 0) {
    return { patterns, prefilter: undefined, literals: [], masks: new Map(), gate }
  }
  const literals: [string, number][] = []
  // Keywords compare case-insensitively: one alternative per spelling, and `PaSsWoRd=` is caught.
  const lowered = new Map<string, number>()
  for (const [k, m] of own) {
    if (!/[a-z]/i.test(k)) literals.push([k, m])
    else lowered.set(k.toLowerCase(), (lowered.get(k.toLowerCase()) ?? 0) | m)
  }
  const words = [...lowered.keys()].sort((a, b) => b.length - a.length)
  // At one position the alternation reports only the longest keyword, so a keyword's mask also
  // selects the patterns of every keyword contained in it (`sk-ant-` also selects `sk-`).
  const masks = new Map<string, number>()
  for (const w of words) {
    let mask = 0
    for (const [k, m] of lowered) if (w.includes(k)) mask |= m
    masks.set(w, mask)
  }
  return {
    patterns,
    prefilter: words.length === 0 ? undefined : new RegExp(words.map(escapeRegExp).join('|'), 'gi'),
    literals,
    masks,
    gate,
  }
}

/** Bit mask of the patterns worth running on `text` (all bits when there is no pre-filter). */
function selectPatterns(text: string, scanner: SecretScanner): number {
  const pre = scanner.prefilter
  const literals = scanner.literals
  if (pre === undefined && literals.length === 0) return -1
  let mask = 0
  for (let i = 0; i < literals.length; i++) {
    const [k, m] = literals[i]!
    if (text.includes(k)) mask |= m
  }
  if (pre === undefined) return mask
  pre.lastIndex = 0
  for (let m = pre.exec(text); m !== null; m = pre.exec(text)) {
    mask |= scanner.masks.get(m[0].toLowerCase()) ?? 0
    pre.lastIndex = m.index + 1 // overlapping: `sk-ant-` must not hide a later `key=`
  }
  return mask
}

/**
 * Replaces every secret in `text` with `censor`, keeping each pattern's non-secret prefix when
 * `keepPrefix` is true. Returns `text` itself (same reference) when nothing matched.
 */
export function redactSecrets(
  text: string,
  scanner: SecretScanner,
  censor: string,
  keepPrefix: boolean
): string {
  if (text.length < MIN_SCAN_LENGTH) return text
  if (scanner.gate !== undefined && !scanner.gate(text)) return text
  const mask = selectPatterns(text, scanner)
  if (mask === 0) return text
  const patterns = scanner.patterns
  let out = text
  for (let i = 0; i < patterns.length; i++) {
    if (i < 31 && (mask & (1 << i)) === 0) continue
    const p = patterns[i]!
    out = replaceAll(out, p.regex, censor, keepPrefix && p.keepGroups !== false)
  }
  return out
}

/**
 * `text.replace(regex, …)` done by hand with `exec`: measured 2-3x faster here than a replacement
 * string (which V8 re-parses on every call) or a callback. Capture groups are kept when `keep`.
 */
function replaceAll(text: string, regex: SecretRegex, censor: string, keep: boolean): string {
  regex.lastIndex = 0
  let m = regex.exec(text)
  if (m === null) return text
  let out = ''
  let last = 0
  do {
    let kept = ''
    if (keep) for (let g = 1; g < m.length; g++) kept += m[g] ?? ''
    out += text.slice(last, m.index) + kept + censor
    last = m.index + m[0].length
    if (m[0].length === 0) regex.lastIndex++ // a custom regex matching '' must still advance
    m = regex.exec(text)
  } while (m !== null)
  return out + text.slice(last)
}

/** Lists the secrets in `text`, without overlaps (used for leak detection in LLM output). */
export function findSecrets(text: string, scanner: SecretScanner): SecretMatch[] {
  const found: SecretMatch[] = []
  if (text.length < MIN_SCAN_LENGTH) return found
  if (scanner.gate !== undefined && !scanner.gate(text)) return found
  const mask = selectPatterns(text, scanner)
  if (mask === 0) return found
  // The secrets of the patterns run so far. A pattern's own matches never overlap one another
  // (each `exec` starts where the last match ended), so each is checked against these only.
  let earlier = new SpanIndex([])
  scanner.patterns.forEach((p, i) => {
    if (i < 31 && (mask & (1 << i)) === 0) return
    const regex = p.regex
    regex.lastIndex = 0
    const before = found.length
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
      if (m[0].length === 0) regex.lastIndex++ // a custom regex matching '' must still advance
      let prefix = 0
      if (p.keepGroups !== false) for (let g = 1; g < m.length; g++) prefix += m[g]?.length ?? 0
      const index = m.index + prefix
      const length = m[0].length - prefix
      // Patterns run most specific first; a looser one re-matching the same secret is dropped.
      if (earlier.overlaps(index, length)) continue
      found.push({ ruleId: p.id, index, length })
    }
    if (found.length > before) earlier = new SpanIndex(found)
  })
  return found
}

/** The scanner of the built-in patterns. */
export const DEFAULT_SCANNER: SecretScanner = compileScanner(SECRET_PATTERNS)

/** Turns user-supplied patterns into global secret patterns run on every scanned string. */
export function customPatterns(regexes: readonly RegExp[]): SecretPattern[] {
  return regexes.map((r, i) => ({
    id: `custom-${i}`,
    keywords: [],
    keepGroups: false,
    regex: r.global ? new RegExp(r.source, r.flags) : new RegExp(r.source, `${r.flags}g`),
  }))
}
