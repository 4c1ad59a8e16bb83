/**
 * @module trust-proxy
 * Client IP resolution. `X-Forwarded-For` is attacker-controlled unless a proxy you run wrote it,
 * so it is never read by default: the app names its proxies (a hop count or CIDRs) explicitly.
 */
import ipaddr from 'ipaddr.js'
import { InvalidOptionsError } from './errors.js'

/**
 * Which proxies in front of the app to trust:
 * - `false` (default): none; the IP is the socket's remote address and `X-Forwarded-For` is ignored.
 * - a number `n`: the `n` nearest hops are your proxies (e.g. `1` behind one load balancer).
 * - CIDRs or named ranges (`'loopback'`, `'linklocal'`, `'uniquelocal'`): hops whose address
 *   matches are proxies; the first non-matching address from the right is the client. A string
 *   is a comma list (`'10.0.0.0/8, loopback'`), or a hop count when it is digits only (`'1'`);
 *   a list naming nothing (`[]`, `','`) is `false`. IPv4 addresses as four decimal octets.
 * `true` is refused: trusting every hop lets any client pick its own IP.
 */
export type TrustProxy = false | number | string | readonly string[]

/** Resolves the client IP from the socket address and the `X-Forwarded-For` header. */
export type IpResolver = (
  remoteAddress: string | undefined,
  forwardedFor: string | undefined
) => string | undefined

const NAMED_RANGES: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]

/** Normalises one address: strips a port, brackets or an IPv6 zone id, maps `::ffff:a.b.c.d` to IPv4. */
export function normalizeIp(raw: string): string | undefined {
  // Fast path for what sockets report on almost every request ("a.b.c.d" or the dual-stack
  // "::ffff:a.b.c.d"): a canonical dotted quad is its own normal form, no parse needed.
  if (isCanonicalIPv4(raw, 0)) return raw
  if (raw.startsWith('::ffff:') && isCanonicalIPv4(raw, 7)) return raw.slice(7)
  let s = raw.trim()
  if (s === '') return undefined
  if (s.startsWith('[')) {
    const end = s.indexOf(']')
    if (end === -1) return undefined
    s = s.slice(1, end)
  } else if (s.indexOf(':') !== -1 && s.indexOf(':') === s.lastIndexOf(':') && s.includes('.')) {
    s = s.slice(0, s.indexOf(':')) // "1.2.3.4:5678"
  }
  if (!ipaddr.isValid(s)) return undefined
  const addr = ipaddr.parse(s)
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString()
    // A zone id (`fe80::1%eth0`) names an interface of the host that wrote it, not a client: one
    // address with any number of zone strings would be as many clients (rate-limit keys).
    if (v6.zoneId !== undefined) return new ipaddr.IPv6(v6.parts).toString()
  }
  return addr.toString()
}

/**
 * True when `s` from `start` to its end is four decimal octets 0-255 without leading zeros or
 * anything else (the form ipaddr.js prints, so the fast path and the parse agree).
 */
function isCanonicalIPv4(s: string, start: number): boolean {
  const end = s.length
  if (end - start < 7 || end - start > 15) return false
  let octets = 0
  let i = start
  while (i < end) {
    const first = s.charCodeAt(i)
    if (first < 48 || first > 57) return false
    let value = first - 48
    let digits = 1
    i++
    while (i < end) {
      const c = s.charCodeAt(i)
      if (c === 46 /* . */) break
      if (c < 48 || c > 57 || first === 48 || digits === 3) return false
      value = value * 10 + (c - 48)
      digits++
      i++
    }
    if (value > 255) return false
    octets++
    if (i < end) {
      // a dot: another octet must follow
      i++
      if (i === end || octets === 4) return false
    }
  }
  return octets === 4
}

/**
 * A `trustProxy` setting in its plain form: a string of digits is a hop count (`'1'`, as an
 * environment variable gives it; not the address 0.0.0.1), a string is a comma list, and a list
 * with no entry (`[]`, `','`) names no proxy: `false`.
 */
function plainTrust(trustProxy: TrustProxy): TrustProxy {
  if (typeof trustProxy === 'string') {
    const s = trustProxy.trim()
    if (/^\d+$/.test(s)) return Number(s)
    const items = s
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '')
    return items.length === 0 ? false : items
  }
  if (Array.isArray(trustProxy) && trustProxy.length === 0) return false
  return trustProxy
}

/**
 * How a `trustProxy` setting resolves the client IP: `'none'` (the socket peer; no proxy named,
 * also by `0`, `[]` or `','`), `'hops'` (a hop count) or `'ranges'` (a list of IPs and CIDRs).
 * For adapters without a socket address (Next), which must not read `X-Forwarded-For` unless a
 * proxy is named.
 */
