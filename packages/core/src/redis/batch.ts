/**
 * @module redis/batch
 * Automatic batching of script calls: calls of one op issued together (in one turn of the event
 * loop) go to Redis as one `EVALSHA` of a wrapper script that runs the op's body once per call, in
 * order, and returns one reply per call. Under concurrency most of a Redis round trip's cost is per
 * command (client encoding and parsing, a socket write and read on both sides), so this is where a
 * store gets faster than one command per check.
 *
 * Each call still runs atomically (the whole batch does), sees the server clock, and gets its own
 * result or error: the body runs under `pcall`, so one call's error does not fail the others.
 * Only for a single Redis node (or a Sentinel-managed master): on a Cluster the keys of different
 * calls live in different slots, so the store does not batch there. What the wrapper cannot carry
 * as it is still gets the reply it would get alone: a call with many keys and arguments goes
 * alone (`MAX_BATCHED_ARGS`), a long integer reply comes back as an array (`MAX_COMPACT_VALUES`),
 * and a `#!lua` flags line becomes the wrapper's first line.
 *
 * When a call goes: as soon as its op has queued about a third of the calls waiting on this client
 * (queued or sent and not answered yet), those queued calls go out at once, as one script call;
 * whatever is left at the end of the turn goes then. So a lone call is a plain `EVALSHA` sent at
 * once (no added latency), and N callers in a closed loop keep about three script calls of N/3
 * calls out: Redis always has the next one to run while this process handles the replies of the
 * previous one and builds the next. Measured on a 2-core machine against rate-limiter-flexible
 * (one command per check), allowed checks at concurrency 4 / 16 / 64: 0.59x / 0.96x / 1.51x when
 * every call waited for the end of its turn (and an idle flush was split in two), 0.91x / 1.17x /
 * 1.83x with this rule (both builds interleaved in one run; `bench/ratelimit/run.mjs` prints c4,
 * c16 and c64).
 */
import { LUA_NOW_MS } from '../store/define-op.js'
import type { AtomicOp, RedisReply } from '../store/types.js'
import { evalOp, type ScriptClient } from './scripts.js'

interface Pending {
  keys: readonly string[]
  argv: readonly string[]
  resolve: (reply: RedisReply) => void
  reject: (error: unknown) => void
}

/** What the batcher needs of an op: its script and, optionally, its batch fast path. */
type BatchableOp = Pick<AtomicOp<unknown, unknown>, 'lua' | 'batchLua'>

/** A function with `evalOp`'s contract whose calls in one tick share a script call. */
export type BatchedEval = (
  op: BatchableOp,
  keys: readonly string[],
  argv: readonly string[]
) => Promise<RedisReply>

/**
 * Most values in one call's reply for the compact form: the values are passed to `string.format`
 * through `unpack`, which puts them all on the Lua stack, and that stack holds 8000 slots at most
 * (`too many results to unpack`). The check costs nothing per call: it runs only when a reply
 * length is met for the first time in a batch.
 */
const MAX_COMPACT_VALUES = 4096

/**
 * Most keys plus arguments of a call that is batched. The wrapper copies each call's KEYS and ARGV
 * with `unpack`, bounded by the same Lua stack; a call with more goes alone, as a plain `EVALSHA`
 * of its op (its own arguments already amortize the per-command cost batching saves).
 */
export const MAX_BATCHED_ARGS = 1024

/**
 * The end of the wrapper. When every call answered a flat array of integers (what the kit's ops
 * answer), the batch replies with ONE string, `'1,2,3;4,5,6'` (calls split by `;`, values by `,`),
 * instead of an array of arrays: the client then parses one bulk string rather than a typed RESP
 * element per value, which was the largest part of its per-call cost. Otherwise (a string, a
 * status, an error, a nil, a nested table, a number of magnitude 2^52 or more, a reply of more than
 * `MAX_COMPACT_VALUES` values) the batch replies as an array, one reply per call, as Redis would
 * convert each. `%d` truncates toward zero as Redis does when it turns a Lua number into an
 * integer reply; the bound keeps the values where ioredis reads an integer reply exactly (it
 * accumulates digits in a double, so e.g. 2^53 - 1 arrives as 2^53), so both forms give the same
 * numbers.
 */
const COMPACT_REPLY = `local parts = {}
local pats = {}
for c = 1, calls do
  local r = out[c]
  if type(r) ~= 'table' or r.err ~= nil or r.ok ~= nil or r.double ~= nil then return out end
  local m = 0
  while true do
    local v = r[m + 1]
    if v == nil then break end
    if type(v) ~= 'number' or v ~= v or v >= 4503599627370496 or v <= -4503599627370496 then
      return out
    end
    m = m + 1
  end
  local pat = pats[m]
  if pat == nil then
    -- unpack puts every value on Lua's stack (8000 slots at most): a longer reply goes as an array.
    if m > ${MAX_COMPACT_VALUES} then return out end
    if m == 0 then pat = '' else pat = '%d' .. string.rep(',%d', m - 1) end
    pats[m] = pat
  end
  parts[c] = string.format(pat, unpack(r, 1, m))
end
return table.concat(parts, ';')`

