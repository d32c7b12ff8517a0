import * as z from 'zod/mini';
import { BounceType, EXTENSION_FIELD_NAME, STANDARD_DSN_FIELDS } from './bounce-types.js';
import { parseAddressPattern } from './patterns.js';
import { acceptProblem } from './ses-recipients.js';
import { Verdict } from './event.js';

// The policy file's schema (docs/policy.md, a contract). It only checks shape and single values;
// cross-references (lists, shadowed rules, status/SMTP class, accept) are checked by the
// PolicyCompiler in policy-compiler.ts, and
// policy.schema.json is generated from this file by scripts/gen-schema.ts. zod/mini keeps the
// Lambda bundle small (the full zod is 440 KB minified, a third of the receipt bundle).

export { BounceType } from './bounce-types.js';

export const DmarcPolicy = ['none', 'quarantine', 'reject'] as const;

/** SendBounce runs at one call a second (SES API Reference, SendBounce): no sender can be bounced more than this in an hour. */
export const MAX_BOUNCES_PER_HOUR = 3600;
export type DmarcPolicy = (typeof DmarcPolicy)[number];

const oneOrMany = <T extends z.ZodMiniType>(item: T) => z.union([item, z.array(item).check(z.minLength(1))]);

const AddressPatternText = z
  .string()
  .check(
    z.refine((value) => parseAddressPattern(value) !== undefined, { message: 'not an address pattern' }),
    z.describe('An address pattern: user@example.com, user+tag@example.com, user+*@example.com, *@example.com, *@*.example.com or @list:NAME'),
  );

const AcceptPatternText = z
  .string()
  .check(
    z.superRefine((value, ctx) => {
      const problem = acceptProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
    z.describe('A recipient SES may accept: user@example.com (with its +tagged forms), *@example.com, *@*.example.com or @list:NAME'),
  );

// RE2 syntax is checked with the engine the loader passes (regex.ts regexSources): the schema,
// built once for every policy, only knows it is text.
const RegexText = z
  .string()
  .check(z.describe('An RE2 regular expression; matches anywhere unless anchored; (?i) makes it case-insensitive'));

// RFC 5322 §3.6.8 field-name: printable ASCII except ':'.
const HeaderFieldName = z.string().check(z.regex(/^[\x21-\x39\x3b-\x7e]{1,76}$/, 'not a header field name'));
// DSN fields travel in a message/delivery-status part: printable ASCII, one line (RFC 3464 §2.1).
const DsnText = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), z.regex(/^[\x20-\x7e]*$/, 'must be printable ASCII on one line'));
const ExtensionFieldName = z
  .string()
  .check(
    z.regex(EXTENSION_FIELD_NAME, 'not an extension field name (1 to 50 letters, digits and dashes)'),
    z.refine((name) => !STANDARD_DSN_FIELDS.has(name.toLowerCase()), { message: 'a standard RFC 3464 field, not an extension field' }),
  );
/**
 * The most extension fields one list may hold (bounce.extensionFields, and each rule's). SES's API
 * reference documents an extension field's name (1 to 50 letters, digits and dashes) and value
 * (2048 characters or fewer, no CR or LF) but no count; 10 keeps the DSN header block small.
 */
export const MAX_EXTENSION_FIELDS = 10;

const ExtensionFields = z.record(ExtensionFieldName, DsnText(500)).check(
  z.superRefine((fields, ctx) => {
    const count = Object.keys(fields).length;
    if (count > MAX_EXTENSION_FIELDS) ctx.addIssue({ code: 'custom', message: `${count} extension fields: at most ${MAX_EXTENSION_FIELDS} are allowed` });
  }),
  z.describe(`Extension fields added to the DSN, as { Name: value }; at most ${MAX_EXTENSION_FIELDS}`),
  z.meta({ maxProperties: MAX_EXTENSION_FIELDS }),
);

// A plain ASCII address: RFC 5322 dot-atom local part, and a domain of LDH labels (an
// internationalized domain in its xn-- form) with no trailing dot.
const LOCAL_PART = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*";
const DOMAIN_NAME = '(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const PLAIN_ADDRESS = new RegExp(`^${LOCAL_PART}@${DOMAIN_NAME}$`);

