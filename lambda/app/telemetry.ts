import type { Logger } from '@aws-lambda-powertools/logger';

/** The pipeline's metrics (CloudWatch EMF in Lambda); the dashboard and alarms read these names. */
export const MetricName = {
  Delivered: 'Delivered',
  Dropped: 'Dropped',
  Guarded: 'Guarded',
  Queued: 'Queued',
  ClaimConflict: 'ClaimConflict',
  Sent: 'Sent',
  Throttled: 'Throttled',
  Rejected: 'Rejected',
  Expired: 'Expired',
  Unknown: 'Unknown',
  Errors: 'Errors',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** Counts, optionally split by one dimension (Guarded by Guard). */
export interface MetricsPort {
  count(name: MetricName, value?: number, dimension?: { readonly name: string; readonly value: string }): void;
}

/** The structured log lines the handlers write; Powertools' Logger fits it. */
export type LogPort = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;

/** Keeps counts in memory: the local pipeline's summary and the tests read them. */
export class MemoryMetrics implements MetricsPort {
  readonly counts = new Map<string, number>();

  count(name: MetricName, value = 1, dimension?: { readonly name: string; readonly value: string }): void {
    const key = dimension ? `${name}.${dimension.value}` : name;
    this.counts.set(key, (this.counts.get(key) ?? 0) + value);
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}
