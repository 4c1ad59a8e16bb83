/**
 * @module process-warning
 * One process warning, edge-safe: no `node:` import, and nothing happens where the runtime has no
 * `process.emitWarning` (edge runtimes, browsers).
 */

type EmitWarning = (message: string, options: { code: string }) => void

/**
 * Emits `message` through `process.emitWarning` with `code`, where that exists; otherwise does
 * nothing and does not throw. `process` is looked up on every call (not captured at load), so a
 * runtime or test that replaces it is honoured. Emitting only once is the caller's job: the kit's
 * warnings differ in what "once" means (per process, per middleware).
 */
export function emitProcessWarning(message: string, code: string): void {
  const proc = (globalThis as { process?: { emitWarning?: EmitWarning } }).process
  proc?.emitWarning?.(message, { code })
}
