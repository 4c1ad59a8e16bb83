/**
 * @module redis/monotonic
 * A monotonic clock in milliseconds, for measuring elapsed time: `performance.now()` where the
 * runtime has it (Node, Bun, Deno, workers, browsers), else `Date.now`. The wall clock is no
 * measure of elapsed time: an NTP step or a VM resume sets it back or forward at once, and a
 * timeout, an open circuit or a measurement's age would then last as much longer or shorter.
 */
export const monotonicNow: () => number =
  typeof performance !== 'undefined' && typeof performance.now === 'function'
    ? () => performance.now()
    : Date.now
