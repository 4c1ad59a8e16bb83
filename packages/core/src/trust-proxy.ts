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
 *   matches are proxies; the first non-matching address from the right is the client.
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

/** Normalises one address: strips a port or brackets, maps `::ffff:a.b.c.d` to IPv4. */
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
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (addr as ipaddr.IPv6).toIPv4Address().toString()
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

function compileRanges(list: readonly string[]): Range[] {
  const ranges: Range[] = []
  list.forEach((entry, i) => {
    const field = `trustProxy[${i}]`
    if (typeof entry !== 'string') throw new InvalidOptionsError(field, 'must be a string')
    const named = NAMED_RANGES[entry]
    if (named) {
      for (const cidr of named) ranges.push(ipaddr.parseCIDR(cidr))
      return
    }
    try {
      ranges.push(
        entry.includes('/')
          ? ipaddr.parseCIDR(entry)
          : (() => {
              const a = ipaddr.parse(entry)
              return [a, a.kind() === 'ipv4' ? 32 : 128] as Range
            })()
      )
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
export function createIpResolver(trustProxy: TrustProxy | undefined): IpResolver {
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
  const list =
    typeof trustProxy === 'string' ? trustProxy.split(',').map((s) => s.trim()) : trustProxy
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
