// serveClusterMetrics lets a forked process exit once nothing is served.
import { fork } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { buildFixture } from './fixtures/build.js'

/** Forks `script` with an IPC channel; resolves true once it exits, false if still alive after 5 s. */
function exitsByItself(script: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = fork(script, [], { stdio: 'ignore' })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve(false)
    }, 5000)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve(signal === null && code === 0)
    })
  })
}

describe('serveClusterMetrics leaves nothing behind once stopped', () => {
  // Promise: `serveClusterMetrics(metrics)`: "In a cluster worker (or any process forked with an
  // IPC channel): answers the primary's scrape requests ... Returns a function that stops answering
  // for this instance" (packages/observability/src/cluster-metrics.ts:49-53). Once every instance
  // stopped, nothing of it should keep the process alive: a forked process whose work is done
  // exits when its event loop is empty (Node unrefs the IPC channel while the process has no
  // 'message' listener; checked: the same child without the kit's call exits at once).
  // Before the fix: the first call adds a `process.on('message', ...)` listener that is never removed,
  // whatever the stop functions do; the listener refs the IPC channel, so the forked child never
  // exits by itself (here: still alive after 5 s, killed).
  // The cause was packages/observability/src/cluster-metrics.ts:63 (the listener is installed once per
  // process and the returned stop only deletes the registry, cluster-metrics.ts:79-81). Fix: remove
  // the listener (and the global state) when the last registry is removed, re-adding it on the
  // next call.
  it('a forked process that stopped serving its metrics exits by itself', async () => {
    const script = await buildFixture('cluster-ipc-stop')
    expect(await exitsByItself(script)).toBe(true)
  }, 30_000)
})