export function trustProxyMode(trustProxy: TrustProxy | undefined): 'none' | 'hops' | 'ranges' {
  if (trustProxy === undefined) return 'none'
  const t = plainTrust(trustProxy)
  if (t === false || t === 0) return 'none'
  return typeof t === 'number' ? 'hops' : 'ranges'
}

/**
 * One entry's address, strictly: an IPv4 address only as four decimal octets without leading
 * zeros (`10.1`, `167772161` and the octal-looking `012.0.0.1` are refused: ipaddr.js reads them
 * as 10.0.0.1, 10.0.0.1 and 10.0.0.1), an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the
 * IPv4 address it maps, with its prefix (`::ffff:10.0.0.0/104` is `10.0.0.0/8`): the addresses
 * matched against it are normalised so.
 */
function entryRange(entry: string): Range {
  const slash = entry.indexOf('/')
  const address = slash === -1 ? entry : entry.slice(0, slash)
  if (!address.includes(':') && !isCanonicalIPv4(address, 0)) throw new Error('not an address')
  const [net, bits] =
    slash === -1
      ? ((a) => [a, a.kind() === 'ipv4' ? 32 : 128] as Range)(ipaddr.parse(address))
      : ipaddr.parseCIDR(entry)
  if (net.kind() === 'ipv6' && (net as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(net as ipaddr.IPv6).toIPv4Address(), bits - 96]
  }
  return [net, bits]
}

function compileRanges(list: readonly string[]): Range[] {
  const ranges: Range[] = []
  list.forEach((entry, i) => {
    const field = `trustProxy[${i}]`
    if (typeof entry !== 'string') throw new InvalidOptionsError(field, 'must be a string')
    // Own names only: `constructor` or `toString` is an entry to refuse, not a range list.
    const named = Object.hasOwn(NAMED_RANGES, entry) ? NAMED_RANGES[entry] : undefined
    if (named) {
      for (const cidr of named) ranges.push(ipaddr.parseCIDR(cidr))
      return
    }
    try {
      ranges.push(entryRange(entry))
    } catch {
      throw new InvalidOptionsError(
        field,
        'must be an IP, a CIDR or loopback/linklocal/uniquelocal'
      )
    }
  })
  return ranges
}

function matches(ranges: Range[], ip: string): boolean {
  const addr = ipaddr.parse(ip)
  for (const [net, bits] of ranges) {
    if (net.kind() === addr.kind() && addr.match([net, bits] as never)) return true
  }
  return false
}

/** Builds the resolver for a `trustProxy` setting; throws `InvalidOptionsError` for a bad one. */
export function createIpResolver(setting: TrustProxy | undefined): IpResolver {
  const trustProxy = setting === undefined ? undefined : plainTrust(setting)
  if (trustProxy === undefined || trustProxy === false) {
    return (remote) => (remote === undefined ? undefined : normalizeIp(remote))
  }
  if ((trustProxy as unknown) === true) {
    throw new InvalidOptionsError(
      'trustProxy',
      'true would trust every hop and let clients spoof their IP; give a hop count or CIDRs'
    )
  }
  if (typeof trustProxy === 'number') {
    if (!Number.isInteger(trustProxy) || trustProxy < 0 || trustProxy > 32) {
      throw new InvalidOptionsError('trustProxy', 'a hop count must be an integer from 0 to 32')
    }
    const hops = trustProxy
    return (remote, xff) => {
      const chain = hopChain(remote, xff)
      if (chain.length === 0) return undefined
      // chain[0] is the socket peer; with n trusted hops the client is n entries further out.
      const i = Math.min(hops, chain.length - 1)
      return walkValid(chain, i)
    }
  }
  const list = trustProxy
  if (!Array.isArray(list)) {
    throw new InvalidOptionsError('trustProxy', 'must be false, a hop count, or a list of CIDRs')
  }
  const ranges = compileRanges(list)
  return (remote, xff) => {
    const chain = hopChain(remote, xff)
    let last: string | undefined
    for (const hop of chain) {
      const ip = normalizeIp(hop)
      if (ip === undefined) return last // garbage from a trusted proxy: stop at that proxy
      last = ip
      if (!matches(ranges, ip)) return ip
    }
    return last
  }
}

/** [socket peer, nearest forwarded hop, …, farthest]. */
function hopChain(remote: string | undefined, xff: string | undefined): string[] {
  const chain: string[] = remote === undefined ? [] : [remote]
  if (xff) {
    const parts = xff.split(',')
    for (let i = parts.length - 1; i >= 0; i--) chain.push(parts[i]!)
  }
  return chain
}

/** The address at `i`, or the nearest valid one before it when it is not an IP. */
function walkValid(chain: string[], i: number): string | undefined {
  for (let j = i; j >= 0; j--) {
    const ip = normalizeIp(chain[j]!)
    if (ip !== undefined) return ip
  }
  return undefined
}
