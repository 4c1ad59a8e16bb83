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
 * as the adapters parse it. An IPv4-mapped range is read as the adapters read it (see `rangeOf`),
 * so `::ffff:0.0.0.0/96` is `0.0.0.0/0` (every IPv4 hop; clients' addresses are matched as IPv4).
 */
export function trustsEveryHop(entry: string): boolean {
  const s = entry.trim()
  if (TRUST_ALL_WORDS.has(s.toLowerCase())) return true
  return s.includes('/') && rangeOf(s)?.[1] === 0
}

/**
 * True when the entries trust every address of a family, one alone (`trustsEveryHop`) or
 * together: `0.0.0.0/1,128.0.0.0/1` (or `::ffff:0.0.0.0/97,::ffff:128.0.0.0/97`) lets any client
 * forge `X-Forwarded-For` just as `0.0.0.0/0` does. The named ranges (`loopback`...) count too.
 */
export function trustsEveryHopTogether(entries: readonly string[]): boolean {
  if (entries.some(trustsEveryHop)) return true
  const v4: Interval[] = []
  // IPv4-mapped clients are matched as IPv4, never against IPv6 ranges: their block is no gap.
  const v6: Interval[] = [MAPPED_BLOCK]
  for (const entry of entries) {
    const s = entry.trim()
    for (const cidr of NAMED_RANGES.get(s) ?? [s]) {
      const range = rangeOf(cidr)
      if (range === undefined) continue
      if (range[0].kind() === 'ipv4') v4.push(intervalOf(range, 32))
      else v6.push(intervalOf(range, 128))
    }
  }
  return coversAll(v4, 32) || coversAll(v6, 128)
}

/**
 * The adapters' named ranges. Core's `NAMED_RANGES` and `entryRange` (packages/core/src/trust-proxy.ts)
 * are not exported: these must follow them.
 */
const NAMED_RANGES: ReadonlyMap<string, readonly string[]> = new Map([
  ['loopback', ['127.0.0.0/8', '::1/128']],
  ['linklocal', ['169.254.0.0/16', 'fe80::/10']],
  ['uniquelocal', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']],
])

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]
/** First and last address of a range, as integers. */
type Interval = readonly [bigint, bigint]

/** `::ffff:0:0/96`, the IPv4-mapped addresses. */
const MAPPED_BLOCK: Interval = [0xffffn << 32n, (0xffffn << 32n) | 0xffffffffn]

/**
 * An address or CIDR as the adapters read it (core's `entryRange`): an IPv4-mapped range from
 * prefix 96 on is the IPv4 range it maps, 96 bits shorter (`::ffff:10.0.0.0/104` is `10.0.0.0/8`).
 * `undefined` for what is neither: `createIpResolver` reports it.
 */
function rangeOf(entry: string): Range | undefined {
  try {
    const [net, bits]: Range = entry.includes('/')
      ? ipaddr.parseCIDR(entry)
      : ((a) => [a, a.kind() === 'ipv4' ? 32 : 128] as Range)(ipaddr.parse(entry))
    if (net.kind() === 'ipv6' && (net as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(net as ipaddr.IPv6).toIPv4Address(), bits - 96]
    }
    return [net, bits]
  } catch {
    return undefined
  }
}

function intervalOf([net, bits]: Range, width: number): Interval {
  let n = 0n
  for (const byte of net.toByteArray()) n = (n << 8n) | BigInt(byte)
  const size = 1n << BigInt(width - bits)
  const first = n - (n % size)
  return [first, first + size - 1n]
}

/** True when the intervals together cover every address of `width` bits. */
function coversAll(intervals: Interval[], width: number): boolean {
  intervals.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  let next = 0n // the first address not yet covered
  for (const [first, last] of intervals) {
    if (first > next) return false
    if (last >= next) next = last + 1n
  }
  return next === 1n << BigInt(width)
}

const everyHop = (): DoctorItem =>
  fail(
    ID,
    TITLE,
    'every hop is trusted (true, a wildcard, a /0 range, or ranges that together cover every address): any client can set X-Forwarded-For and pick its own IP (per-IP limits are bypassed)',
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
  if (trustsEveryHopTogether(raw.split(','))) return everyHop()
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
  if (trustsEveryHopTogether(entries)) return everyHop()
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
