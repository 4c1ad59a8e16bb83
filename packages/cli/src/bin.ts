#!/usr/bin/env node
/**
 * @module bin
 * The `aikit` executable.
 */
import { main } from './main.js'

/** Resolves once everything written to `stream` so far has been handed to the OS (or failed). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((done) => {
    stream.write('', () => done())
  })
}

const code = await main(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
})
process.exitCode = code
// The config module may open handles the doctor does not own (a `redisStore(new Redis(url))`
// exported as the app passes it to the kit): once the report is out, exit instead of waiting
// for them to close.
await Promise.all([flushed(process.stdout), flushed(process.stderr)])
process.exit(code)