/**
 * The wrapper. KEYS = every call's KEYS in order. ARGV, when all calls have the same shape (the
 * usual case: one limiter, one op): `[calls, numKeys, numArgs, shared, ...]` where `shared` is
 * `'1'` when every call has the same ARGV (then sent once: e.g. every cost-1 check of one limiter)
 * and `'0'` when each call's ARGV follows in order. Otherwise `[-calls, (numKeys, numArgs) × calls,
 * ...every call's ARGV]`. The body sees its own `KEYS`/`ARGV` as locals shadowing the globals.
 */
function batchScript(op: BatchableOp): string {
  // A first line `#!lua flags=...` (Redis 7 script flags) must stay the script's first line: it
  // becomes the wrapper's. A batch holds the calls of this op only, so the flags that apply to one
  // call apply to the batch alike (a `no-writes` op makes a `no-writes` batch).
  const { shebang, script } = splitShebang(op.lua)
  // Read the server clock once per batch, not once per call: the calls run back to back inside
  // one script, so they see the same time either way, and TIME is a real cost per call.
  const sharedClock = script.startsWith(LUA_NOW_MS)
  const body = sharedClock ? script.slice(LUA_NOW_MS.length) : script
  // The op's own batch fast path (`batchLua`) runs first; it returns, or falls through to the loop.
  const fastPath = op.batchLua === undefined ? '' : `${op.batchLua}\n`
  return `${shebang}${sharedClock ? LUA_NOW_MS : ''}${fastPath}local function __aikit_body(KEYS, ARGV)
${body}
end
local calls = tonumber(ARGV[1])
local perCall = calls < 0
local shared = false
local nk, na, a = 0, 0, 5
if perCall then
  calls = -calls
  a = 2 + 2 * calls
else
  nk = tonumber(ARGV[2])
  na = tonumber(ARGV[3])
  shared = ARGV[4] == '1'
end
local out = {}
local k = 1
for c = 1, calls do
  if perCall then
    nk = tonumber(ARGV[2 * c])
    na = tonumber(ARGV[2 * c + 1])
  end
  -- A table constructor over unpack sizes each table once (cheaper than growing it per element).
  local ks = {unpack(KEYS, k, k + nk - 1)}
  local as
  if shared then
    as = {unpack(ARGV, 5, 4 + na)}
  else
    as = {unpack(ARGV, a, a + na - 1)}
    a = a + na
  end
  k = k + nk
  local ok, res = pcall(__aikit_body, ks, as)
  if ok then
    if res == nil then res = false end
    out[c] = res
  elseif type(res) == 'table' and res.err then
    out[c] = res
  else
    out[c] = redis.error_reply(tostring(res))
  end
end
${COMPACT_REPLY}`
}

/**
 * Splits a Redis 7 shebang line (`#!lua flags=no-writes`, which Redis reads only as a script's
 * first line) from the rest of the script; `shebang` keeps its newline, `''` when there is none.
 */
function splitShebang(lua: string): { shebang: string; script: string } {
  if (!lua.startsWith('#!')) return { shebang: '', script: lua }
  const end = lua.indexOf('\n')
  if (end === -1) return { shebang: `${lua}\n`, script: '' }
  return { shebang: lua.slice(0, end + 1), script: lua.slice(end + 1) }
}

/** Most calls sent in one script call. */
const MAX_BATCH = 64

/** Into how many script calls the calls waiting on a client are split (see the module comment). */
export const BATCH_SHARES = 3

const wrappers = new WeakMap<object, { readonly lua: string }>()

function wrapperOf(op: BatchableOp): { readonly lua: string } {
  let wrapper = wrappers.get(op)
  if (wrapper === undefined) {
    wrapper = { lua: batchScript(op) }
    wrappers.set(op, wrapper)
  }
  return wrapper
}

// After the current microtasks drain (so every continuation of the replies just read has issued
// its next call), before any I/O.
const defer: (fn: () => void) => void =
  typeof process !== 'undefined' && typeof process.nextTick === 'function'
    ? (fn) => process.nextTick(fn)
    : queueMicrotask

const ZERO = 48
const NINE = 57
const MINUS = 45
const SEMICOLON = 59

