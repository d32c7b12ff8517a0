// The package's API (`import { SesBouncer } from 'ses-bouncer'`): the construct, the stack, the
// parts a user may use alone or meets as the construct's properties, and every type their props,
// properties and methods name (the package test checks that none is left out). The plumbing
// (functions, queues, bundles, policy loading) and this repository's CDK app are not part of it.
export { SesBouncer, METRICS_NAMESPACE, SERVICE_NAME, type SesBouncerProps } from './ses-bouncer.js';
export { MetricName } from '../lambda/app/metric-names.js';
export { LedgerTable } from './ledger-table.js';
export { BouncerReceiptRule, type BouncerReceiptRuleProps } from './receipt-rule.js';
export { BouncerAlarms, BouncerDashboard, bouncerMetric, type BouncerAlarmsProps, type BouncerDashboardProps } from './alarms.js';
export { SesBouncerStack, type SesBouncerStackProps } from './stack.js';
export { RuleSetActivation, type RuleSetActivationProps } from './rule-set-activation.js';
export { RuleSetAudit, type RuleSetAuditProps } from './rule-set-audit.js';
export { SynthPolicyError, type SynthPolicy } from './synth-policy-types.js';
export { SesBouncerConfigError } from './errors.js';
export { SesBouncerError } from '../lambda/core/errors.js';
