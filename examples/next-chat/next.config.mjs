// Next.js configuration of the chat example.
//
// Bundler: webpack (`next dev --webpack`, `next build --webpack`), not Turbopack. Both build this
// app (it imports the BUILT @aikit packages, their dist/ ESM, like a user's app from npm), but on
// the project's 2-core CI machines a cold Turbopack production build took 3.7 min of compile
// against 55 s for webpack, and the end-to-end test builds the app.
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** @type {import('next').NextConfig} */
const nextConfig = {
  // The pnpm workspace root, where the symlinked @aikit packages and their dependencies live.
  outputFileTracingRoot: root,
  // securityHeaders() (proxy.ts) cannot remove a header Next adds itself.
  poweredByHeader: false,
  // gzip would buffer the server-sent events of /api/chat; compress in front (CDN, proxy) instead.
  compress: false,
  // The end-to-end test sets NEXT_CHAT_SKIP_TRACING=1: file tracing lists what a deployment copies
  // (the .nft.json files a host such as Vercel reads), which a local `next start` never needs, and
  // it was ~30% of the build's CPU here. Leave it on for a build you deploy.
  ...(process.env.NEXT_CHAT_SKIP_TRACING === '1' && {
    outputFileTracingExcludes: { '*': ['**/*'] },
  }),
  typescript: {
    // `next build` type-checks the app. The end-to-end test sets NEXT_CHAT_SKIP_TYPECHECK=1: there
    // the types are `pnpm typecheck`'s job, and a package being rebuilt next door must not fail it.
    ignoreBuildErrors: process.env.NEXT_CHAT_SKIP_TYPECHECK === '1',
  },
}

export default nextConfig
