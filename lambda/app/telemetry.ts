import type { MetricsPort } from './ports.js';

export { METRICS_NAMESPACE, MetricName, SERVICE_NAME } from './metric-names.js';
import type { MetricName } from './metric-names.js';

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
