/**
 * @module fastify/inject
 * What the Fastify context does differently for a request made with `app.inject()`, whose
 * response is light-my-request's `ServerResponse` subclass (many apps test with it).
 */
import type { ServerResponse } from 'node:http'

/** light-my-request's response marks itself. */
type InjectedResponse = ServerResponse & { isLightMyRequest?: boolean }

type End = (this: ServerResponse, data?: unknown, encoding?: unknown, cb?: unknown) => unknown
type Write = (this: ServerResponse, data: unknown, encoding?: unknown, cb?: unknown) => boolean

/** Whether `res` is the response of an `app.inject()` request. */
export function isInjected(res: ServerResponse): boolean {
  return (res as InjectedResponse).isLightMyRequest === true
}

/**
 * Whether an injected response's 'close' ends a complete response: light-my-request ends one by
 * emitting 'finish' itself and destroying it, so 'close' comes with `writableFinished` false
 * although the whole body was handed over (`writableEnded`).
 */
export function injectedEnded(res: ServerResponse): boolean {
  return isInjected(res) && res.writableEnded
}

/**
 * light-my-request's `end(data)` writes `data` through `this.write`: once a body transform has
 * patched `write` on the response (see NodeContext.transformBody), the transformed bytes the
 * transform hands to the native `end` went back into the transform, already ended, and were
 * dropped (compress() answered an empty gzip body, cacheResponse an empty MISS). Before that
 * patch, the injected response gets an `end` that writes `data` with light-my-request's own
 * `write`, then ends as it does. Once per response (a patched `end` is an own property).
 */
export function endWithOwnWrite(res: ServerResponse): void {
  if (!isInjected(res) || Object.hasOwn(res, 'end')) return
  const proto = Object.getPrototypeOf(res) as { write: Write; end: End }
  const write = proto.write
  const end = proto.end
  ;(res as unknown as { end: End }).end = function injectedEnd(data, encoding, cb) {
    if (typeof data === 'function') return end.call(this, data)
    const callback = typeof encoding === 'function' ? encoding : cb
    if (data) write.call(this, data, typeof encoding === 'function' ? undefined : encoding)
    return end.call(this, callback)
  }
}
