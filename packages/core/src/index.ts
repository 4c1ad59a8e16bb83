/**
 * @module @aikit/core
 * The middleware protocol every AI Kit package and adapter shares. Edge-safe: no `node:` import.
 */
export { compose } from './compose.js'
export { currentContext, requireAsyncContext } from './current-context.js'
export {
  AikitError,
  type ErrorBody,
  errorBody,
  errorHeaders,
  errorStatus,
  InternalError,
  InvalidOptionsError,
  InvalidRequestError,
  isAikitError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from './errors.js'
export { onFinished } from './lifecycle.js'
export {
  type AtomicOp,
  defineOp,
  type JsReply,
  LUA_NOW_MS,
  luaArg,
  luaToString,
  type MemoryData,
  type MemorySetOptions,
  type MemoryStore,
  type MemoryStoreOptions,
  memoryStore,
  type NativeData,
  type OpDefinition,
  type RedisReply,
  type Store,
  type StoreEvent,
  type StoreEventInfo,
  type StoreSetOptions,
  StoreTimeoutError,
  StoreUnavailableError,
  type SyncRun,
} from './store/index.js'
export type { TrustProxy } from './trust-proxy.js'
export type {
  AikitState,
  BodyLimits,
  Context,
  FinishInfo,
  Middleware,
  Next,
  ResponseBody,
} from './types.js'