/**
 * Resolves each call with its array of integers from a compact batch reply (see `COMPACT_REPLY`).
 * The text holds only digits, `-`, `,` and `;`, and every value is below 2^52 in magnitude, so the
 * digits are summed in place (exact in a double), with no substring or `Number()` per value.
 */
function resolveCompact(reply: string, calls: readonly Pending[]): void {
  let call = 0
  let values: number[] = []
  let value = 0
  let negative = false
  let digits = false
  const length = reply.length
  for (let i = 0; i <= length; i++) {
    const c = i < length ? reply.charCodeAt(i) : SEMICOLON
    if (c >= ZERO && c <= NINE) {
      value = value * 10 + (c - ZERO)
      digits = true
    } else if (c === MINUS) {
      negative = true
    } else {
      if (digits) values.push(negative ? -value : value)
      value = 0
      negative = false
      digits = false
      if (c === SEMICOLON && call < calls.length) {
        ;(calls[call++] as Pending).resolve(values)
        values = []
      }
    }
  }
  for (; call < calls.length; call++) {
    ;(calls[call] as Pending).reject(new Error('redis batch: missing reply'))
  }
}

/** Creates the batcher for one client. */
export function batchedEval(client: ScriptClient): BatchedEval {
  let queue = new Map<BatchableOp, Pending[]>()
  /** Calls queued or sent and not answered yet. */
  let waiting = 0
  /** A flush is deferred to the end of this turn. */
  let scheduled = false
  const settled = (calls: number): void => {
    waiting -= calls
  }

  const send = (op: BatchableOp, calls: Pending[]): void => {
    if (calls.length === 1) {
      const only = calls[0] as Pending
      evalOp(client, op, only.keys, only.argv).then(
        (reply) => {
          settled(1)
          only.resolve(reply)
        },
        (error: unknown) => {
          settled(1)
          only.reject(error)
        }
      )
      return
    }
    const first = calls[0] as Pending
    const nk = first.keys.length
    const na = first.argv.length
    let uniform = true
    let shared = true
    for (let i = 1; i < calls.length && uniform; i++) {
      const call = calls[i] as Pending
      if (call.keys.length !== nk || call.argv.length !== na) uniform = false
      else if (shared && call.argv !== first.argv) {
        for (let j = 0; j < na; j++) {
          if (call.argv[j] !== first.argv[j]) {
            shared = false
            break
          }
        }
      }
    }
    const keys: string[] = []
    let argv: string[]
    if (uniform) {
      argv = [String(calls.length), String(nk), String(na), shared ? '1' : '0']
      if (shared) for (const arg of first.argv) argv.push(arg)
    } else {
      argv = [String(-calls.length)]
      for (const call of calls) argv.push(String(call.keys.length), String(call.argv.length))
    }
    for (const call of calls) {
      for (const key of call.keys) keys.push(key)
      if (!(uniform && shared)) for (const arg of call.argv) argv.push(arg)
    }
    evalOp(client, wrapperOf(op), keys, argv).then(
      (reply) => {
        settled(calls.length)
        if (typeof reply === 'string') {
          resolveCompact(reply, calls)
          return
        }
        for (let i = 0; i < calls.length; i++) {
          const call = calls[i] as Pending
          const one = Array.isArray(reply) ? reply[i] : undefined
          // ioredis hands a nested error reply over as an Error inside the array.
          if ((one as unknown) instanceof Error) call.reject(one)
          else if (one === undefined) call.reject(new Error('redis batch: missing reply'))
          else call.resolve(one)
        }
      },
      (error: unknown) => {
        settled(calls.length)
        for (const call of calls) call.reject(error)
      }
    )
  }

  const flush = (): void => {
    scheduled = false
    const batch = queue
    queue = new Map()
    for (const [op, calls] of batch) send(op, calls)
  }

  return (op, keys, argv) =>
    new Promise<RedisReply>((resolve, reject) => {
      let calls = queue.get(op)
      if (keys.length + argv.length > MAX_BATCHED_ARGS) {
        // Alone (see MAX_BATCHED_ARGS), after the calls of its op queued before it.
        if (calls !== undefined) {
          queue.delete(op)
          send(op, calls)
        }
        waiting++
        send(op, [{ keys, argv, resolve, reject }])
        return
      }
      if (calls === undefined) {
        calls = []
        queue.set(op, calls)
      }
      calls.push({ keys, argv, resolve, reject })
      waiting++
      // A third of the calls waiting (see the module comment). Bounded, so that a burst of
      // thousands becomes several script calls: none holds the (single-threaded) server for long,
      // and one reply stays small.
      if (calls.length >= Math.min(MAX_BATCH, Math.ceil(waiting / BATCH_SHARES))) {
        queue.delete(op)
        send(op, calls)
      } else if (!scheduled) {
        scheduled = true
        defer(flush)
      }
    })
}
