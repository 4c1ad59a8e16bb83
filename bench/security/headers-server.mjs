// One benchmark server per process for bench/security/headers.mjs:
// `node headers-server.mjs <framework>-<mode>` sends its port to bench/lib/http-bench.mjs
// (serveControl). The variants are in headers-app.mjs.
import { serveControl } from '../lib/http-bench.mjs'
import { startApp } from './headers-app.mjs'

serveControl(await startApp(process.argv[2] ?? ''))
