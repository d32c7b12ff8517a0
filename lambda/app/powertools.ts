import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricsPort } from './ports.js';
import { METRICS_NAMESPACE, SERVICE_NAME, type MetricName } from './telemetry.js';


export function createLogger(): Logger {
  return new Logger({ serviceName: SERVICE_NAME });
}

export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
}

/** Counts as EMF through Powertools; a dimensioned count goes out as its own single metric. */
export class PowertoolsMetrics implements MetricsPort {
  constructor(private readonly metrics: Metrics) {}

  count(name: MetricName, value = 1, dimension?: { readonly name: string; readonly value: string }): void {
    if (value === 0) return;
    if (dimension === undefined) {
      this.metrics.addMetric(name, MetricUnit.Count, value);
      return;
    }
    const single = this.metrics.singleMetric();
    single.addDimension(dimension.name, dimension.value);
    single.addMetric(name, MetricUnit.Count, value);
  }
}
