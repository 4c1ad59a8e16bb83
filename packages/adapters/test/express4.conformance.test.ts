import { createServer } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import express4 from 'express4'
import { runConformance } from './conformance/cases.js'
import { buildExpressApp } from './conformance/express-app.js'
import { listen } from './conformance/listen.js'

runConformance('express 4', async ({ middleware, options }) =>
  listen(createServer(buildExpressApp(express4, toExpress(...middleware, options))))
)
