/**
 * @module redact-patterns
 * Secret shapes found inside free text (log messages, prompts, URLs, error stacks), each behind a
 * cheap keyword pre-filter (`indexOf`) so the regex only runs on strings that can match — the
 * gitleaks approach. Prefixes are looser than gitleaks' (we want recall, not precision).
 *
 * Every scan is linear in the text's length (a log line or a prompt is attacker-controlled):
 * quantifiers are bounded and unnested, and a pattern that can fail after a long scan is either
 * written so that the scanned stretches of two start positions cannot overlap (a value that
 * stops at the next candidate's delimiter, a name that must follow a delimiter) or, where a regex
 * cannot be (`jwt`, `private-key`), matched by hand (redact-linear.ts).
 */
import { mayHoldSecret } from './redact-gate.js'
import { JwtMatcher, PrivateKeyMatcher, type SecretRegex } from './redact-linear.js'

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

/** Matches longer than this are not considered (bounds the work per match). */
const MAX = '4096'

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
 * A credential value after `=` / `:` and an optional opening quote (kept in the prefix): quoted,
 * it runs to the closing quote (spaces included); bare, to the first character in `bareStop`.
 */
const quotedOr = (bareStop: string): string =>
  `(?:(?<=")[^"\\r\\n]{1,${MAX}}|(?<=')[^'\\r\\n]{1,${MAX}}|[^${bareStop}]{1,${MAX}})`

