/**
 * @module checks/environment
 * The configuration file, the environment against `aikitEnv`, NODE_ENV, and secrets shipped to
 * the browser under `NEXT_PUBLIC_*` names.
 */
import { looksSecret, SECRET_NAME } from '@aikit/core/env'
import type { Check } from '../types.js'
import { fail, pass, warn } from './item.js'

export const configCheck: Check = (facts) => {
  const title = 'kit configuration'
  if (!facts.configGiven) {
    return warn(
      'config',
      title,
      'no configuration given: CORS, rate limit and budget are seen as not configured',
      'describe the app in aikit.config.mjs and pass --config ./aikit.config.mjs'
    )
  }
  if (facts.configProblems.length > 0) {
    return fail(
      'config',
      title,
      facts.configProblems.join('; '),
      'fix the named fields (see the config schema in the @aikit/cli README)'
    )
  }
  return pass('config', title, 'valid')
}

export const envCheck: Check = (facts) => {
  const title = 'environment (aikitEnv)'
  const issues = facts.envIssues.filter((i) => i.problem !== 'public_secret')
  if (issues.length === 0) return pass('env', title, 'validates against aikitEnv')
  return fail(
    'env',
    title,
    issues.map((i) => `${i.name} ${i.reason}`).join('; '),
    'set the named variables to valid values (@aikit/core/env, aikitEnv)'
  )
}

const NODE_ENVS = new Set(['development', 'production', 'test'])

export const nodeEnvCheck: Check = (facts) => {
  const title = 'NODE_ENV'
  if (facts.production) return pass('node-env', title, 'production')
  const value = facts.env.NODE_ENV
  const shown =
    value === undefined ? 'unset' : NODE_ENVS.has(value) ? `'${value}'` : 'not a known value'
  return warn(
    'node-env',
    title,
    `NODE_ENV is ${shown}: production-only checks are relaxed`,
    'set NODE_ENV=production where the app is deployed, and run the doctor with that environment'
  )
}

export const publicSecretsCheck: Check = (facts) => {
  const title = 'secrets in browser-visible variables'
  const prefixes = facts.config.publicPrefixes ?? ['NEXT_PUBLIC_']
  const allowed = new Set(facts.config.allowPublic ?? [])
  const leaked = new Set(
    facts.envIssues.filter((i) => i.problem === 'public_secret').map((i) => i.name)
  )
  const suspicious: string[] = []
  for (const [name, value] of Object.entries(facts.env)) {
    if (!prefixes.some((p) => name.startsWith(p)) || allowed.has(name)) continue
    if (looksSecret(value)) leaked.add(name)
    else if (SECRET_NAME.test(name.slice(prefixes.find((p) => name.startsWith(p))!.length))) {
      suspicious.push(name)
    }
  }
  if (leaked.size > 0) {
    return fail(
      'public-secrets',
      title,
      `${[...leaked].sort().join(', ')} ${leaked.size === 1 ? 'holds' : 'hold'} a secret-looking value that the bundler ships to every browser`,
      'rename without the public prefix, read it on the server only, and rotate the key'
    )
  }
  if (suspicious.length > 0) {
    return warn(
      'public-secrets',
      title,
      `${suspicious.sort().join(', ')}: a secret-sounding name under a public prefix`,
      'if it is a secret, drop the public prefix; if it is public by design, list it in allowPublic'
    )
  }
  return pass('public-secrets', title, `no secret under ${prefixes.join(', ')}`)
}
