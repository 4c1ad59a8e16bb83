/**
 * @module checks/trust-proxy
 * Which proxies the adapters trust. Trusting every hop lets any client choose its own IP with a
 * forged `X-Forwarded-For`; a setting the adapters (or `aikitEnv`) refuse stops the app at startup.
 */
import { createIpResolver, trustProxyMode } from '@aikit/core/adapter'
import { trustProxy as trustProxyField } from '@aikit/core/env'
import ipaddr from 'ipaddr.js'
import type { Check, DoctorItem } from '../types.js'
import { fail, invalidSection, pass } from './item.js'

const ID = 'trust-proxy'
const TITLE = 'trusted proxies'

/** Words that mean "every hop" (the adapters refuse them; the finding says why they are unsafe). */
const TRUST_ALL_WORDS = new Set(['true', '*', 'all'])

/**
 * True when one `trustProxy` entry trusts every address of its family: `true`, `'*'`, `'all'`,
 * or a CIDR of prefix length 0 (`0.0.0.0/0`, `10.0.0.0/0`, `::0/0`, `0/0`...), parsed by ipaddr.js
 * as the adapters parse it. An IPv4-mapped range is read as the adapters read it (core's
 * `entryRange`, not exported): from prefix 96 on, as the IPv4 range it maps, 96 bits shorter, so
 * `::ffff:0.0.0.0/96` is `0.0.0.0/0` (every IPv4 hop; clients' addresses are matched as IPv4).
 */
export function trustsEveryHop(entry: string): boolean {
  const s = entry.trim()
  if (TRUST_ALL_WORDS.has(s.toLowerCase())) return true
  if (!s.includes('/')) return false
  try {
    const [net, bits] = ipaddr.parseCIDR(s)
    const mapped = net.kind() === 'ipv6' && (net as ipaddr.IPv6).isIPv4MappedAddress()
    return (mapped && bits >= 96 ? bits - 96 : bits) === 0
  } catch {
    return false // not a CIDR: createIpResolver reports it
  }
}

const everyHop = (): DoctorItem =>
  fail(
    ID,
    TITLE,
    'every hop is trusted (true, a wildcard or a /0 range): any client can set X-Forwarded-For and pick its own IP (per-IP limits are bypassed)',
    'set TRUST_PROXY to the number of proxies in front of the app (1 behind one load balancer) or their CIDRs'
  )

const off = (): DoctorItem =>
  pass(
    ID,
    TITLE,
    'off: the socket address is the client IP (behind a load balancer, set the hop count)'
  )

const trusted = (value: number | string | readonly string[]): DoctorItem =>
  typeof value === 'number'
    ? pass(ID, TITLE, `${value} hop(s) trusted`)
    : pass(
        ID,
        TITLE,
        `${typeof value === 'string' ? value.split(',').length : value.length} proxy address range(s) trusted`
      )

/** Why the adapters refuse `value`, or undefined when they accept it. */
function adapterRefusal(value: number | string | readonly string[]): string | undefined {
  try {
    createIpResolver(value)
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/**
 * `TRUST_PROXY` as the app reads it, through `aikitEnv`'s field: all digits is a hop count, a
 * comma list is addresses, `false`/`0` is off. A value the field refuses stops the app at startup.
 * Findings never quote the variable.
 */
function checkEnv(raw: string): DoctorItem {
  if (raw.split(',').some(trustsEveryHop)) return everyHop()
  const parsed = trustProxyField().safeParse(raw)
  if (!parsed.success) {
    const reason = parsed.error.issues[0]?.message ?? 'invalid'
    return fail(
      ID,
      TITLE,
      `TRUST_PROXY is refused by aikitEnv (${reason}): the app does not start with it`,
      'give a hop count (0 to 32) or a comma-separated list of IPs / CIDRs / loopback, linklocal, uniquelocal'
    )
  }
  return parsed.data === false ? off() : trusted(parsed.data)
}

/**
 * The configuration's `trustProxy`, which the app passes to the adapters as is; they read a string
 * of digits as a hop count (`'2'`), a blank string or an empty list as no proxy, any other string
 * as a comma list of addresses (`'false'` is refused: it is no address).
 */
function checkConfig(value: boolean | number | string | readonly string[]): DoctorItem {
  if (value === true) return everyHop()
  const entries = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : []
  if (entries.some(trustsEveryHop)) return everyHop()
  if (typeof value === 'string' && /^\s*false\s*$/i.test(value)) {
    return fail(
      ID,
      TITLE,
      "trustProxy is the string 'false': the adapters read it as an address and refuse it at startup",
      'use the boolean false, or leave trustProxy out'
    )
  }
  const refusal = adapterRefusal(value as number | string | readonly string[])
  if (refusal !== undefined) {
    return fail(
      ID,
      TITLE,
      `not a valid proxy setting: ${refusal}`,
      'give a hop count (e.g. 1) or a list of IPs / CIDRs / loopback, linklocal, uniquelocal'
    )
  }
  const mode = trustProxyMode(value as number | string | readonly string[] | false)
  if (mode === 'none') return off()
  if (mode === 'hops') return trusted(Number(String(value).trim()))
  return trusted(
    typeof value === 'string' ? entries.filter((e) => e.trim() !== '') : (value as string[])
  )
}

export const trustProxyCheck: Check = (facts) => {
  const invalid = invalidSection(facts, 'trustProxy', ID, TITLE)
  if (invalid) return invalid
  const configured = facts.config.trustProxy
  if (configured !== undefined) return checkConfig(configured)
  const raw = facts.env.TRUST_PROXY
  return raw === undefined ? off() : checkEnv(raw)
}
