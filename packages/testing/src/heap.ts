/**
 * @module heap
 * Forced garbage collection for tests that bound what a long-running process keeps (memo caches,
 * listeners on long-lived signals): V8's `gc` without starting Node with `--expose-gc`.
 */
import v8 from 'node:v8'
import vm from 'node:vm'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

/** Runs a full garbage collection. */
export function collectGarbage(): void {
  gc()
}

/** The heap in use after two full collections (the second frees what the first's finalisers let go). */
export function heapAfterGc(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
