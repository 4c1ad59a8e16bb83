// A shared cache tier that stops answering while a test holds it (a stalled Redis), and a way to
// see what a call settled with while it is still held.
import type { Store } from '@aikit/core'
import { until } from './helpers.js'

/**
 * `base` whose `get` waits, while held, until `release()`: a shared tier that has stopped
 * answering for a while. `reached` resolves once a `get` is waiting; `waiting` is how many are;
 * `answered` once every held `get` has its value.
 */
export function slowStore(base: Store) {
  let open: Promise<void> | undefined
  let release = (): void => {}
  let reached = (): void => {}
  let reachedP = Promise.resolve()
  let held = 0
  const waiting: Promise<unknown>[] = []
  const store = new Proxy(base, {
    get(target, prop) {
      if (prop === 'get') {
        return (key: string) => {
          if (open === undefined) return target.get(key)
          reached()
          held++
          const value = open.then(() => {
            held--
            return target.get(key)
          })
          waiting.push(value)
          return value
        }
      }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return {
    store,
    hold() {
      open = new Promise((resolve) => {
        release = () => {
          open = undefined
          resolve()
        }
      })
      reachedP = new Promise((resolve) => (reached = resolve))
    },
    get reached() {
      return reachedP
    },
    get waiting() {
      return held
    },
    release: () => release(),
    /** Every held `get` answered, and what runs on its answer (a few turns later) done. */
    async answered() {
      await Promise.all(waiting)
      await new Promise((resolve) => setTimeout(resolve, 10))
    },
  }
}

/** What `promise` settled with, once it has (the lookup still held): fails if it never does. */
export async function settled(promise: Promise<unknown>): Promise<unknown> {
  let outcome: { value: unknown } | undefined
  promise.then(
    (value) => (outcome = { value }),
    (error: unknown) => (outcome = { value: error })
  )
  await until(() => outcome !== undefined)
  return outcome?.value
}