/** Why `value` is not a plain ASCII local@domain address, or undefined when it is one. */
export function plainAddressProblem(value: string): string | undefined {
  if (/[<>]/.test(value) || /\s/.test(value.trim())) return 'not a plain address: give local@domain only, without a display name or angle brackets';
  if (/[^\x20-\x7e]/.test(value)) return 'must be plain ASCII (no non-ASCII letter; give an internationalized domain in its xn-- form)';
  if (value.endsWith('.')) return 'the domain must not end with a dot';
  const at = value.lastIndexOf('@');
  if (!PLAIN_ADDRESS.test(value)) return 'not an email address (local@domain, without a display name)';
  if (at > 64 || value.length - at - 1 > 253) return 'too long (at most 64 characters before the @ and 253 after it)';
  return undefined;
}

const SES_IDENTITY_ARN = new RegExp(
  `^arn:aws(?:-[a-z]+)*:ses:[a-z]{2}(?:-[a-z]+)+-\\d{1,2}:\\d{12}:identity/(?:${LOCAL_PART}@)?${DOMAIN_NAME}$`,
);

const SesIdentityArn = z
  .string()
  .check(
    z.regex(SES_IDENTITY_ARN, 'not an SES identity ARN (arn:PARTITION:ses:REGION:ACCOUNT:identity/IDENTITY: a 12-digit account, an email address or domain)'),
    z.describe('An SES identity ARN: arn:aws:ses:REGION:ACCOUNT:identity/EMAIL-OR-DOMAIN'),
  );

