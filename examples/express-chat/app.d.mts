// Types of app.mjs (the example itself is plain JavaScript).
import type { RequestListener } from 'node:http'
import type { ChatKit } from '@aikit/example-chat-kit'

/** The Express app of a kit (not listening); default kit: `createChatKit(process.env)`. */
export function createApp(kit?: ChatKit): RequestListener
