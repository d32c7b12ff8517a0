export { SesBouncer, METRICS_NAMESPACE, SERVICE_NAME, type SesBouncerProps } from './ses-bouncer.js';
export { SesBouncerStack, type SesBouncerStackProps } from './stack.js';
export { RuleSetActivation, type RuleSetActivationProps } from './rule-set-activation.js';
export { loadSynthPolicy, SynthPolicyError, type SynthPolicy } from './synth-policy.js';
export { appFromContext, bouncerPropsFromContext, type AppOptions } from './app.js';
export { SesBouncerConfigError } from './errors.js';
