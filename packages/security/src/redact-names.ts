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
 * `-` prefix or a camelCase word (`DB_PASSWORD`, `x-goog-api-key`, `stripeSecret`), or an
 * environment-style name (`GITHUB_TOKEN`). The whole key must end with the name (`PASSWORD_FILE`
 * is a path). Each start position tries names of at most 12 characters: linear in the key.
 */
const CREDENTIAL_KEY = new RegExp(
  `(?:^|[_-]|(?<=[a-z0-9])(?=[A-Z]))(?:${STRONG_NAMES})$|(?<=[A-Z0-9])_(?:${ENV_ONLY_NAMES})$`
)

/** Whether `key` names a credential by the rules above (the exact list is checked apart). */
export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEY.test(key)
}
