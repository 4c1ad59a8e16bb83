import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    adapter: 'src/adapter.ts',
    'redis/index': 'src/redis/index.ts',
    'env/index': 'src/env/index.ts',
    'compress/index': 'src/compress/index.ts',
  },
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'neutral',
  splitting: true,
  external: ['ioredis', 'zod', /^node:/],
  // Keep the `node:` prefix (tsup strips it by default): Node-only subpaths should say so.
  removeNodeProtocol: false,
})
