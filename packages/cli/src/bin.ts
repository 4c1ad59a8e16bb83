#!/usr/bin/env node
/**
 * @module bin
 * The `aikit` executable.
 */
import { main } from './main.js'

const code = await main(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
})
process.exitCode = code
