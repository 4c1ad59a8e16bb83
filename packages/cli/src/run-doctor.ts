/**
 * @module run-doctor
 * The checklist, in the order it is printed.
 */
import { configCheck, envCheck, nodeEnvCheck, publicSecretsCheck } from './checks/environment.js'
import { corsCheck, rateLimitCheck } from './checks/http.js'
import {
  budgetCheck,
  errorTrackingCheck,
  logLevelCheck,
  metricsTokenCheck,
} from './checks/operations.js'
import { redisSecurityCheck, redisTopologyCheck } from './checks/redis.js'
import { trustProxyCheck } from './checks/trust-proxy.js'
import { gatherFacts } from './facts.js'
import type { Check, DoctorInput, DoctorResult } from './types.js'

const CHECKS: readonly Check[] = [
  configCheck,
  envCheck,
  nodeEnvCheck,
  publicSecretsCheck,
  corsCheck,
  rateLimitCheck,
  trustProxyCheck,
  logLevelCheck,
  errorTrackingCheck,
  metricsTokenCheck,
  budgetCheck,
  redisTopologyCheck,
  redisSecurityCheck,
]

/**
 * Runs the pre-launch checklist on an environment and a kit configuration. Items name variables
 * and configuration fields, never a variable's value. `ok` is false when any item FAILs.
 *
 * ```ts
 * const { items, ok } = runDoctor({ env: process.env, config: (await import('./aikit.config.mjs')).default })
 * ```
 * @throws InvalidOptionsError when `input` or `input.env` is not the right shape.
 */
export function runDoctor(input: DoctorInput = {}): DoctorResult {
  const facts = gatherFacts(input)
  const items = CHECKS.map((check) => check(facts))
  return { items, ok: items.every((i) => i.status !== 'FAIL') }
}
