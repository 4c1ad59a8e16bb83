/**
 * @module run-doctor
 * The checklist, in the order it is printed.
 */

import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { configCheck, envCheck, nodeEnvCheck, publicSecretsCheck } from './checks/environment.js'
import { corsCheck, rateLimitCheck } from './checks/http.js'
import {
  budgetCheck,
  errorTrackingCheck,
  logLevelCheck,
  metricsTokenCheck,
} from './checks/operations.js'
import { redisSecurityCheck, redisTopologyCheck } from './checks/redis.js'
import { redisServerCheck } from './checks/redis-server.js'
import { trustProxyCheck } from './checks/trust-proxy.js'
import { gatherFacts } from './facts.js'
import {
  type Check,
  DOCTOR_ONLINE_OPTION_KEYS,
  type DoctorInput,
  type DoctorItem,
  type DoctorOnlineOptions,
  type DoctorResult,
  type Facts,
} from './types.js'

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
  return resultOf(offlineItems(gatherFacts(input)))
}

const offlineItems = (facts: Facts): DoctorItem[] => CHECKS.map((check) => check(facts))

const resultOf = (items: readonly DoctorItem[]): DoctorResult => ({
  items,
  ok: items.every((i) => i.status !== 'FAIL'),
})

/**
 * `runDoctor`'s checklist plus the items that connect to services: `redis-server` connects to
 * `REDIS_URL` (ioredis, one connection, no retries, within `timeoutMs`) and reports whether it
 * answers (refused, timeout, password refused...) and settings that break the kit's state (an
 * evicting `maxmemory-policy`, Cluster mode). The `aikit` command runs this unless `--offline`.
 *
 * ```ts
 * const { items, ok } = await runDoctorOnline({ env: process.env }, { timeoutMs: 2000 })
 * ```
 * @throws InvalidOptionsError when `input` or `options` is not the right shape.
 */
export async function runDoctorOnline(
  input: DoctorInput = {},
  options: DoctorOnlineOptions = {}
): Promise<DoctorResult> {
  const facts = gatherFacts(input)
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, DOCTOR_ONLINE_OPTION_KEYS)
  const timeoutMs = options.timeoutMs ?? 3000
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
    throw new InvalidOptionsError('timeoutMs', 'must be an integer from 1 to 60000 (ms)')
  }
  const cwd = options.cwd ?? process.cwd()
  if (typeof cwd !== 'string' || cwd === '') {
    throw new InvalidOptionsError('cwd', 'must be a non-empty string')
  }
  const items = offlineItems(facts)
  items.push(await redisServerCheck(facts, { cwd, timeoutMs }))
  return resultOf(items)
}
