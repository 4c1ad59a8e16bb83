/**
 * @module invalid-field
 * The field an `InvalidOptionsError` (from `@aikit/core`) names, for the tests that check which
 * option a factory or a call refuses: `expect(invalidField(() => make({ ttl: 0 }))).toBe('ttl')`.
 *
 * The error is recognised by its shape (`code === 'INVALID_OPTIONS'` and a string `field`), not
 * by `instanceof`: this package does not depend on `@aikit/core`, and a test may meet the class
 * of the built package and the one of its sources side by side.
 */

/** The shape of an `InvalidOptionsError`, as far as these helpers read it. */
interface InvalidOptionsLike {
  code: 'INVALID_OPTIONS'
  field: string
}

function isInvalidOptions(error: unknown): error is InvalidOptionsLike {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === 'INVALID_OPTIONS' &&
    typeof (error as { field?: unknown }).field === 'string'
  )
}

/**
 * Runs `fn` and returns the `field` of the `InvalidOptionsError` it throws.
 *
 * @returns `undefined` when `fn` returns without throwing (so `.toBe('ttl')` fails on it).
 * @throws Any other error `fn` throws, unchanged: the test fails with the real error.
 */
export function invalidField(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    if (isInvalidOptions(error)) return error.field
    throw error
  }
  return undefined
}

/**
 * Awaits `p` (or the promise `p()` returns) and returns the `field` of the `InvalidOptionsError`
 * it rejects with. A function that throws synchronously counts as rejecting.
 *
 * @returns `undefined` when the promise resolves.
 * @throws Any other rejection reason, unchanged: the test fails with the real error.
 */
export async function rejectedField(
  p: Promise<unknown> | (() => Promise<unknown>)
): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (error) {
    if (isInvalidOptions(error)) return error.field
    throw error
  }
  return undefined
}
