/**
 * Run before every test file of the `shared` project (vitest.config.ts), whose files share their
 * worker's process: a file that leaves process.env changed, or initialises Sentry (a client on
 * globalThis for good), would change the files that run after it there, depending on the order
 * the workers happen to take them in. Such a file fails here, naming what it left behind.
 */
import { afterAll } from 'vitest'

// Taken as this module runs, before the test file is imported (vitest runs it again per file).
const envBefore: Record<string, string | undefined> = { ...process.env }
const sentryBefore = '__SENTRY__' in globalThis

afterAll(() => {
  const changed = [...new Set([...Object.keys(envBefore), ...Object.keys(process.env)])].filter(
    (name) => envBefore[name] !== process.env[name]
  )
  if (changed.length > 0)
    throw new Error(
      `this file left process.env changed (${changed.sort().join(', ')}): put the values back in ` +
        'an afterAll, or list the file in ISOLATED_TESTS (vitest.config.ts)'
    )
  if (!sentryBefore && '__SENTRY__' in globalThis)
    throw new Error(
      'this file loaded Sentry, whose state lives on globalThis: list it in ISOLATED_TESTS ' +
        '(vitest.config.ts)'
    )
})
