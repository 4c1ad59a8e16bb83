/**
 * @module current-context
 * The running request's Context through AsyncLocalStorage, without importing `node:` modules:
 * the main entry stays edge-safe. On Node the storage comes from `process.getBuiltinModule`
 * (Node 20.16+); on Edge runtimes from the global `AsyncLocalStorage` they expose.
 */
import { emitProcessWarning } from './process-warning.js'
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

// Set once anything in the process reads the context; shared by every loaded copy of the package.
const DEMAND_KEY = Symbol.for('@aikit/core.context-demand')

// On Node, AsyncLocalStorage costs every request that enters a scope: Node 20 implements it with
// async hooks (a hook call on every promise, tick and timer of the process, ~6 µs per request behind
// Fastify here), and even Node 24's AsyncContextFrame measured ~2 µs per request (five no-op
// middleware on Fastify: 0.84x the bare route scoped, 0.93x not; bench/protocol). So on Node,
// `'auto'` scopes requests only once something declared that it reads the context. Runtimes
// without `process` (edge) keep their own cheap storage and always scope.
const cheapStorage = (() => {
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions
    ?.node
  return node === undefined
})()

/**
 * Declares that code in this process reads `currentContext()`, so adapters whose `asyncContext`
 * option is `'auto'` (the default) run each request in its AsyncLocalStorage scope. The kit's
 * parts that read the context (LLM wrappers, the logger, Sentry) call it when they are created;
 * call it at startup if your own code reads `currentContext()` and none of them is in use.
 */
export function requireAsyncContext(): void {
  ;(globalThis as Record<symbol, unknown>)[DEMAND_KEY] = true
}

/** Whether `'auto'` adapters scope requests: the runtime's storage is cheap, or something needs it. */
export function asyncContextRequested(): boolean {
  return cheapStorage || (globalThis as Record<symbol, unknown>)[DEMAND_KEY] === true
}

// Set once the late-declaration warning was emitted (shared by every loaded copy of the package).
const WARNED_KEY = Symbol.for('@aikit/core.context-warned')

/**
 * The Context of the request running now, or undefined outside a request (or where the runtime has
 * no AsyncLocalStorage). Reading it also declares the need (`requireAsyncContext()`), so with the
 * adapters' `asyncContext: 'auto'` on Node the requests that start afterwards are scoped.
 *
 * A first read that finds no scope while nothing had declared the need emits one process warning
 * (`AIKIT_ASYNC_CONTEXT`): if that read ran inside a request, the request was not scoped, and the
 * fix is `requireAsyncContext()` at startup (or `asyncContext: true` on the adapter). Silently
 * answering `undefined` on the first requests only would be a trap.
 */
export function currentContext(): Context | undefined {
  const g = globalThis as Record<symbol, unknown>
  const declared = g[DEMAND_KEY] === true
  if (!declared) g[DEMAND_KEY] = true
  const ctx = storage()?.getStore()
  if (!declared && ctx === undefined && !cheapStorage) warnUndeclared(g)
  return ctx
}

function warnUndeclared(g: Record<symbol, unknown>): void {
  if (g[WARNED_KEY] === true) return
  g[WARNED_KEY] = true
  emitProcessWarning(
    "currentContext() was read before anything called requireAsyncContext(): with the adapters' " +
      "default asyncContext: 'auto', requests that started before this read run without an " +
      'AsyncLocalStorage scope, so a read inside one of them gets undefined. Call ' +
      "requireAsyncContext() from '@aikit/core' at startup, or pass asyncContext: true to the adapter.",
    'AIKIT_ASYNC_CONTEXT'
  )
}

/**
 * The context of the running scope without declaring any need for it (what `currentContext()`
 * answers, minus `requireAsyncContext()` and its warning): for adapters checking whether they are
 * already inside a request's scope.
 */
export function scopedContext(): Context | undefined {
  return storage()?.getStore()
}

/** Runs `fn` with `ctx` as the current context. Adapters call this once per request. */
export function runWithContext<R>(ctx: Context, fn: () => R): R {
  const s = storage()
  return s ? s.run(ctx, fn) : fn()
}
