// Types of app.mjs (the example itself is plain JavaScript).
import type { ChatKit } from '@aikit/example-chat-kit'
import type { FastifyInstance } from 'fastify'

/** The Fastify instance of a kit, ready but not listening; default kit: `createChatKit(process.env)`. */
export function buildApp(kit?: ChatKit): Promise<FastifyInstance>
