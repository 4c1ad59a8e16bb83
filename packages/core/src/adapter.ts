/**
 * @module @aikit/core/adapter
 * For framework adapter authors: the Context engine and the helpers every adapter shares.
 * Application code does not need this entry.
 */
export {
  type AdapterOptions,
  type ResolvedAdapterOptions,
  resolveAdapterOptions,
  scopesRequests,
} from './adapter-options.js'
export { BaseContext } from './base-context.js'
export { asyncContextRequested, runWithContext, scopedContext } from './current-context.js'
/** For kit packages: the response fields `ctx.setHeader` refuses (framing and connection). */
export { isFramingHeader } from './framing-headers.js'
export { combineHeader, mergeVary, splitCookies } from './header-merge.js'
export { isJsonContentType, parseJsonBody } from './json-body.js'
export { assertJsonValue } from './json-value.js'
/** For kit packages: refuse misspelt option keys with an `InvalidOptionsError` naming them. */
export { rejectUnknownOptions } from './known-options.js'
/** For kit packages: work for gone requests that a graceful shutdown waits for. */
export { trackWork, workDone } from './pending-work.js'
/** For kit packages: a coded process warning that is a no-op where `process` is absent (edge). */
export { emitProcessWarning } from './process-warning.js'
export {
  BODY_POLICY,
  type BodyCoding,
  type BodyPolicy,
  DEFAULT_BODY_TIMEOUT_MS,
  limitWebBody,
  parseContentEncoding,
  REPLACE_BODY,
  RequestTimeoutError,
  readWebBody,
  unsupportedEncodingError,
  type WebBodyLimits,
} from './request-body.js'
/** For kit packages: the authority of an absolute-form request target, see its module. */
export { TARGET_AUTHORITY } from './request-target.js'
export { errorResponse, type NormalizedBody, type PendingResponse } from './response.js'
export { ROUTE_COOKIES } from './route-cookies.js'
export { runChain } from './run-chain.js'
/** For kit packages taking ioredis connections: a Sentinel one needs `failoverDetector: true`. */
export { assertSentinelFailoverDetector } from './sentinel-client.js'
export { sha256Hex } from './sha256.js'
export {
  markStaticHeaders,
  STATIC_HEADERS,
  type StaticHeaderList,
  type StaticHeaderSplit,
  splitStaticHeaders,
} from './static-headers.js'
/** For kit packages that build store keys themselves: a longer tag is stored as its digest. */
export { MAX_TAG_LENGTH } from './store/keys.js'
export { createIpResolver, type IpResolver, normalizeIp, trustProxyMode } from './trust-proxy.js'
/** The body transform protocol an adapter implements as `ctx.transformBody` (compression). */
export type { BodyTransform, BodyTransformFactory, ResponseHead } from './types.js'
