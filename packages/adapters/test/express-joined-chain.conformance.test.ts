/**
 * The conformance suite with the probe's chain run as a later `toExpress` chain, on the Context an
 * app-level `toExpress` built for the request (Express 5 and 4): the response lifecycle contract
 * (headers before the head, onHeaders with the final status, `await next()` at the head,
 * `finished`, errors, bodies, IPs, `currentContext()`) holds for a chain that joins a Context as for
 * the chain that built it. Both calls get the same options: the Context keeps the first call's.
 */
import { createServer } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import type { Middleware } from '@aikit/core'
import express from 'express'
import express4 from 'express4'
import { runConformance } from './conformance/cases.js'
import { buildExpressApp } from './conformance/express-app.js'
import { listen } from './conformance/listen.js'

const pass: Middleware = (_ctx, next) => next()

for (const [name, factory] of [
  ['express 5', express],
  ['express 4', express4],
] as const) {
  runConformance(`${name}, probe chain joining an app-level chain's Context`, async (input) => {
    const layers = factory.Router()
    layers.use(toExpress(pass, input.options), toExpress(...input.middleware, input.options))
    return listen(createServer(buildExpressApp(factory, layers)))
  })
}
