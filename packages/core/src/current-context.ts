/**
 * @module current-context
 * The running request's Context through AsyncLocalStorage, without importing `node:` modules:
 * the main entry stays edge-safe. On Node the storage comes from `process.getBuiltinModule`
 * (Node 20.16+); on Edge runtimes from the global `AsyncLocalStorage` they expose.
 */
import type { Context } from './types.js'

interface Storage {
  run<R>(store: Context, fn: () => R): R
  getStore(): Context | undefined
}

type StorageClass = new () => Storage

// One storage per process, shared by every copy of this package that is loaded (two versions of
// @aikit/core in node_modules must still see each other's context).
const GLOBAL_KEY = Symbol.for('@aikit/core.context-storage')

function findStorageClass(): StorageClass | undefined {
  const g = globalThis as { AsyncLocalStorage?: StorageClass; process?: unknown }
  if (typeof g.AsyncLocalStorage === 'function') return g.AsyncLocalStorage
  const proc = g.process as
    | { getBuiltinModule?: (id: string) => { AsyncLocalStorage?: StorageClass } | undefined }
    | undefined
  const hooks = proc?.getBuiltinModule?.('node:async_hooks')
  return hooks?.AsyncLocalStorage
}

function storage(): Storage | null {
  const g = globalThis as Record<symbol, Storage | null | undefined>
  let s = g[GLOBAL_KEY]
  if (s === undefined) {
    const Ctor = findStorageClass()
    s = Ctor ? new Ctor() : null
    g[GLOBAL_KEY] = s
  }
  return s
}

/** The Context of the request running now, or undefined outside a request (or where the runtime has no AsyncLocalStorage). */
export function currentContext(): Context | undefined {
  return storage()?.getStore()
}

/** Runs `fn` with `ctx` as the current context. Adapters call this once per request. */
export function runWithContext<R>(ctx: Context, fn: () => R): R {
  const s = storage()
  return s ? s.run(ctx, fn) : fn()
}
