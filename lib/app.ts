import { resolve } from 'node:path';
import { App, RemovalPolicy, Validations, type AppProps } from 'aws-cdk-lib';
import * as ses from 'aws-cdk-lib/aws-ses';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SesBouncerConfigError } from './errors.js';
import type { SesBouncerProps } from './ses-bouncer.js';
import { SesBouncerStack } from './stack.js';
import { loadSynthPolicy } from './synth-policy.js';

// cdk.json context → SesBouncer props. Each setting can be overridden with `-c key=value`, so
// values arrive as JSON (cdk.json) or as strings (command line): both are accepted.

export interface AppOptions extends AppProps {
  /** Run cdk-nag's AwsSolutions pack. @default true */
  readonly nag?: boolean;
}

const CONTEXT_DEFAULTS = {
  stackName: 'SesBouncer',
  domain: 'example.com',
  policyFile: 'examples/policy.yaml',
  ruleSetName: 'ses-bouncer',
  ruleName: 'ses-bouncer',
  existingRuleSet: false,
  activateRuleSet: false,
  displaceActiveRuleSet: false,
  tlsPolicy: 'Optional',
  sendRatePerSecond: 1,
  tableRemovalPolicy: 'retain',
} as const;

/** Every context key the app reads; any other (but CDK's own, with ':' or '@') is a mistake worth naming. */
const CONTEXT_KEYS = [
  ...Object.keys(CONTEXT_DEFAULTS),
  'recipients',
  'after',
  'alarmEmail',
  'bounceIdentityArn',
  'account',
  'region',
] as const;

type Context = (key: string) => unknown;

/** Context keys the CDK CLI itself writes without a `:` or `@` (`cdk acknowledge N` writes this one into cdk.context.json). */
const CDK_CLI_KEYS: readonly string[] = ['acknowledged-issue-numbers'];

/** The keys of a context that are neither the app's nor CDK's own: a typo (`policy` for `policyFile`) would otherwise be ignored. */
export function unknownContextKeys(keys: readonly string[]): string[] {
  return keys.filter((key) => !key.includes(':') && !key.startsWith('@') && !CDK_CLI_KEYS.includes(key) && !(CONTEXT_KEYS as readonly string[]).includes(key));
}

