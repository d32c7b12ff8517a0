// EventBridge schedule → this function: reads the active receipt rule set and reports whatever
// keeps SES from refusing what the policy's `accept` leaves out. Wiring only: the handler is
// lambda/app/handlers.ts, the use-case lambda/app/audit.ts.
import { SESClient } from '@aws-sdk/client-ses';
import type { AuditDeps } from './app/audit.js';
import { loadAuditConfig } from './app/config.js';
import { createAuditHandler } from './app/handlers.js';
import { onceUntilFailure } from './app/once.js';
import { createLogger, createMetrics, PowertoolsMetrics } from './app/powertools.js';
import { SesRuleSetReader } from './aws/rule-set.js';
import { DATA_PLANE_CLIENT_CONFIG } from './aws/timeouts.js';
import { ConfigError } from './core/errors.js';
import { loadPolicyFileLazily } from './app/policy-loader-lazy.js';

const logger = createLogger();
const powertoolsMetrics = createMetrics();

async function buildDeps(): Promise<AuditDeps> {
  const config = loadAuditConfig();
  const policy = await loadPolicyFileLazily(config.policyFile);
  if (policy.accept === undefined) throw new ConfigError(`${config.policyFile}: the policy has no accept: there is nothing to audit`);
  return {
    reader: new SesRuleSetReader(new SESClient(DATA_PLANE_CLIENT_CONFIG)),
    accept: policy.accept,
    expected: { ruleSetName: config.ruleSetName, ruleNames: config.ruleNames },
    logger,
    metrics: new PowertoolsMetrics(powertoolsMetrics),
  };
}

export const handler = createAuditHandler({ deps: onceUntilFailure(buildDeps), logger, powertoolsMetrics });