const MailboxAddress = z
  .string()
  .check(
    z.superRefine((value, ctx) => {
      const problem = plainAddressProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
    z.meta({ pattern: PLAIN_ADDRESS.source, maxLength: 318 }),
  );

const HostName = z
  .string()
  .check(z.maxLength(253), z.regex(/^(?!-)[A-Za-z0-9-]{1,63}(?:\.(?!-)[A-Za-z0-9-]{1,63})*$/, "not a host name (give the name only: ses-bouncer adds 'dns; ')"));

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

const described = <T extends z.ZodMiniType>(schema: T, description: string): T => schema.check(z.describe(description));

// Recursive (any/all/not): the lazy schema returns one object schema, built once below.
export const Condition: z.ZodMiniType<ConditionInput> = z.lazy(() => ConditionObject);

const ConditionObject: z.ZodMiniType<ConditionInput> = z
    .strictObject({
      recipient: z.optional(described(oneOrMany(AddressPatternText), 'The envelope recipient being decided')),
      sender: z.optional(described(oneOrMany(AddressPatternText), 'The envelope sender (MAIL FROM)')),
      from: z.optional(described(oneOrMany(AddressPatternText), 'Any address in the From header')),
      subject: z.optional(described(RegexText, 'The Subject header')),
      header: z.optional(
        z.record(HeaderFieldName, RegexText).check(
          z.refine((headers) => Object.keys(headers).length > 0, { message: 'an empty header condition would match every message' }),
          z.describe('{ Name: regex }: any header with that name matches; at least one name'),
          z.meta({ minProperties: 1 }),
        ),
      ),
      spam: z.optional(VerdictCondition),
      virus: z.optional(VerdictCondition),
      spf: z.optional(VerdictCondition),
      dkim: z.optional(VerdictCondition),
      dmarc: z.optional(VerdictCondition),
      dmarcPolicy: z.optional(described(DmarcPolicyCondition, "SES's dmarcPolicy, case-insensitive")),
      any: z.optional(described(z.array(Condition).check(z.minLength(1)), 'At least one of these holds')),
      all: z.optional(described(z.array(Condition).check(z.minLength(1)), 'Every one of these holds')),
      not: z.optional(described(Condition, 'This does not hold')),
    })
    .check(z.describe('Every key present must hold; {} matches everything'), z.meta({ id: 'Condition' }));

export const Action = ['deliver', 'drop', 'bounce'] as const;
export type Action = (typeof Action)[number];

export const Rule = z
  .strictObject({
    name: z.optional(described(z.string().check(z.minLength(1), z.maxLength(128)), 'Shown in decisions and logs; defaults to rules[N]')),
    when: z.optional(described(Condition, 'Omitted: the rule matches every recipient')),
    then: z.enum(Action),
    bounceType: z.optional(z.enum(Object.values(BounceType) as [BounceType, ...BounceType[]])),
    status: z.optional(z.string().check(z.regex(/^[45]\.\d{1,3}\.\d{1,3}$/, 'not an RFC 3463 failure status (4.x.x or 5.x.x)'))),
    smtpCode: z.optional(described(z.int().check(z.gte(400), z.lte(599)), '4xx with a 4.x.x status, 5xx with 5.x.x')),
    diagnostic: z.optional(described(DsnText(300), 'Text of the Diagnostic-Code after the SMTP code and status')),
    explanation: z.optional(described(z.string().check(z.minLength(1), z.maxLength(1000)), "The bounce's human-readable explanation")),
    extensionFields: z.optional(ExtensionFields),
    recipientArn: z.optional(described(SesIdentityArn, 'RecipientArn, for sending authorization')),
  })
  .check(z.describe('Evaluated per envelope recipient; the first rule that matches decides'));
export type RuleInput = z.infer<typeof Rule>;

export const ListSource = z.union([
  described(z.array(AddressPatternText), 'Inline patterns'),
  z.strictObject({ file: described(z.string().check(z.minLength(1)), 'A file beside the policy: one pattern a line, # comments') }),
]);

/** The guards when a policy says nothing of them: one source for each field's default and for the block's. */
const GUARD_DEFAULTS = {
  requireAuthenticatedSender: true,
  skipSpamOrVirus: true,
  skipAutoSubmitted: true,
  skipMailingLists: true,
  skipTruncatedHeaders: true,
  maxBouncesPerSenderPerHour: 10,
  onGuard: 'drop',
} as const;

export const PolicyDocument = z
  .strictObject({
    $schema: z.optional(z.string()),
    version: z.literal(1),
    mode: described(z._default(z.enum(['enforce', 'dry-run']), 'enforce'), 'dry-run: decide and record, never bounce, always CONTINUE'),
    bounce: z.strictObject({
      sender: described(MailboxAddress, 'BounceSender: an SES-verified identity'),
      senderArn: z.optional(SesIdentityArn),
      reportingMta: described(HostName, 'DSN Reporting-MTA, sent as "dns; NAME"'),
      extensionFields: z.optional(ExtensionFields),
    }),
    guards: z._default(
      z.strictObject({
        requireAuthenticatedSender: described(z._default(z.boolean(), GUARD_DEFAULTS.requireAuthenticatedSender), 'Bounce only if SPF or DKIM is PASS'),
        skipSpamOrVirus: z._default(z.boolean(), GUARD_DEFAULTS.skipSpamOrVirus),
        skipAutoSubmitted: described(z._default(z.boolean(), GUARD_DEFAULTS.skipAutoSubmitted), 'RFC 3834 Auto-Submitted other than no'),
        skipMailingLists: described(z._default(z.boolean(), GUARD_DEFAULTS.skipMailingLists), 'List-Id, List-Unsubscribe, List-Post, Precedence: bulk|list|junk'),
        skipTruncatedHeaders: described(
          z._default(z.boolean(), GUARD_DEFAULTS.skipTruncatedHeaders),
          'SES truncated the headers (or sent none): the header guards cannot see them all',
        ),
        maxBouncesPerSenderPerHour: described(z._default(z.int().check(z.gte(0), z.lte(MAX_BOUNCES_PER_HOUR)), GUARD_DEFAULTS.maxBouncesPerSenderPerHour), '0 = unlimited'),
        onGuard: described(z._default(z.enum(['drop', 'deliver']), GUARD_DEFAULTS.onGuard), 'What a guarded bounce becomes'),
      }),
      GUARD_DEFAULTS,
    ),
    accept: z.optional(
      z.array(AcceptPatternText).check(
        z.superRefine((patterns, ctx) => {
          if (patterns.length === 0) ctx.addIssue({ code: 'custom', message: 'at least one pattern: remove accept to take every address of the receipt rule' });
        }),
        z.describe('The only envelope recipients SES may accept; every other address is refused at RCPT TO with 550 5.1.1 (README "Refusing at SMTP time")'),
        z.meta({ minItems: 1 }),
      ),
    ),
    lists: z.optional(z.record(z.string().check(z.regex(/^[A-Za-z0-9_.-]+$/, 'not a list name (letters, digits, _ . -)')), ListSource)),
    rules: z.array(Rule),
    default: described(z._default(z.enum(['deliver', 'drop']), 'deliver'), 'When no rule matches'),
  })
  .check(z.describe('ses-bouncer policy'));
export type PolicyDocument = z.output<typeof PolicyDocument>;