export function bouncerPropsFromContext(context: Context, cwd = process.cwd()): SesBouncerProps {
  const problems: string[] = [];
  const str = (key: string): string | undefined => {
    const value = context(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') {
      problems.push(`context ${key}: must be a string, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value.trim();
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const value = context(key);
    if (value === undefined || value === null || value === '') return fallback;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    problems.push(`context ${key}: must be true or false, got ${JSON.stringify(value)}`);
    return fallback;
  };
  const domain = str('domain') ?? CONTEXT_DEFAULTS.domain;
  const policy = resolve(cwd, str('policyFile') ?? CONTEXT_DEFAULTS.policyFile);
  const rawRecipients = context('recipients');
  let recipients: string[] | undefined;
  // The domain and its subdomains at any depth (SES matches `example.com` for that domain only);
  // none when the policy has `accept`: the rules then list what it compiles to.
  if (rawRecipients === undefined || rawRecipients === null) recipients = policyHasAccept(policy) ? undefined : [domain, `.${domain}`];
  else if (typeof rawRecipients === 'string') recipients = rawRecipients.split(',').map((r) => r.trim()).filter((r) => r !== '');
  else if (Array.isArray(rawRecipients) && rawRecipients.every((r) => typeof r === 'string')) recipients = rawRecipients;
  else {
    problems.push(`context recipients: must be a list of strings or a comma-separated string, got ${JSON.stringify(rawRecipients)}`);
    recipients = [];
  }
  const tls = str('tlsPolicy') ?? CONTEXT_DEFAULTS.tlsPolicy;
  let tlsPolicy: ses.TlsPolicy = ses.TlsPolicy.OPTIONAL;
  if (/^require$/i.test(tls)) tlsPolicy = ses.TlsPolicy.REQUIRE;
  else if (!/^optional$/i.test(tls)) problems.push(`context tlsPolicy: must be Optional or Require, got ${JSON.stringify(tls)}`);
  const rateValue = context('sendRatePerSecond');
  const sendRatePerSecond = rateValue === undefined || rateValue === '' ? CONTEXT_DEFAULTS.sendRatePerSecond : Number(rateValue);
  // Only whether it reads as a number: its range is the construct's to check (lib/props.ts).
  if (!Number.isFinite(sendRatePerSecond)) problems.push(`context sendRatePerSecond: must be a number, got ${JSON.stringify(rateValue)}`);
  const removal = str('tableRemovalPolicy') ?? CONTEXT_DEFAULTS.tableRemovalPolicy;
  let tableRemovalPolicy = RemovalPolicy.RETAIN;
  if (/^destroy$/i.test(removal)) tableRemovalPolicy = RemovalPolicy.DESTROY;
  else if (!/^retain$/i.test(removal)) problems.push(`context tableRemovalPolicy: must be retain or destroy, got ${JSON.stringify(removal)}`);
  const props: SesBouncerProps = {
    ...(recipients !== undefined && { recipients }),
    policy,
    ruleSetName: str('ruleSetName') ?? CONTEXT_DEFAULTS.ruleSetName,
    ruleName: str('ruleName') ?? CONTEXT_DEFAULTS.ruleName,
    existingRuleSet: bool('existingRuleSet', CONTEXT_DEFAULTS.existingRuleSet),
    activateRuleSet: bool('activateRuleSet', CONTEXT_DEFAULTS.activateRuleSet),
    displaceActiveRuleSet: bool('displaceActiveRuleSet', CONTEXT_DEFAULTS.displaceActiveRuleSet),
    after: str('after'),
    tlsPolicy,
    sendRatePerSecond,
    alarmEmail: str('alarmEmail'),
    bounceIdentityArn: str('bounceIdentityArn'),
    tableRemovalPolicy,
  };
  if (problems.length > 0) throw new SesBouncerConfigError('invalid cdk.json context', problems);
  return props;
}

/** Whether the policy has `accept`; an invalid or missing policy is the construct's to report. */
function policyHasAccept(file: string): boolean {
  try {
    return loadSynthPolicy(file).compiled.accept !== undefined;
  } catch {
    return false;
  }
}

/** The CDK app of bin/app.ts: one SesBouncerStack from context, checked by cdk-nag. */
export function appFromContext(options: AppOptions = {}): { app: App; stack: SesBouncerStack } {
  const { nag = true, ...appProps } = options;
  const app = new App(appProps);
  const context: Context = (key) => app.node.tryGetContext(key);
  // All of it: the app's props, cdk.json, cdk.context.json and `-c` (which the CLI passes in CDK_CONTEXT_JSON or its overflow file).
  const unknown = unknownContextKeys(Object.keys(app.node.getAllContext() as Record<string, unknown>));
  if (unknown.length > 0) {
    throw new SesBouncerConfigError('invalid cdk.json context', unknown.map((key) => `context ${key}: not a setting (the settings: ${CONTEXT_KEYS.join(', ')})`));
  }
  const stackName = (context('stackName') as string | undefined) ?? CONTEXT_DEFAULTS.stackName;
  const account = (context('account') as string | undefined) ?? process.env.CDK_DEFAULT_ACCOUNT;
  const region = (context('region') as string | undefined) ?? process.env.CDK_DEFAULT_REGION;
  const stack = new SesBouncerStack(app, stackName, {
    stackName,
    description: 'ses-bouncer: bounces unwanted inbound mail on Amazon SES',
    env: account || region ? { account, region } : undefined,
    bouncer: bouncerPropsFromContext(context),
  });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

