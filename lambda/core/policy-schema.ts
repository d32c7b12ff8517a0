import { z } from 'zod';
import { parseAddressPattern } from './patterns.js';
import { regexProblem } from './regex.js';

// The policy file's schema (SPEC §3, a contract). It only checks shape and single values;
// cross-references (lists, shadowed rules, status/SMTP class) are checked in policy.ts, and
// policy.schema.json is generated from this file by scripts/gen-schema.ts.

export const BounceType = {
  DoesNotExist: 'DoesNotExist',
  MessageTooLarge: 'MessageTooLarge',
  ExceededQuota: 'ExceededQuota',
  ContentRejected: 'ContentRejected',
  TemporaryFailure: 'TemporaryFailure',
  Undefined: 'Undefined',
} as const;
export type BounceType = (typeof BounceType)[keyof typeof BounceType];

export const Verdict = ['PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED'] as const;
export type Verdict = (typeof Verdict)[number];
export const DmarcPolicy = ['none', 'quarantine', 'reject'] as const;
export type DmarcPolicy = (typeof DmarcPolicy)[number];

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

const AddressPatternText = z
  .string()
  .refine((value) => parseAddressPattern(value) !== undefined, {
    message: 'not an address pattern',
  })
  .describe('An address pattern: user@example.com, user+tag@example.com, user+*@example.com, *@example.com, *@*.example.com or @list:NAME');

const RegexText = z
  .string()
  .superRefine((value, ctx) => {
    const problem = regexProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `not an RE2 regular expression: ${problem}` });
  })
  .describe('An RE2 regular expression; matches anywhere unless anchored; (?i) makes it case-insensitive');

// RFC 5322 §3.6.8 field-name: printable ASCII except ':'.
const HeaderFieldName = z.string().regex(/^[\x21-\x39\x3b-\x7e]{1,76}$/, 'not a header field name');
// DSN fields travel in a message/delivery-status part: printable ASCII, one line (RFC 3464 §2.1).
const DsnText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[\x20-\x7e]*$/, 'must be printable ASCII on one line');
const ExtensionFields = z
  .record(HeaderFieldName, DsnText(500))
  .describe('Extension fields added to the DSN, as { Name: value }');

const SesIdentityArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity\/\S+$/, 'not an SES identity ARN (arn:aws:ses:REGION:ACCOUNT:identity/NAME)');

const MailboxAddress = z
  .string()
  .max(320)
  .regex(/^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/, 'not an email address (local@domain, without a display name)');

const HostName = z
  .string()
  .max(253)
  .regex(/^(?!-)[A-Za-z0-9-]{1,63}(?:\.(?!-)[A-Za-z0-9-]{1,63})*$/, "not a host name (give the name only: ses-bouncer adds 'dns; ')");

const VerdictCondition = oneOrMany(z.enum(Verdict));
const DmarcPolicyCondition = oneOrMany(z.enum([...DmarcPolicy, 'NONE', 'QUARANTINE', 'REJECT']));

export interface ConditionInput {
  recipient?: string | string[];
  sender?: string | string[];
  from?: string | string[];
  subject?: string;
  header?: Record<string, string>;
  spam?: Verdict | Verdict[];
  virus?: Verdict | Verdict[];
  spf?: Verdict | Verdict[];
  dkim?: Verdict | Verdict[];
  dmarc?: Verdict | Verdict[];
  dmarcPolicy?: string | string[];
  any?: ConditionInput[];
  all?: ConditionInput[];
  not?: ConditionInput;
}

