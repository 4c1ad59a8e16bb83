/**
 * @module csp-directive-names
 * The CSP directive names a policy may use. Browsers ignore a directive they do not know, so a
 * misspelt `scriptSrcc` or `img-scr` would leave that resource type to `default-src` without a
 * word; helmet only checks the name's shape. The list covers CSP Level 3, the specs that add
 * directives (Upgrade Insecure Requests, Trusted Types, Fenced Frames, Private Network Access),
 * and the deprecated ones browsers shipped, so a policy carried over from an older helmet still
 * builds.
 */

/** Every directive name a policy may use, kebab-case. */
export const KNOWN_CSP_DIRECTIVES: readonly string[] = [
  // Fetch directives (CSP3).
  'default-src',
  'child-src',
  'connect-src',
  'fenced-frame-src',
  'font-src',
  'frame-src',
  'img-src',
  'manifest-src',
  'media-src',
  'object-src',
  'script-src',
  'script-src-attr',
  'script-src-elem',
  'style-src',
  'style-src-attr',
  'style-src-elem',
  'worker-src',
  // Document, navigation and reporting directives (CSP3).
  'base-uri',
  'sandbox',
  'form-action',
  'frame-ancestors',
  'report-to',
  'report-uri',
  'webrtc',
  // Directives from other specs.
  'upgrade-insecure-requests',
  'require-trusted-types-for',
  'trusted-types',
  'treat-as-public-address',
  // Deprecated or removed, still sent by older configurations (helmet < 5 defaulted to
  // block-all-mixed-content).
  'block-all-mixed-content',
  'navigate-to',
  'plugin-types',
  'prefetch-src',
  'referrer',
  'require-sri-for',
]
const NAMES: ReadonlySet<string> = new Set(KNOWN_CSP_DIRECTIVES)

/** True when `name` (kebab-case) is a CSP directive. */
export function isKnownDirective(name: string): boolean {
  return NAMES.has(name)
}

/** The known directive `name` differs from only by case or dashes (`scriptsrc` → `script-src`). */
export function directiveHint(name: string): string | undefined {
  const bare = name.replace(/-/g, '').toLowerCase()
  for (const known of KNOWN_CSP_DIRECTIVES) if (known.replace(/-/g, '') === bare) return known
  return undefined
}

/** The `InvalidOptionsError` message for an unknown directive name (kebab-case). */
export function unknownDirectiveMessage(name: string): string {
  const hint = directiveHint(name)
  return hint === undefined
    ? 'is not a known CSP directive'
    : `is not a known CSP directive; did you mean \`${hint}\`?`
}
