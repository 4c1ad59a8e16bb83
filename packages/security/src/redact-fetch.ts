/**
 * @module redact-fetch
 * Redacting a Web `Request` or `Response` into a new one of the same class, without the body (the
 * original's stays unread): util.inspect prints its URL, headers and status text or referrer.
 */
import { type WebMultimap, type WebMultimapClass, walkMultimap } from './redact-multimaps.js'
import { type PathNode, step } from './redact-paths.js'
import type { RedactWalker } from './redact-walker.js'

/** The Web `Request`, `Response` and `Headers` classes (where defined). */
const FetchRequest = typeof globalThis.Request === 'function' ? globalThis.Request : undefined
const FetchResponse = typeof globalThis.Response === 'function' ? globalThis.Response : undefined
const WebHeaders = typeof globalThis.Headers === 'function' ? globalThis.Headers : undefined

/** A Web `Request` or `Response` class. */
export type FetchClass = typeof Request | typeof Response

/** The Web `Request` or `Response` class `value` is an instance of, if any. */
export function fetchClassOf(value: object): FetchClass | undefined {
  if (FetchRequest !== undefined && value instanceof FetchRequest) return FetchRequest
  if (FetchResponse !== undefined && value instanceof FetchResponse) return FetchResponse
  return undefined
}

/** Whether `Class` is the Web `Request` or `Response` class. */
export function isFetchClass(Class: object): Class is FetchClass {
  return Class === FetchRequest || Class === FetchResponse
}

/**
 * A Web `Request` or `Response` (of class `Class`) redacted: its headers censored as a `Headers`
 * is, its URL scanned, and its other text scanned: a Request's referrer (a page URL: a callback's
 * `?code=`, a token), a Response's status text (an upstream may echo a token there). Itself when
 * nothing there changed and `force` is false; else a copy (`copyRequest`, `copyResponse`), or the
 * censor when the constructor refuses one.
 */
export function walkFetchMessage(
  w: RedactWalker,
  msg: Request | Response,
  Class: FetchClass,
  nodes: PathNode[] | undefined,
  force: boolean
): unknown {
  const request = Class === FetchRequest
  const headers = walkMultimap(
    w,
    msg.headers as unknown as WebMultimap,
    WebHeaders as unknown as WebMultimapClass,
    nodes === undefined ? undefined : step(nodes, 'headers')
  ) as Headers
  const url = w.redactString(msg.url)
  const text = request ? (msg as Request).referrer : (msg as Response).statusText
  const outText = w.redactString(text)
  if (!force && headers === msg.headers && url === msg.url && outText === text) return msg
  try {
    return request
      ? copyRequest(msg as Request, url, headers, outText)
      : copyResponse(msg as Response, url, headers, outText)
  } catch {
    return w.censor
  }
}

/** A new Request of `req`'s method and options, with these URL, headers and referrer. */
function copyRequest(req: Request, url: string, headers: Headers, referrer: string): Request {
  return new (FetchRequest as typeof Request)(url, {
    method: req.method,
    headers,
    referrer,
    // `navigate` is the browser's own; a constructed Request cannot take it.
    ...(req.mode === 'navigate' ? {} : { mode: req.mode }),
    credentials: req.credentials,
    cache: req.cache,
    redirect: req.redirect,
    referrerPolicy: req.referrerPolicy,
    integrity: req.integrity,
    keepalive: req.keepalive,
  })
}

/**
 * A new Response of `res`'s status, with these headers and status text. `url`, `redirected` and
 * `type` are set by fetch, not by the constructor: the copy carries them (the URL given) as own
 * properties, not enumerable, so `util.inspect` shows them and `JSON.stringify` still prints `{}`.
 */
function copyResponse(res: Response, url: string, headers: Headers, statusText: string): Response {
  const copy = new (FetchResponse as typeof Response)(null, {
    status: res.status,
    statusText,
    headers,
  })
  setHidden(copy, 'url', url)
  setHidden(copy, 'redirected', res.redirected)
  setHidden(copy, 'type', res.type)
  return copy
}

function setHidden(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: false, configurable: true })
}
