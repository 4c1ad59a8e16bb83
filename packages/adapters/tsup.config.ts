import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    'express/index': 'src/express/index.ts',
    'fastify/index': 'src/fastify/index.ts',
    'next/index': 'src/next/index.ts',
    'node/index': 'src/node/index.ts',
  },
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'es2022',
  splitting: true,
  external: [/^@aikit\//, 'express', 'fastify', 'fastify-plugin', /^next(\/|$)/],
})
