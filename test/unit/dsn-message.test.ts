import fc from 'fast-check';
import PostalMime, { type Email } from 'postal-mime';
import { formatRfc5322Date, renderDsnMessage, type DsnMessageOptions } from '../../local/dsn-message.js';
import type { BounceType, SendBounceRequest } from '../../local/ses-protocol.js';
import { fullSendBounce } from '../support/send-bounce.js';

const DATE = new Date('2024-05-01T10:00:02Z');
const OPTIONS: DsnMessageOptions = {
  messageId: '0102018f3a1b2c3d-11111111-2222-3333-4444-555555555555-000000',
  date: DATE,
  originalHeaders: [
    { name: 'Return-Path', value: '<sender@origin.example>' },
    { name: 'From', value: 'Sender <sender@origin.example>' },
    { name: 'To', value: 'nobody@example.com' },
    { name: 'Message-ID', value: '<original-123@origin.example>' },
    { name: 'Subject', value: 'Hello' },
  ],
};

const REQUEST = fullSendBounce();

async function parse(raw: string): Promise<Email> {
  return PostalMime.parse(raw);
}

function partContent(email: Email, mimeType: string): string | undefined {
  const part = email.attachments.find((a) => a.mimeType === mimeType);
  if (part === undefined) return undefined;
  return typeof part.content === 'string' ? part.content : new TextDecoder().decode(part.content);
}

/** Splits a message/delivery-status body into its field groups (RFC 3464 §2.1), unfolding lines. */
function dsnGroups(content: string): Record<string, string>[] {
  return content
    .replace(/\r\n/g, '\n')
    .replace(/\n[ \t]+/g, ' ')
    .split(/\n\n+/)
    .filter((group) => group.trim() !== '')
    .map((group) =>
      Object.fromEntries(group.split('\n').filter(Boolean).map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      })),
    );
}

function header(email: Email, name: string): string[] {
  return email.headers.filter((h) => h.key === name).map((h) => h.value);
}

/**
 * RFC 5322 §2.1.1/§2.2.3: lines SHOULD stay within 78 characters and MUST within 998; only a
 * line holding a single unbreakable token (e.g. a long msg-id) may exceed 78.
 */
function overlongLines(text: string): string[] {
  return text.split('\r\n').filter((line) => line.length > 998 || (line.length > 78 && /\S\s+\S/.test(line.replace(/^[\w-]+:/, ''))));
}

/** The top-level header block, before the first empty line. */
function headerBlock(raw: string): string {
  return raw.slice(0, raw.indexOf('\r\n\r\n'));
}

