/**
 * @module validate-request
 * The public surface of the request-data middleware (`bodyLimit`, `validate`) and their errors,
 * gathered so the package index re-exports them from one place.
 */
export { type BodyLimitOptions, bodyLimit } from './body-limit.js'
export { RequestValidationError, type ValidationIssue } from './data-errors.js'
export {
  type ValidateMiddleware,
  type ValidateOptions,
  validate,
  type ZodLikeIssue,
  type ZodLikeSchema,
} from './validate.js'
export type { ValidatedParts } from './validate-state.js'
