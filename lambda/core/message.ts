import { headerAddresses, parseAddress, type ParsedAddress } from './address.js';
import type { SesRecord, Verdict } from './event.js';

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
  /** SES truncated the headers, or sent none: guards that read headers cannot see them all. */
  readonly headersIncomplete: boolean;
}

export function viewMessage(record: SesRecord): MessageView {
  return new SesMessageView(record);
}

/** Fields that only some policies or guards look at (headers, From addresses, subjects) are computed on first use. */
class SesMessageView implements MessageView {
  readonly messageId: string;
  readonly sender: string;
  readonly senderAddress: ParsedAddress | undefined;
  readonly verdicts: MessageView['verdicts'];
  readonly dmarcPolicy: string | undefined;
  readonly receiptTime: Date;
  readonly arrivalTime: Date;
  readonly headersIncomplete: boolean;
  private headerCache: ReadonlyMap<string, readonly string[]> | undefined;
  private fromCache: readonly ParsedAddress[] | undefined;
  private subjectCache: readonly string[] | undefined;

  constructor(private readonly record: SesRecord) {
    const { mail, receipt } = record.ses;
    this.messageId = mail.messageId;
    this.sender = mail.source.trim();
    this.senderAddress = parseAddress(this.sender);
    this.verdicts = {
      spam: receipt.spamVerdict?.status,
      virus: receipt.virusVerdict?.status,
      spf: receipt.spfVerdict?.status,
      dkim: receipt.dkimVerdict?.status,
      dmarc: receipt.dmarcVerdict?.status,
    };
    this.dmarcPolicy = receipt.dmarcPolicy?.trim().toLowerCase();
    this.receiptTime = new Date(receipt.timestamp);
    this.arrivalTime = new Date(mail.timestamp);
    this.headersIncomplete = mail.headersTruncated === true || (mail.headers ?? []).length === 0;
  }

  get headers(): ReadonlyMap<string, readonly string[]> {
    if (this.headerCache === undefined) {
      const headers = new Map<string, string[]>();
      for (const { name, value } of this.record.ses.mail.headers ?? []) {
        const key = name.trim().toLowerCase();
        const values = headers.get(key);
        if (values) values.push(value);
        else headers.set(key, [value]);
      }
      this.headerCache = headers;
    }
    return this.headerCache;
  }

  // With headersTruncated the header list may miss From or Subject, which commonHeaders still carries.
  get fromAddresses(): readonly ParsedAddress[] {
    this.fromCache ??= uniqueAddresses(
      [...(this.headers.get('from') ?? []), ...(this.record.ses.mail.commonHeaders?.from ?? [])].flatMap(headerAddresses),
    );
    return this.fromCache;
  }

  get subjects(): readonly string[] {
    if (this.subjectCache === undefined) {
      const subjects = [...(this.headers.get('subject') ?? [])];
      const common = this.record.ses.mail.commonHeaders?.subject;
      if (common !== undefined && !subjects.includes(common)) subjects.push(common);
      this.subjectCache = subjects;
    }
    return this.subjectCache;
  }
}

function uniqueAddresses(raw: readonly string[]): ParsedAddress[] {
  const seen = new Map<string, ParsedAddress>();
  for (const text of raw) {
    const parsed = parseAddress(text);
    if (parsed && !seen.has(parsed.full)) seen.set(parsed.full, parsed);
  }
  return [...seen.values()];
}