describe('renderDsnMessage', () => {
  it('writes a multipart/report of type delivery-status with the human-readable, status and original-headers parts in that order', async () => {
    const raw = renderDsnMessage(REQUEST, OPTIONS);
    const contentType = header(await parse(raw), 'content-type')[0]!;
    expect(contentType).toMatch(/^multipart\/report; report-type=delivery-status; boundary="[^"]+"$/);
    const boundary = /boundary="([^"]+)"/.exec(contentType)![1]!;
    const partTypes = raw.split(`--${boundary}`).slice(1, -1).map((part) => /Content-Type: ([^;\r\n]+)/.exec(part)?.[1]);
    expect(partTypes).toEqual(['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    expect(raw).toContain(`\r\n--${boundary}--\r\n`);
  });

  it('addresses the report from the bounce sender to the original Return-Path, as a reply to the original message', async () => {
    const email = await parse(renderDsnMessage(REQUEST, OPTIONS));
    expect(email.from).toEqual({ name: 'Mail Delivery Subsystem', address: 'mailer-daemon@example.com' });
    expect(email.to).toEqual([{ name: '', address: 'sender@origin.example' }]);
    expect(email.subject).toBe('Delivery Status Notification (Failure)');
    expect(header(email, 'date')).toEqual(['Wed, 01 May 2024 10:00:02 +0000']);
    expect(email.messageId).toBe(`<${OPTIONS.messageId}@example.com>`);
    expect(email.inReplyTo).toBe('<original-123@origin.example>');
    expect(email.references).toBe('<original-123@origin.example>');
    expect(header(email, 'mime-version')).toEqual(['1.0']);
    expect(header(email, 'auto-submitted')).toEqual(['auto-replied']);
  });

  it('keeps a display name the bounce sender already has', async () => {
    const email = await parse(renderDsnMessage({ ...REQUEST, BounceSender: '"Postmaster, Example" <postmaster@example.com>' }, OPTIONS));
    expect(email.from).toEqual({ name: 'Postmaster, Example', address: 'postmaster@example.com' });
  });

  it('writes the RFC 3464 per-message and per-recipient fields, with extension fields, in the delivery-status part', async () => {
    const email = await parse(renderDsnMessage(REQUEST, OPTIONS));
    const [perMessage, first, second, ...rest] = dsnGroups(partContent(email, 'message/delivery-status')!);
    expect(rest).toEqual([]);
    expect(perMessage).toEqual({
      'reporting-mta': 'dns; mx.example.com',
      'arrival-date': 'Wed, 01 May 2024 10:00:00 +0000',
      'x-policy-rule': 'unknown-users',
    });
    expect(first).toEqual({
      'final-recipient': 'rfc822; nobody@example.com',
      action: 'failed',
      status: '5.1.1',
      'remote-mta': 'dns; mx.example.com',
      'diagnostic-code': 'smtp; 550 5.1.1 user unknown',
      'last-attempt-date': 'Wed, 01 May 2024 10:00:01 +0000',
      'x-recipient-note': 'closed account',
    });
    expect(second).toEqual({ 'final-recipient': 'rfc822; full@example.com', action: 'failed', status: '5.2.2' });
  });

  it.each<[BounceType, string]>([
    ['DoesNotExist', '5.1.1'],
    ['MessageTooLarge', '5.3.4'],
    ['ExceededQuota', '5.2.2'],
    ['ContentRejected', '5.7.1'],
    ['TemporaryFailure', '4.0.0'],
    ['Undefined', '5.0.0'],
  ])('derives Action failed and Status %s → %s for a recipient given only a bounce type', async (bounceType, status) => {
    const request: SendBounceRequest = { ...REQUEST, BouncedRecipientInfoList: [{ Recipient: 'a@example.com', BounceType: bounceType }] };
    const email = await parse(renderDsnMessage(request, OPTIONS));
    const [, recipient] = dsnGroups(partContent(email, 'message/delivery-status')!);
    expect(recipient).toEqual({ 'final-recipient': 'rfc822; a@example.com', action: 'failed', status });
  });

  it('uses the recipient address as Final-Recipient when the DSN fields name none', async () => {
    const request: SendBounceRequest = {
      ...REQUEST,
      BouncedRecipientInfoList: [{ Recipient: 'a@example.com', RecipientDsnFields: { Action: 'delayed', Status: '4.2.2' } }],
    };
    const email = await parse(renderDsnMessage(request, OPTIONS));
    expect(dsnGroups(partContent(email, 'message/delivery-status')!)[1]).toEqual({
      'final-recipient': 'rfc822; a@example.com',
      action: 'delayed',
      status: '4.2.2',
    });
    expect(email.subject).toBe('Delivery Status Notification (Delay)');
  });

  it('uses the default Reporting-MTA and the bounce date as Arrival-Date when the request has no MessageDsn', async () => {
    const { MessageDsn: _omitted, ...request } = REQUEST;
    const email = await parse(renderDsnMessage(request, { ...OPTIONS, defaultReportingMta: 'dns; inbound-smtp.eu-west-1.amazonaws.com' }));
    expect(dsnGroups(partContent(email, 'message/delivery-status')!)[0]).toEqual({
      'reporting-mta': 'dns; inbound-smtp.eu-west-1.amazonaws.com',
      'arrival-date': 'Wed, 01 May 2024 10:00:02 +0000',
    });
  });

  it('explains the failure and lists each recipient with status and diagnostic in the text part', async () => {
    const email = await parse(renderDsnMessage(REQUEST, OPTIONS));
    expect(email.text).toContain('The address does not exist here.');
    expect(email.text).toMatch(/nobody@example\.com\n\s+Status: 5\.1\.1 \(failed\)\n\s+Diagnostic: smtp; 550 5\.1\.1 user unknown/);
    expect(email.text).toMatch(/full@example\.com\n\s+Status: 5\.2\.2 \(failed\)/);
  });

  it('generates the explanation from the bounce types when the request has none', async () => {
    const { Explanation: _omitted, ...request } = REQUEST;
    const email = await parse(renderDsnMessage(request, OPTIONS));
    expect(email.text).toContain('does not exist');
    expect(email.text).toContain('mailbox is full');
  });

  it('copies the original headers into the text/rfc822-headers part', async () => {
    const email = await parse(renderDsnMessage(REQUEST, OPTIONS));
    expect(partContent(email, 'text/rfc822-headers')!.split(/\r?\n/).filter(Boolean)).toEqual([
      'Return-Path: <sender@origin.example>',
      'From: Sender <sender@origin.example>',
      'To: nobody@example.com',
      'Message-ID: <original-123@origin.example>',
      'Subject: Hello',
    ]);
  });

  it('leaves out To, In-Reply-To and the original-headers part when the original headers are unknown', async () => {
    const raw = renderDsnMessage(REQUEST, { messageId: OPTIONS.messageId, date: DATE });
    const email = await parse(raw);
    expect(email.to).toBeUndefined();
    expect(email.inReplyTo).toBeUndefined();
    expect(email.attachments.map((a) => a.mimeType)).toEqual(['message/delivery-status']);
  });

  it('does not address the report to a null Return-Path (the original was itself a bounce)', async () => {
    const email = await parse(renderDsnMessage(REQUEST, { ...OPTIONS, originalHeaders: [{ name: 'Return-Path', value: '<>' }] }));
    expect(email.to).toBeUndefined();
  });

  it('ends every line with CRLF and keeps header lines within 78 characters when they can be folded', () => {
    const longDiagnostic = `smtp; 550 5.1.1 ${'the mailbox you tried to reach is not known here '.repeat(8)}`.trim();
    const request: SendBounceRequest = {
      ...REQUEST,
      BouncedRecipientInfoList: [{ Recipient: 'a@example.com', RecipientDsnFields: { Action: 'failed', Status: '5.1.1', DiagnosticCode: longDiagnostic } }],
    };
    const raw = renderDsnMessage(request, OPTIONS);
    expect(raw).not.toMatch(/[^\r]\n|\r[^\n]/);
    expect(overlongLines(raw)).toEqual([]);
  });

  it('keeps every line within 998 octets even for a 10 KB original header without spaces', () => {
    const raw = renderDsnMessage(REQUEST, { ...OPTIONS, originalHeaders: [{ name: 'X-Long', value: 'a'.repeat(10_000) }] });
    expect(raw.split('\r\n').filter((line) => line.length > 998)).toEqual([]);
    expect(raw.replace(/\r\n /g, '')).toContain(`X-Long: ${'a'.repeat(10_000)}`);
  });

  it('unfolds a long folded field back to its value', async () => {
    const longDiagnostic = `smtp; 550 5.1.1 ${'word '.repeat(60)}`.trim();
    const request: SendBounceRequest = {
      ...REQUEST,
      BouncedRecipientInfoList: [{ Recipient: 'a@example.com', RecipientDsnFields: { Action: 'failed', Status: '5.1.1', DiagnosticCode: longDiagnostic } }],
    };
    const email = await parse(renderDsnMessage(request, OPTIONS));
    expect(dsnGroups(partContent(email, 'message/delivery-status')!)[1]!['diagnostic-code']).toBe(longDiagnostic);
  });

  describe('header injection', () => {
    const INJECTED = 'x\r\nBcc: victim@example.net';

    it('neutralises CR and LF in original header values so that they cannot forge header fields', async () => {
      const email = await parse(renderDsnMessage(REQUEST, {
        ...OPTIONS,
        originalHeaders: [{ name: 'Subject', value: `Hello${INJECTED.replace('x', '')}\n\nbody` }, { name: 'X-Ok', value: 'fine' }],
      }));
      const lines = partContent(email, 'text/rfc822-headers')!.split(/\r?\n/).filter(Boolean);
      expect(lines).toEqual(['Subject: Hello Bcc: victim@example.net body', 'X-Ok: fine']);
    });

    it('drops original header fields whose names are not valid field names', async () => {
      const email = await parse(renderDsnMessage(REQUEST, {
        ...OPTIONS,
        originalHeaders: [{ name: 'X-Evil\r\nBcc', value: 'victim@example.net' }, { name: 'Bad Name', value: 'v' }, { name: 'X-Ok', value: 'fine' }],
      }));
      expect(partContent(email, 'text/rfc822-headers')!.split(/\r?\n/).filter(Boolean)).toEqual(['X-Ok: fine']);
    });

    it('does not echo a Message-ID or Return-Path carrying line breaks into its own headers', async () => {
      const raw = renderDsnMessage(REQUEST, {
        ...OPTIONS,
        originalHeaders: [
          { name: 'Message-ID', value: `<id@example.com>${INJECTED}` },
          { name: 'Return-Path', value: `<sender@example.com>${INJECTED}` },
        ],
      });
      const email = await parse(raw);
      expect(email.inReplyTo).toBeUndefined();
      expect(email.to).toBeUndefined();
      expect(header(email, 'bcc')).toEqual([]);
      expect(headerBlock(raw)).not.toMatch(/victim/);
    });

    it('keeps unvalidated request fields carrying line breaks inside their own field', async () => {
      const request: SendBounceRequest = {
        ...REQUEST,
        BounceSender: `mailer-daemon@example.com${INJECTED}`,
        MessageDsn: { ReportingMta: `dns; mx.example.com${INJECTED}` },
        BouncedRecipientInfoList: [{ Recipient: 'a@example.com', RecipientDsnFields: { Action: 'failed', Status: '5.1.1', DiagnosticCode: `smtp; 550${INJECTED}` } }],
      };
      const email = await parse(renderDsnMessage(request, OPTIONS));
      expect(header(email, 'bcc')).toEqual([]);
      const groups = dsnGroups(partContent(email, 'message/delivery-status')!);
      expect(groups.flatMap(Object.keys)).not.toContain('bcc');
      expect(groups[1]!['diagnostic-code']).toBe('smtp; 550x Bcc: victim@example.net');
    });
  });

  describe('non-ASCII', () => {
    it('encodes a non-ASCII explanation as UTF-8 quoted-printable that decodes back exactly', async () => {
      const explanation = 'Ünbekannter Empfänger — 用户不存在 ✉️ '.repeat(4).trim();
      const raw = renderDsnMessage({ ...REQUEST, Explanation: explanation }, OPTIONS);
      expect(raw).toMatch(/Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable/);
      const email = await parse(raw);
      expect(email.text!.split('\n')[0]).toBe(explanation);
    });

    it('encodes a non-ASCII display name of the bounce sender with RFC 2047 and keeps the headers ASCII', async () => {
      const raw = renderDsnMessage({ ...REQUEST, BounceSender: 'Système de messagerie ✉ Überlänge Postmaster Größe <postmaster@example.com>' }, OPTIONS);
      expect(headerBlock(raw)).toMatch(/^[\x00-\x7f]*$/);
      expect(overlongLines(headerBlock(raw))).toEqual([]);
      const email = await parse(raw);
      expect(email.from).toEqual({ name: 'Système de messagerie ✉ Überlänge Postmaster Größe', address: 'postmaster@example.com' });
    });

    it('copies UTF-8 original headers unchanged in an 8bit text/rfc822-headers part (RFC 6532)', async () => {
      const raw = renderDsnMessage(REQUEST, { ...OPTIONS, originalHeaders: [{ name: 'Subject', value: 'Grüße aus Köln' }] });
      expect(raw).toMatch(/Content-Type: text\/rfc822-headers; charset=utf-8\r\nContent-Transfer-Encoding: 8bit/);
      const email = await parse(raw);
      expect(partContent(email, 'text/rfc822-headers')!.trim()).toBe('Subject: Grüße aus Köln');
    });

    it('round-trips any explanation without control characters through the text part', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), async (text) => {
          fc.pre(!/\p{Cc}/u.test(text) && text.trim() === text && text !== '');
          const email = await parse(renderDsnMessage({ ...REQUEST, Explanation: text }, OPTIONS));
          expect(email.text!.split('\n')[0]).toBe(text);
        }),
        { numRuns: 150 },
      );
    });
  });
});

describe('formatRfc5322Date', () => {
  it('formats a date as an RFC 5322 date-time in UTC with a numeric zone', () => {
    expect(formatRfc5322Date(new Date('2024-02-29T03:04:05.678Z'))).toBe('Thu, 29 Feb 2024 03:04:05 +0000');
  });
});
