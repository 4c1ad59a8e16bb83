/**
 * @module hand-over
 * What a worker closed with `close(true)` does with a run it aborted: it puts the job straight back
 * to waiting (BullMQ's `moveToWait` with the run's lock token), so the next worker takes it at once
 * and from the start. Leaving it active for the stalled-job check instead would count the deploy as
 * a stall: with `maxStalledCount: 0` BullMQ would fail the job (`JOB_LOST`) rather than run it.
 * Nothing is published or released for the run: a final event now would be contradicted by the
 * next one.
 */
import { DelayedError, type Job } from 'bullmq'

/**
 * Moves `job` back to waiting and returns the `DelayedError` the processor throws (BullMQ then
 * leaves the job where the move put it). When Redis does not answer within `giveUpMs`, this stops
 * waiting: a move that lands later still moves the job, and one that never lands leaves it active,
 * for the stalled-job check once its lock lapses, as for a worker that died.
 */
export async function handOver(
  job: Job,
  token: string | undefined,
  giveUpMs: number,
  report: (error: unknown) => void
): Promise<DelayedError> {
  // Without its lock token the move would not check whose the job is: leave it to the stall check.
  if (token !== undefined) {
    const moved = job.moveToWait(token).then(() => undefined, report)
    let timer: ReturnType<typeof setTimeout> | undefined
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, giveUpMs)
      timer.unref?.()
    })
    await Promise.race([moved, gaveUp])
    clearTimeout(timer)
  }
  return new DelayedError('Worker closed mid-run: the job is handed over to the next worker')
}
