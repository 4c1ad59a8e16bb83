/**
 * @module route-cookies
 * Call `ctx[ROUTE_COOKIES]?.()` before `next()` when a decision made from the response head needs
 * every cookie the route sets: `cacheResponse` never stores a response that sets one (it would
 * replay one visitor's session to the next). An adapter whose framework adds cookies after the
 * route returned its response implements it: Next appends the cookies a route handler set with
 * `cookies().set()` once `withAikit` has handed the Response over, so the middleware would see a
 * head without them; asked, `withAikit` reads them first and puts them on the head (as Next would,
 * the route's own Set-Cookie of the same name wins). Adapters whose head already holds every
 * cookie (node:http, Express, Fastify) do not implement it. A registry symbol, like `BODY_POLICY`.
 */
export const ROUTE_COOKIES: unique symbol = Symbol.for('@aikit/core.route-cookies') as never
