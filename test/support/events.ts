import { readFileSync } from 'node:fs';
import { SesRecord } from '../../lambda/core/event.js';

/** The documented SES receipt event (AWS developer guide shape): header To/Cc name two addresses, the rule matched one. */
export function documentedEvent(): { Records: unknown[] } {
  return JSON.parse(readFileSync(new URL('../fixtures/ses-receipt-event.json', import.meta.url), 'utf8'));
}

export interface RecordOptions {
  readonly messageId?: string;
  readonly source?: string;
  readonly recipients?: string[];
  readonly headers?: { name: string; value: string }[];
  readonly from?: string;
  readonly subject?: string;
  readonly verdicts?: Partial<Record<'spam' | 'virus' | 'spf' | 'dkim' | 'dmarc', string>>;
  readonly dmarcPolicy?: string;
  readonly receiptTime?: string;
}

export const RECEIPT_TIME = '2026-11-24T09:15:02.118Z';
export const SOON_AFTER = new Date('2026-11-24T09:16:00.000Z');

/** A raw SES record built from the documented event, with the given changes. */
export function rawRecord(options: RecordOptions = {}): Record<string, any> {
  const record = documentedEvent().Records[0] as Record<string, any>;
  const { mail, receipt } = record.ses;
  if (options.messageId !== undefined) mail.messageId = options.messageId;
  if (options.source !== undefined) mail.source = options.source;
  if (options.recipients !== undefined) receipt.recipients = options.recipients;
  if (options.from !== undefined) {
    mail.headers = mail.headers.map((h: { name: string; value: string }) => (h.name === 'From' ? { ...h, value: options.from } : h));
    mail.commonHeaders.from = [options.from];
  }
  if (options.subject !== undefined) {
    mail.headers = mail.headers.map((h: { name: string; value: string }) => (h.name === 'Subject' ? { ...h, value: options.subject } : h));
    mail.commonHeaders.subject = options.subject;
  }
  if (options.headers) mail.headers.push(...options.headers);
  for (const [key, status] of Object.entries(options.verdicts ?? {})) receipt[`${key}Verdict`] = { status };
  if (options.dmarcPolicy !== undefined) receipt.dmarcPolicy = options.dmarcPolicy;
  if (options.receiptTime !== undefined) {
    receipt.timestamp = options.receiptTime;
    mail.timestamp = options.receiptTime;
  }
  return record;
}

export function record(options: RecordOptions = {}): SesRecord {
  return SesRecord.parse(rawRecord(options));
}
