// The package's API (`import { SesBouncer } from 'ses-bouncer'`): the construct, its parts, and
// what their props and methods name. The CDK app of this repository (lib/app.ts, bin/app.ts) is
// not part of it.
export { SesBouncer, METRICS_NAMESPACE, SERVICE_NAME, type SesBouncerProps } from './ses-bouncer.js';
export { MetricName } from '../lambda/app/metric-names.js';
export { LedgerTable } from './ledger-table.js';
export { BounceQueues } from './bounce-queues.js';
export { BouncerFunctions, type BouncerFunctionsProps } from './bouncer-functions.js';
export { BouncerReceiptRule, type BouncerReceiptRuleProps } from './receipt-rule.js';
export { BouncerAlarms, BouncerDashboard, bouncerMetric, type BouncerAlarmsProps, type BouncerDashboardProps } from './alarms.js';
export { BundledFunction, RUNTIME, type BundledFunctionProps } from './bundled-function.js';
export { SesBouncerStack, type SesBouncerStackProps } from './stack.js';
export { RuleSetActivation, type RuleSetActivationProps } from './rule-set-activation.js';
export { RuleSetAudit, type RuleSetAuditProps } from './rule-set-audit.js';
export { loadSynthPolicy, SynthPolicyError, type SynthPolicy } from './synth-policy.js';
export { SesBouncerConfigError } from './errors.js';
