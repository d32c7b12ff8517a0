// The handlers' metrics by name, with nothing else: the construct's alarms and the package's API
// import them without the handlers' dependencies.

/** Service name (Powertools `service` dimension) and CloudWatch namespace of the handlers' metrics. */
export const SERVICE_NAME = 'ses-bouncer';
export const METRICS_NAMESPACE = 'SesBouncer';

/**
 * The pipeline's metrics (CloudWatch EMF in Lambda), one source for the handlers and for the
 * construct's alarms and dashboard, so that renaming one cannot leave an alarm watching nothing.
 */
export const MetricName = {
  /** Receipt: recipients delivered, dropped, guarded, queued for a bounce. */
  Delivered: 'Delivered',
  Dropped: 'Dropped',
  Guarded: 'Guarded',
  Queued: 'Queued',
  /**
   * Receipt: recipients outside the policy's `accept` that reached the function. SES refuses
   * them at RCPT TO unless another receipt rule of the active set lists them: seeing one means
   * the deployment does not refuse what the policy says it does (docs/refusal.md).
   */
  Refused: 'Refused',
  /**
   * Audit: what keeps SES from refusing what `accept` leaves out (a rule of the active set that
   * lists more, a rule without recipients, the bouncer's rules inactive), one per finding.
   */
  AcceptBypassed: 'AcceptBypassed',
  /** Receipt: a bounce that could not be queued; the message was delivered instead (fail open). */
  NotQueued: 'NotQueued',
  /** Delivery: a recipient another job already bounces (a duplicate receipt invocation or a second rule). */
  ClaimConflict: 'ClaimConflict',
  Sent: 'Sent',
  Throttled: 'Throttled',
  Rejected: 'Rejected',
  Expired: 'Expired',
  Unknown: 'Unknown',
  /** Delivery: a job handed back to the queue to be tried again later. */
  Retried: 'Retried',
  /** Delivery: a job parked in the dead-letter queue (its own retries exhausted, or unreadable). */
  DeadLettered: 'DeadLettered',
  Errors: 'Errors',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];
