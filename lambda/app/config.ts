import { join } from 'node:path';
import * as z from 'zod/mini';
import { Disposition, STOP_DISPOSITIONS, type StopDisposition } from '../core/disposition.js';
import { ConfigError } from '../core/errors.js';
import { issueMessage } from '../core/issues.js';
import { SES_NAME } from '../core/ses-recipients.js';

// The handlers' environment (README "Handler environment"), read once and checked, so a missing setting is one clear
// error at start-up instead of a failure on the first message.

const TableName = z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'not a DynamoDB table name'));
const QueueUrl = z.url({ message: 'not a queue URL' });
const Rate = z._default(z.coerce.number().check(z.positive('must be a positive number')), 1);

const ReceiptEnv = z.object({
  BOUNCE_TABLE_NAME: TableName,
  BOUNCE_QUEUE_URL: QueueUrl,
  POLICY_FILE: z.optional(z.string().check(z.minLength(1))),
  STOP_DISPOSITION: z._default(z.enum(STOP_DISPOSITIONS), Disposition.StopRuleSet),
  LAMBDA_TASK_ROOT: z.optional(z.string()),
});

const DeliverEnv = z.object({
  BOUNCE_TABLE_NAME: TableName,
  SEND_RATE_PER_SECOND: Rate,
  // Optional, so the delivery function also runs on the minimal environment (README "Handler
  // environment"); the deployment sets both (docs/delivery.md "Retries and the dead-letter queue").
  BOUNCE_QUEUE_URL: z.optional(QueueUrl),
  BOUNCE_DEAD_LETTER_QUEUE_URL: z.optional(QueueUrl),
});

const SesName = z.string().check(z.regex(SES_NAME, 'not an SES rule or rule set name'));

const AuditEnv = z.object({
  RULE_SET_NAME: SesName,
  RULE_NAMES: z.string().check(z.refine((value) => value.split(',').every((name) => SesName.safeParse(name).success), { message: 'not a comma-separated list of SES rule names' })),
  POLICY_FILE: z.optional(z.string().check(z.minLength(1))),
  LAMBDA_TASK_ROOT: z.optional(z.string()),
});

export interface AuditConfig {
  readonly ruleSetName: string;
  /** The bouncer's own receipt rules. */
  readonly ruleNames: readonly string[];
  /** @default the policy bundled at synth: policy.json beside the handler */
  readonly policyFile: string;
}

export function loadAuditConfig(env: NodeJS.ProcessEnv = process.env): AuditConfig {
  const parsed = check(AuditEnv, env);
  return {
    ruleSetName: parsed.RULE_SET_NAME,
    ruleNames: parsed.RULE_NAMES.split(','),
    policyFile: parsed.POLICY_FILE ?? join(parsed.LAMBDA_TASK_ROOT ?? process.cwd(), 'policy.json'),
  };
}

export interface ReceiptConfig {
  readonly tableName: string;
  readonly queueUrl: string;
  /** @default the policy bundled at synth: policy.json beside the handler */
  readonly policyFile: string;
  /** The answer when nothing is delivered: STOP_RULE in a deployment of several receipt rules (docs/refusal.md). @default STOP_RULE_SET */
  readonly stopDisposition: StopDisposition;
}

export interface DeliverConfig {
  readonly tableName: string;
  /** @default 1, the SES SendBounce limit */
  readonly sendRatePerSecond: number;
  /** The bounce queue, where a job goes back with an outcome the ledger could not take. @default none */
  readonly queueUrl: string | undefined;
  /** Where jobs that exhausted their own retries, or cannot be read, are parked. @default none: handed back, for the queue's redrive policy */
  readonly deadLetterQueueUrl: string | undefined;
}

export function loadReceiptConfig(env: NodeJS.ProcessEnv = process.env): ReceiptConfig {
  const parsed = check(ReceiptEnv, env);
  return {
    tableName: parsed.BOUNCE_TABLE_NAME,
    queueUrl: parsed.BOUNCE_QUEUE_URL,
    policyFile: parsed.POLICY_FILE ?? join(parsed.LAMBDA_TASK_ROOT ?? process.cwd(), 'policy.json'),
    stopDisposition: parsed.STOP_DISPOSITION,
  };
}

export function loadDeliverConfig(env: NodeJS.ProcessEnv = process.env): DeliverConfig {
  const parsed = check(DeliverEnv, env);
  return {
    tableName: parsed.BOUNCE_TABLE_NAME,
    sendRatePerSecond: parsed.SEND_RATE_PER_SECOND,
    queueUrl: parsed.BOUNCE_QUEUE_URL,
    deadLetterQueueUrl: parsed.BOUNCE_DEAD_LETTER_QUEUE_URL,
  };
}

function check<T extends z.ZodMiniType>(schema: T, env: NodeJS.ProcessEnv): z.output<T> {
  const parsed = schema.safeParse(
    // An empty optional setting is an unset one (CloudFormation and shells write empty strings).
    { ...env, STOP_DISPOSITION: env.STOP_DISPOSITION || undefined, SEND_RATE_PER_SECOND: env.SEND_RATE_PER_SECOND || undefined, BOUNCE_DEAD_LETTER_QUEUE_URL: env.BOUNCE_DEAD_LETTER_QUEUE_URL || undefined, BOUNCE_QUEUE_URL: env.BOUNCE_QUEUE_URL || undefined },
    { reportInput: true },
  );
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issueMessage(issue).replace(/^required$/, 'not set')}`);
  throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
}
