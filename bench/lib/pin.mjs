// `--pin` for the HTTP benchmarks: the load generator (this process, autocannon included) runs on
// CPU 0 and every server it spawns on CPU 1, so the two stop competing for the same core. On a
// shared 2-core VM that makes the server's CPU per request (the "capacity" columns) repeatable
// from run to run; req/s then measures the load generator rather than the server, so read the
// capacity ratios. Off by default (the published figures are unpinned).
import { execFileSync } from 'node:child_process'

/** Whether `--pin` was given. */
export const pinned = process.argv.includes('--pin')

if (pinned) {
  try {
    execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' })
  } catch {
    throw new Error('--pin needs `taskset` (util-linux) and at least 2 CPUs')
  }
}

/** The command and arguments that run `node ...args` for a server (on CPU 1 under `--pin`). */
export function serverCommand(args) {
  return pinned ? ['taskset', ['-c', '1', process.execPath, ...args]] : [process.execPath, args]
}

/** One line for a report's header saying how the processes were placed. */
export function placementNote() {
  return pinned
    ? 'pinned (--pin): load generator on CPU 0, servers on CPU 1; req/s is bounded by the load generator, read the capacity ratios'
    : 'unpinned: the load generator and the server share the CPUs (--pin separates them)'
}