export const Condition: z.ZodType<ConditionInput> = z.lazy(() =>
  z
    .strictObject({
      recipient: oneOrMany(AddressPatternText).optional().describe('The envelope recipient being decided'),
      sender: oneOrMany(AddressPatternText).optional().describe('The envelope sender (MAIL FROM)'),
      from: oneOrMany(AddressPatternText).optional().describe('Any address in the From header'),
      subject: RegexText.optional().describe('The Subject header'),
      header: z.record(HeaderFieldName, RegexText).optional().describe('{ Name: regex }: any header with that name matches'),
      spam: VerdictCondition.optional(),
      virus: VerdictCondition.optional(),
      spf: VerdictCondition.optional(),
      dkim: VerdictCondition.optional(),
      dmarc: VerdictCondition.optional(),
      dmarcPolicy: DmarcPolicyCondition.optional().describe("SES's dmarcPolicy, case-insensitive"),
      any: z.array(Condition).min(1).optional().describe('At least one of these holds'),
      all: z.array(Condition).min(1).optional().describe('Every one of these holds'),
      not: Condition.optional().describe('This does not hold'),
    })
    .describe('Every key present must hold; {} matches everything')
    .meta({ id: 'Condition' }),
);

export const Action = ['deliver', 'drop', 'bounce'] as const;
export type Action = (typeof Action)[number];

export const Rule = z
  .strictObject({
    name: z.string().min(1).max(128).optional().describe('Shown in decisions and logs; defaults to rules[N]'),
    when: Condition.optional().describe('Omitted: the rule matches every recipient'),
    then: z.enum(Action),
    bounceType: z.enum(Object.values(BounceType) as [BounceType, ...BounceType[]]).optional(),
    status: z
      .string()
      .regex(/^[45]\.\d{1,3}\.\d{1,3}$/, 'not an RFC 3463 failure status (4.x.x or 5.x.x)')
      .optional(),
    smtpCode: z.number().int().min(400).max(599).optional().describe('4xx with a 4.x.x status, 5xx with 5.x.x'),
    diagnostic: DsnText(300).optional().describe('Text of the Diagnostic-Code after the SMTP code and status'),
    explanation: z.string().min(1).max(1000).optional().describe("The bounce's human-readable explanation"),
    extensionFields: ExtensionFields.optional(),
    recipientArn: SesIdentityArn.optional().describe('RecipientArn, for sending authorization'),
  })
  .describe('Evaluated per envelope recipient; the first rule that matches decides');
export type RuleInput = z.infer<typeof Rule>;

export const ListSource = z.union([
  z.array(AddressPatternText).describe('Inline patterns'),
  z.strictObject({ file: z.string().min(1).describe('A file beside the policy: one pattern a line, # comments') }),
]);

export const PolicyDocument = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1),
    mode: z.enum(['enforce', 'dry-run']).default('enforce').describe('dry-run: decide and record, never bounce, always CONTINUE'),
    bounce: z.strictObject({
      sender: MailboxAddress.describe('BounceSender: an SES-verified identity'),
      senderArn: SesIdentityArn.optional(),
      reportingMta: HostName.describe('DSN Reporting-MTA, sent as "dns; NAME"'),
      extensionFields: ExtensionFields.optional(),
    }),
    guards: z
      .strictObject({
        requireAuthenticatedSender: z.boolean().default(true).describe('Bounce only if SPF or DKIM is PASS'),
        skipSpamOrVirus: z.boolean().default(true),
        skipAutoSubmitted: z.boolean().default(true).describe('RFC 3834 Auto-Submitted other than no'),
        skipMailingLists: z.boolean().default(true).describe('List-Id, List-Unsubscribe, List-Post, Precedence: bulk|list|junk'),
        maxBouncesPerSenderPerHour: z.number().int().min(0).default(10).describe('0 = unlimited'),
        onGuard: z.enum(['drop', 'deliver']).default('drop').describe('What a guarded bounce becomes'),
      })
      .default({
        requireAuthenticatedSender: true,
        skipSpamOrVirus: true,
        skipAutoSubmitted: true,
        skipMailingLists: true,
        maxBouncesPerSenderPerHour: 10,
        onGuard: 'drop',
      }),
    lists: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'not a list name (letters, digits, _ . -)'), ListSource).optional(),
    rules: z.array(Rule),
    default: z.enum(['deliver', 'drop']).default('deliver').describe('When no rule matches'),
  })
  .describe('ses-bouncer policy');
export type PolicyDocumentInput = z.input<typeof PolicyDocument>;
export type PolicyDocument = z.output<typeof PolicyDocument>;
