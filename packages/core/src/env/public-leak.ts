/**
 * @module env/public-leak
 * Spots a secret under a name the bundler ships to the browser (`NEXT_PUBLIC_*`): known key
 * formats first, then any long high-entropy token. Keys that are public by design (Stripe `pk_`,
 * Google `AIza`, PostHog `phc_`) and JWTs (Supabase's anon key) are let through.
 */

/** Formats of real secrets: API keys, cloud credentials, private keys. */
export const SECRET_VALUE_PATTERNS: readonly RegExp[] = [
  /^sk-ant-/, // Anthropic
  /^sk-[A-Za-z0-9_-]{16,}/, // OpenAI (sk-, sk-proj-, sk-svcacct-)
  /^(?:AKIA|ASIA)[0-9A-Z]{16}$/, // AWS access key id
  /^(?:sk|rk)_(?:live|test)_/, // Stripe secret / restricted key
  /^gh[pousr]_[A-Za-z0-9]{20,}/, // GitHub tokens
  /^github_pat_/,
  /^xox[abposr]-/, // Slack
  /^glpat-/, // GitLab
  /^-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i, // a URL with a password
]

/** Public-by-design formats that look random but are meant for the browser. */
const PUBLIC_VALUE_PATTERNS: readonly RegExp[] = [/^pk_(?:live|test)_/, /^AIza/, /^phc_/]

const TOKEN = /^[A-Za-z0-9+/_=-]+$/

/** Shannon entropy in bits per character. Hex tops out at 4, so hex ids are never flagged. */
function entropy(s: string): number {
  const counts = new Map<string, number>()
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  let bits = 0
  for (const n of counts.values()) {
    const p = n / s.length
    bits -= p * Math.log2(p)
  }
  return bits
}

/** True when `value` looks like a secret (see the module comment). */
export function looksSecret(value: string): boolean {
  const v = value.trim()
  if (PUBLIC_VALUE_PATTERNS.some((p) => p.test(v))) return false
  if (SECRET_VALUE_PATTERNS.some((p) => p.test(v))) return true
  return v.length >= 32 && TOKEN.test(v) && /\d/.test(v) && /[A-Za-z]/.test(v) && entropy(v) > 4.2
}

/** Names whose values are treated as secrets when the env object is printed. */
export const SECRET_NAME = /KEY|SECRET|TOKEN|PASSWORD|PASSPHRASE|CREDENTIAL|PRIVATE/i
