/**
 * @module store
 * Public surface of the store layer (re-exported by `@aikit/core`).
 */
export { defineOp, LUA_NOW_MS, type OpDefinition } from './define-op.js'
export { StoreTimeoutError, StoreUnavailableError } from './errors.js'
export { luaArg, luaToString } from './lua-values.js'
export { type MemoryStore, type MemoryStoreOptions, memoryStore } from './memory.js'
export type {
  AtomicOp,
  JsReply,
  MemoryData,
  MemorySetOptions,
  NativeData,
  RedisReply,
  Store,
  StoreEvent,
  StoreEventInfo,
  StoreSetOptions,
  SyncRun,
} from './types.js'
