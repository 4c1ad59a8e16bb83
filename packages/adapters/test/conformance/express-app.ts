/** The Express app behind the probe (same for Express 4 and 5). */
import type express from 'express'
import type { RequestHandler } from 'express'
import { PROBE_ID_HEADER, routeResult } from './probe.js'

export function buildExpressApp(factory: typeof express, aikit: RequestHandler): express.Express {
  const app = factory()
  app.use(aikit)
  app.get('/route', (req, res) => {
    res.set('x-override', 'route')
    res.vary('Accept-Encoding')
    res.cookie('route', '1')
    res.json(routeResult(req.get(PROBE_ID_HEADER)))
  })
  app.get('/plain', (_req, res) => {
    res.end('plain')
  })
  app.post('/body-route', factory.json(), (req, res) => {
    res.json({ routeBody: req.body as unknown })
  })
  return app
}
