/**
 * @module processes
 * Internal (no subpath export): bookkeeping of the server processes and temp dirs that
 * `./redis` and `./sentinel` start, so none outlives the test process that started it.
 *
 * - A normal exit (`process.exit()`, the event loop running dry) kills them from an `exit` hook.
 * - Any other end of the test process (SIGTERM, SIGINT, SIGKILL, a crash, a worker torn down)
 *   runs no JavaScript, so a watchdog does it: a tiny `node` child with a stdin pipe from this
 *   process, told every pid and dir to clean up. When this process dies, however it dies, the
 *   kernel closes the pipe; the watchdog sees end-of-file, SIGKILLs the pids it still knows and
 *   removes the dirs. It ignores SIGINT/SIGTERM/SIGHUP so that a signal sent to the whole process
 *   group (Ctrl-C) does not stop it before it has cleaned up. No signal handler is installed in
 *   the test process itself: its own reaction to signals stays the default one (or its runner's).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'

const liveProcesses = new Set<ChildProcess>()
const liveDirs = new Set<string>()
let exitHookInstalled = false
/** The watchdog: undefined until first needed, null if it could not be started. */
let watchdog: ChildProcess | null | undefined

/**
 * The watchdog's program (CommonJS, run with `node -e`). Lines on stdin: `+p <pid>`, `-p <pid>`,
 * `+d <dir>`, `-d <dir>`. On end-of-file (or a read error) it SIGKILLs every pid still listed,
 * removes every dir still listed and exits.
 */
const WATCHDOG_SOURCE = `
const pids = new Set(), dirs = new Set()
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => {})
let buffer = '', finished = false
const finish = () => {
  if (finished) return
  finished = true
  for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL') } catch {} }
  for (const dir of dirs) { try { require('node:fs').rmSync(dir, { recursive: true, force: true }) } catch {} }
  process.exit(0)
}
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => {
  buffer += chunk
  for (let end = buffer.indexOf('\\n'); end !== -1; end = buffer.indexOf('\\n')) {
    const line = buffer.slice(0, end)
    buffer = buffer.slice(end + 1)
    const set = line[1] === 'p' ? pids : dirs
    if (line[0] === '+') set.add(line.slice(3))
    else set.delete(line.slice(3))
  }
})
process.stdin.on('end', finish)
process.stdin.on('error', finish)
`

function startWatchdog(): ChildProcess | null {
  try {
    const env = { ...process.env }
    // The test runner's preloads are not for the watchdog.
    delete env.NODE_OPTIONS
    const child = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], {
      stdio: ['pipe', 'ignore', 'ignore'],
      env,
    })
    child.on('error', () => {
      if (watchdog === child) watchdog = null
    })
    child.stdin?.on('error', () => {})
    // Neither the watchdog nor its pipe keeps the test process alive.
    child.unref()
    ;(child.stdin as unknown as { unref?: () => void } | null)?.unref?.()
    return child
  } catch {
    return null
  }
}

/** Tells the watchdog one line (started on first use). Best effort: the exit hook is the fallback. */
function tell(line: string): void {
  if (watchdog === undefined) watchdog = startWatchdog()
  const stdin = watchdog?.stdin
  if (stdin && !stdin.destroyed) stdin.write(`${line}\n`)
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of liveProcesses) child.kill('SIGKILL')
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true })
  })
}

/**
 * Registers a freshly spawned server process: it is SIGKILLed when the test process ends, however
 * it ends, unless it has exited before. Unregisters itself on exit.
 */
export function trackProcess(child: ChildProcess): void {
  installExitHook()
  const pid = child.pid
  if (pid === undefined) return // spawn failed: the 'error' event follows, nothing to kill
  liveProcesses.add(child)
  tell(`+p ${pid}`)
  const forget = () => {
    if (!liveProcesses.delete(child)) return
    tell(`-p ${pid}`)
  }
  child.once('exit', forget)
  child.once('error', forget)
}

/** Registers a temp dir: it is removed when the test process ends, unless `untrackDir` ran first. */
export function trackDir(dir: string): void {
  installExitHook()
  liveDirs.add(dir)
  tell(`+d ${dir}`)
}

/** Removes a temp dir now and forgets it. */
export function removeTrackedDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  if (liveDirs.delete(dir)) tell(`-d ${dir}`)
}
