// Quickstart server: `node server.mjs` (PORT and HOST from the environment).
import { createServer } from 'node:http'
import { app } from './app.mjs'
import { modelName } from './model.mjs'

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'
const server = createServer(app)
server.listen(port, host, () => {
  process.stdout.write(`AI Kit quickstart on http://${host}:${port} (model: ${modelName()})\n`)
})
