import { headerAddresses, parseAddress, type ParsedAddress } from './address.js';
import type { SesRecord } from './event.js';
import type { Verdict } from './policy-schema.js';

/** What rules and guards look at, computed once per message rather than once per recipient. */
export interface MessageView {
  readonly messageId: string;
  /** mail.source, trimmed. */
  readonly sender: string;
  readonly senderAddress: ParsedAddress | undefined;
  readonly fromAddresses: readonly ParsedAddress[];
  readonly subjects: readonly string[];
  /** Header values by lowercased name, in message order. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly verdicts: Readonly<Record<'spam' | 'virus' | 'spf' | 'dkim' | 'dmarc', Verdict | undefined>>;
  /** Lowercased, as SES spells it in any case. */
  readonly dmarcPolicy: string | undefined;
  readonly receiptTime: Date;
  readonly arrivalTime: Date;
}

export function viewMessage(record: SesRecord): MessageView {
  const { mail, receipt } = record.ses;
  const headers = new Map<string, string[]>();
  for (const { name, value } of mail.headers ?? []) {
    const key = name.trim().toLowerCase();
    const values = headers.get(key);
    if (values) values.push(value);
    else headers.set(key, [value]);
  }
  // With headersTruncated the header list may miss From or Subject, which commonHeaders still carries.
  const fromValues = [...(headers.get('from') ?? []), ...(mail.commonHeaders?.from ?? [])];
  const subjects = [...(headers.get('subject') ?? [])];
  const commonSubject = mail.commonHeaders?.subject;
  if (commonSubject !== undefined && !subjects.includes(commonSubject)) subjects.push(commonSubject);
  const sender = mail.source.trim();
  return {
    messageId: mail.messageId,
    sender,
    senderAddress: parseAddress(sender),
    fromAddresses: uniqueAddresses(fromValues.flatMap(headerAddresses)),
    subjects,
    headers,
    verdicts: {
      spam: receipt.spamVerdict?.status,
      virus: receipt.virusVerdict?.status,
      spf: receipt.spfVerdict?.status,
      dkim: receipt.dkimVerdict?.status,
      dmarc: receipt.dmarcVerdict?.status,
    },
    dmarcPolicy: receipt.dmarcPolicy?.trim().toLowerCase(),
    receiptTime: new Date(receipt.timestamp),
    arrivalTime: new Date(mail.timestamp),
  };
}

function uniqueAddresses(raw: readonly string[]): ParsedAddress[] {
  const seen = new Map<string, ParsedAddress>();
  for (const text of raw) {
    const parsed = parseAddress(text);
    if (parsed && !seen.has(parsed.full)) seen.set(parsed.full, parsed);
  }
  return [...seen.values()];
}
