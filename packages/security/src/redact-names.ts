/**
 * @module redact-names
 * Credential names, in one place for the two ways the redactor meets them: as an object key
 * (`{ DB_PASSWORD: … }`, `headers['x-goog-api-key']`) and inside text (`DB_PASSWORD=…`,
 * `"GITHUB_TOKEN": "…"`). Both use the same rules, so an object and its JSON text are censored
 * alike.
 */

/**
 * Request headers that carry a credential (lower case). The redactor censors them by key, and
 * `@aikit/observability`'s Sentry integration drops them from events.
 */
export const SENSITIVE_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-csrf-token',
  'anthropic-api-key',
  'openai-api-key',
  'x-goog-api-key',
  'x-amz-security-token',
  'x-access-token',
  'x-refresh-token',
  'x-vault-token',
  'private-token',
  'ocp-apim-subscription-key',
]

const SENSITIVE_HEADER_SET: ReadonlySet<string> = new Set(SENSITIVE_HEADERS)
/** Last words of header names that say what they carry: `helicone-auth`, `x-hub-signature`. */
export const CREDENTIAL_HEADER_WORDS: readonly string[] = [
  'auth',
  'token',
  'key',
  'secret',
  'password',
  'signature',
]
/** Header names that say what they carry: `helicone-auth`, `x-functions-key`, `x-hub-signature`. */
const CREDENTIAL_HEADER_SUFFIX = new RegExp(`-(?:${CREDENTIAL_HEADER_WORDS.join('|')})$`)
/** Header names that are no credential though named like one (kept for debugging). */
const NOT_CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  'idempotency-key',
  'x-idempotency-key',
  'sec-websocket-key',
])

/** `credentialHeader` of a lower-case name. */
function credentialHeaderName(lower: string): boolean {
  return (
    SENSITIVE_HEADER_SET.has(lower) ||
    (CREDENTIAL_HEADER_SUFFIX.test(lower) && !NOT_CREDENTIAL_HEADERS.has(lower))
  )
}

/**
 * Whether a request header carries a credential: `SENSITIVE_HEADERS`, or a name ending in
 * `-auth`, `-token`, `-key`, `-secret`, `-password` or `-signature` (`helicone-auth`,
 * `x-functions-key`), except `idempotency-key` and `sec-websocket-key`. Any case; `_` counts as
 * `-` (OTel attribute names spell headers so). The redactor censors an object key by the same
 * rule when it is spelled as a header (with `-`), and `@aikit/observability` drops such headers
 * from Sentry events: a header is censored alike in a log line and in an error report.
 */
export function isCredentialHeader(name: string): boolean {
  return credentialHeaderName(name.toLowerCase().replaceAll('_', '-'))
}

const escapeRegExp = (w: string): string => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * `SENSITIVE_HEADERS` that the suffix rule does not cover (`authorization`, `proxy-authorization`,
 * `cookie`, `set-cookie`): the text patterns name them literally, the others by the suffix rule.
 */
export const LISTED_ONLY_HEADERS: readonly string[] = SENSITIVE_HEADERS.filter(
  (name) => !CREDENTIAL_HEADER_SUFFIX.test(name)
)

/**
 * Regex source (for a regex with the `i` flag) of a header name `isCredentialHeader` counts by
 * its suffix, as it appears in text (`X-Vault-Token: …`, `"helicone-auth":"…"`): a run of
 * `[\w-]` ending in `-auth`, `-token`, `-key`, `-secret`, `-password` or `-signature`, not one of
 * the exceptions (`idempotency-key`, `sec-websocket-key`). The whole run must be matched: put it
 * where the run starts (after a quote, or behind `(?<![\w-])`), so each run is scanned by one
 * start position only and the scan stays linear.
 */
export const SUFFIX_HEADER_NAME = `(?!(?:${[...NOT_CREDENTIAL_HEADERS].map(escapeRegExp).join('|')})(?![\\w-]))[\\w-]*-(?:${CREDENTIAL_HEADER_WORDS.join('|')})`

/**
 * Regex source (for a regex with the `i` flag) of every credential header name in text, by the
 * rule of `isCredentialHeader`: `LISTED_ONLY_HEADERS` literally, the others by
 * `SUFFIX_HEADER_NAME` (same placement rule).
 */
export const CREDENTIAL_HEADER_NAME = `(?:${LISTED_ONLY_HEADERS.map(escapeRegExp).join('|')}|${SUFFIX_HEADER_NAME})`

/** `word` matching in any letter case, inside a regex that is case-sensitive. */
export const anyCase = (word: string): string =>
  word.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`)

/**
 * Credential names that also count with a prefix ending in `_` or `-` (`DB_PASSWORD`,
 * `ANTHROPIC_API_KEY`, `--password`, `x-goog-api-key`) or, as an object key, in camelCase
 * (`dbPassword`, `openaiApiKey`), in any case: names that mean a credential whatever qualifies
 * them. Not `key`, `sig` or `session` (`sort_key`, `user_session` are ordinary). A regex source.
 */
export const STRONG_NAMES = [
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
 * `eos_token`, `next_page_token`, `first_pass`, `method_signature`, `allow_credentials`). A regex
 * source, case-sensitive.
 */
export const ENV_ONLY_NAMES = 'TOKEN|PASS|SIGNATURE|CREDENTIALS?'

/**
 * An object key that names a credential beyond the exact list: a strong name alone, after a `_` /
 * `-` / `.` prefix or a camelCase word (`DB_PASSWORD`, `x-goog-api-key`, `db.password`,
 * `stripeSecret`), or an
 * environment-style name (`GITHUB_TOKEN`). The whole key must end with the name (`PASSWORD_FILE`
 * is a path). Each start position tries names of at most 12 characters: linear in the key.
 */
const CREDENTIAL_KEY = new RegExp(
  `(?:^|[_.-]|(?<=[a-z0-9])(?=[A-Z]))(?:${STRONG_NAMES})$|(?<=[A-Z0-9])_(?:${ENV_ONLY_NAMES})$`
)

/**
 * Whether `key` names a credential by the rules above (the exact list is checked apart), or is a
 * header name with `-` that `isCredentialHeader` counts (`helicone-auth`, `X-Functions-Key`: a
 * logged `req.headers`). Not with `_`: `sort_key` and `next_page_token` are ordinary fields.
 */
export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEY.test(key) || (key.includes('-') && credentialHeaderName(key.toLowerCase()))
}