/** `word` matching in any letter case, inside a regex that is case-sensitive. */
const anyCase = (word: string): string => word.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`)

/**
 * Credential names that also count with a prefix ending in `_` or `-` (`DB_PASSWORD`,
 * `ANTHROPIC_API_KEY`, `--password`), in any case: names that mean a credential whatever
 * qualifies them. Not `key`, `sig` or `session` (`sort_key`, `user_session` are ordinary).
 */
const STRONG_NAMES = [
  anyCase('password'),
  anyCase('passwd'),
  anyCase('passphrase'),
  anyCase('pwd'),
  anyCase('secret'),
  `${anyCase('api')}[-_]?${anyCase('key')}`,
  `${anyCase('access')}[-_]?${anyCase('key')}`,
  `${anyCase('secret')}[-_]?${anyCase('key')}`,
  `${anyCase('private')}[-_]?${anyCase('key')}`,
].join('|')
/**
 * Names that are a credential only in an upper-case environment-variable name (`GITHUB_TOKEN`,
 * `SMTP_PASS`, `AWS_SIGNATURE`): in lower case they are ordinary settings (`pad_token`,
 * `eos_token`, `next_page_token`, `first_pass`, `method_signature`, `allow_credentials`).
 */
const ENV_ONLY_NAMES = 'TOKEN|PASS|SIGNATURE|CREDENTIALS?'
/** A prefixed credential name, with the `_` / `-` it starts at (see the pattern). */
const PREFIXED_NAME = `(?:[_-](?:${STRONG_NAMES})|(?<=[A-Z0-9])_(?:${ENV_ONLY_NAMES}))`
/**
 * `_` or `-` then the start of a strong name: the keywords of the prefixed-name pattern (two
 * distinct first characters), so that `password=` or a string holding `sk-ant-api03-` never runs
 * it.
 */
const PREFIXED_NAME_KEYWORDS = [
  'pass',
  'pwd',
  'secret',
  'token',
  'api_key',
  'api-key',
  'apikey',
  'access',
  'private',
  'signature',
  'credential',
].flatMap((name) => [`_${name}`, `-${name}`])
/** A JSON string's content up to its closing quote (escapes included). */
const JSON_VALUE = `(?:[^"\\\\]|\\\\.){1,${MAX}}(?=")`
/**
 * The same inside a JSON document that is itself a JSON string (a logged upstream body): its
 * quotes are `\"`, so the value runs to the next `\"`.
 */
const ESCAPED_JSON_VALUE = `(?:[^"\\\\]|\\\\[^"]){1,${MAX}}(?=\\\\")`
/** The member names `redact()` censors by key in objects, as they appear in JSON text. */
const JSON_CREDENTIAL_NAMES =
  'password|passwd|passphrase|secret|client_?secret|token|access_?token|refresh_?token|id_token|session_token|api[-_]?key|x-api-key|x-auth-token|x-csrf-token|x-amz-security-token|private_?key|credentials|(?:proxy-)?authorization|(?:set-)?cookie'

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
    regex: new RegExp(`\\b(sk-(?:ant-|proj-|svcacct-|admin-|None-)?)[A-Za-z0-9_-]{16,${MAX}}`, 'g'),
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
    // `Authorization:` / `Proxy-Authorization:` headers: everything after the `:` (a known scheme
    // kept) to the end of the line or the closing quote. `authorization=` (logfmt, a query): its
    // value only, as any parameter. API-key headers: their token. The name may be quoted, as in
    // an inspected header object (`'x-api-key': '…'`).
    id: 'auth-header',
    keywords: ['orization', 'pi-key', 'pi_key', 'pikey'],
    regex: new RegExp(
      `\\b(?:((?:proxy-)?authorization)(["']?\\s{0,4}:\\s{0,4}["']?(?:(?:${AUTH_SCHEMES})\\s{1,16})?)${quotedOr('"\'\\r\\n')}|((?:proxy-)?authorization)(\\s{0,4}=\\s{0,4}["'](?:(?:${AUTH_SCHEMES})\\s{1,16})?)[^"'\\r\\n]{1,${MAX}}|((?:proxy-)?authorization)(\\s{0,4}=\\s{0,4}(?:(?:${AUTH_SCHEMES})\\s{1,16})?)[^&\\s"'#;,]{1,${MAX}}|(x-api-key|api[-_]?key)(["']?\\s{0,4}[:=]\\s{0,4}["']?)${quotedOr('\\s,;"\'&')})`,
      'gi'
    ),
  },
  {
    // A bare bearer token in text. The look-ahead demands a digit, so prose ("the bearer of bad
    // news") is left alone while every real token (JWT, opaque, hex) is caught.
    id: 'bearer-token',
    keywords: ['earer'],
    regex: new RegExp(
      `\\b([Bb]earer\\s{1,16}|BEARER\\s{1,16})(?=[A-Za-z._~+/=-]{0,${MAX}}[0-9])[A-Za-z0-9._~+/=-]{6,${MAX}}`,
      'g'
    ),
  },
  {
    id: 'cookie',
    keywords: ['ookie'],
    regex: new RegExp(`\\b((?:set-)?cookie\\s{0,4}[:=]\\s{0,4})[^\\r\\n"]{1,${MAX}}`, 'gi'),
  },
  {
    // `name=value` (query strings, logfmt, env files, shell), the value bare or quoted.
    id: 'credential-param',
    keywords: CREDENTIAL_NAME_KEYWORDS,
    regex: new RegExp(
      `((?:^|[?&;,\\s"'])(?:password|passwd|pwd|pass|passphrase|secret|client_secret|token|access_token|refresh_token|id_token|auth_token|session|sessionid|session_id|api[-_]?key|apikey|key|sig|signature|credentials?|x-amz-signature|x-amz-credential|x-amz-security-token)=["']?)${quotedOr('&\\s"\'#;,')}`,
      'gi'
    ),
  },
  {
    // `"name": "value"` in JSON text (a serialised body or header set inside a log message): the
    // names redact() censors by key in objects. The value may hold escaped quotes.
    id: 'credential-json',
    keywords: CREDENTIAL_NAME_KEYWORDS,
    regex: new RegExp(
      `("(?:${JSON_CREDENTIAL_NAMES})"\\s{0,4}:\\s{0,4}")${JSON_VALUE}|(\\\\"(?:${JSON_CREDENTIAL_NAMES})\\\\"\\s{0,4}:\\s{0,4}\\\\")${ESCAPED_JSON_VALUE}`,
      'gi'
    ),
  },
  {
    // The strong credential names after a `_` / `-` prefix (`DB_PASSWORD=…`,
    // `ANTHROPIC_API_KEY="…"`, `--password=…`, `"GITHUB_TOKEN": "…"`), as a parameter or as a
    // JSON member. The match starts at the `_` / `-` before the name (kept), so the engine only
    // tries positions holding one.
    id: 'credential-prefixed',
    keywords: PREFIXED_NAME_KEYWORDS,
    regex: new RegExp(
      `(${PREFIXED_NAME}=["']?)${quotedOr('&\\s"\'#;,')}|(${PREFIXED_NAME}"\\s{0,4}:\\s{0,4}")${JSON_VALUE}`,
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
  /** Global alternation of all keywords, longest first; undefined when a pattern has none. */
  readonly prefilter: RegExp | undefined
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
  if (!keyed || own.size === 0) return { patterns, prefilter: undefined, masks: new Map(), gate }
  // Keywords compare case-insensitively: one alternative per spelling, and `PaSsWoRd=` is caught.
  const lowered = new Map<string, number>()
  for (const [k, m] of own) lowered.set(k.toLowerCase(), (lowered.get(k.toLowerCase()) ?? 0) | m)
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
    prefilter: new RegExp(words.map(escapeRegExp).join('|'), 'gi'),
    masks,
    gate,
  }
}

/** Bit mask of the patterns worth running on `text` (all bits when there is no pre-filter). */
function selectPatterns(text: string, scanner: SecretScanner): number {
  const pre = scanner.prefilter
  if (pre === undefined) return -1
  pre.lastIndex = 0
  let m = pre.exec(text)
  if (m === null) return 0
  let mask = 0
  do {
    mask |= scanner.masks.get(m[0].toLowerCase()) ?? 0
    pre.lastIndex = m.index + 1 // overlapping: `sk-ant-` must not hide a later `key=`
    m = pre.exec(text)
  } while (m !== null)
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
  scanner.patterns.forEach((p, i) => {
    if (i < 31 && (mask & (1 << i)) === 0) return
    const regex = p.regex
    regex.lastIndex = 0
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
      if (m[0].length === 0) regex.lastIndex++ // a custom regex matching '' must still advance
      let prefix = 0
      if (p.keepGroups !== false) for (let g = 1; g < m.length; g++) prefix += m[g]?.length ?? 0
      const index = m.index + prefix
      const length = m[0].length - prefix
      // Patterns run most specific first; a looser one re-matching the same secret is dropped.
      if (found.some((f) => index < f.index + f.length && f.index < index + length)) continue
      found.push({ ruleId: p.id, index, length })
    }
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
