/**
 * @module errors
 * Errors the queue raises. Provider errors reach `result()` as a `JobFailedError` carrying only
 * client-safe fields (status, type, the queue's own message), never headers, request bodies or the
 * provider's message.
 */
import { AikitError } from '@aikit/core'

/** 404: no such job (never enqueued, expired with its result, or not this subject's). */
export class JobNotFoundError extends AikitError {
  constructor() {
    super('JOB_NOT_FOUND', 404, 'No such LLM job (unknown or expired)')
  }
}

/**
 * 503: the queue object was closed (`queue.close()`). `enqueue`, `result` and `follow` called after
 * it reject with this, and so do the `result()` waiters and `follow()` iterations still running when
 * it closed: the job itself goes on (any other instance's queue object can still follow it).
 */
export class QueueClosedError extends AikitError {
  constructor() {
    super('QUEUE_CLOSED', 503, 'The LLM queue object is closed')
  }
}

/** What a failed job reports: safe to send to a client. */
export interface LlmJobError {
  /** The provider's HTTP status, when the provider answered. */
  readonly status?: number
  /** A stable code: the AikitError code, the provider's error type, else `PROVIDER_<status>` or `PROVIDER_UNREACHABLE` (no answer); `NO_CLIENT` when no worker on the queue has the job's client. */
  readonly code: string
  /** Safe to show: the AikitError's client message, else the queue's text for the status class (never the provider's). */
  readonly message: string
  /** Attempts made (1 = no retry). */
  readonly attempts: number
}

/** 502: the job failed for good (a request error, or every attempt failed). */
export class JobFailedError extends AikitError {
  /** The job's error as recorded by the worker. */
  readonly jobError: LlmJobError
  constructor(jobError: LlmJobError) {
    super('LLM_JOB_FAILED', 502, `The LLM job failed: ${jobError.message}`, { details: jobError })
    this.jobError = jobError
  }
}
