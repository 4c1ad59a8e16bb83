import { createServer } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import express from 'express'
import { runConformance } from './conformance/cases.js'
import { buildExpressApp } from './conformance/express-app.js'
import { listen } from './conformance/listen.js'

runConformance('express 5', async ({ middleware, options }) =>
  listen(createServer(buildExpressApp(express, toExpress(...middleware, options))))
)
