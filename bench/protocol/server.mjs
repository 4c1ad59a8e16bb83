// One benchmark server per process: `node server.mjs <variant>` sends its port to bench/lib/http-bench.mjs
// (serveControl). The variants are app.mjs's.

import { serveControl } from '../lib/http-bench.mjs'
import { startApp } from './app.mjs'

serveControl(await startApp(process.argv[2] ?? ''))
