import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    'anthropic/index': 'src/anthropic/index.ts',
    'openai/index': 'src/openai/index.ts',
    'estimate/index': 'src/estimate/index.ts',
  },
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'neutral',
  splitting: true,
  external: [/^@aikit\//, '@anthropic-ai/sdk', 'openai', /^node:/],
})
