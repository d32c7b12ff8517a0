import { readFileSync } from 'node:fs';
import { parseSesEvent } from '../../lambda/core/event.js';
import { documentedEvent, rawRecord } from '../support/events.js';

describe('SES event validation', () => {
  it('accepts the documented receipt-rule event', () => {
    const [result] = parseSesEvent(documentedEvent());
    expect(result).toMatchObject({ ok: true });
  });

  it('accepts the AWS developer guide example of a Lambda action event (Event invocation, dmarcPolicy)', () => {
    const [result] = parseSesEvent(JSON.parse(readFileSync('test/fixtures/aws-lambda-event-example.json', 'utf8')));
    expect(result).toMatchObject({ ok: true, record: { ses: { receipt: { dmarcPolicy: 'reject', action: { invocationType: 'Event' } } } } });
  });

  it('accepts invocation type Event, any-case dmarcPolicy, headersTruncated and missing commonHeaders', () => {
    const raw = rawRecord({ dmarcPolicy: 'Quarantine' });
    raw.ses.receipt.action.invocationType = 'Event';
    raw.ses.mail.headersTruncated = true;
    delete raw.ses.mail.commonHeaders;
    expect(parseSesEvent({ Records: [raw] })[0]).toMatchObject({ ok: true });
  });

  it('names the missing or malformed field', () => {
    const raw = rawRecord();
    delete raw.ses.mail.messageId;
    raw.ses.receipt.recipients = 'nobody@example.com';
    const [result] = parseSesEvent({ Records: [raw] });
    expect(result!.ok).toBe(false);
    const error = (result as { error: string }).error;
    expect(error).toContain('Records[0].ses.mail.messageId');
    expect(error).toContain('Records[0].ses.receipt.recipients');
  });

  it('refuses an unknown invocation type and a bad timestamp', () => {
    const raw = rawRecord();
    raw.ses.receipt.action.invocationType = 'DryRun';
    raw.ses.receipt.timestamp = 'yesterday';
    const error = (parseSesEvent({ Records: [raw] })[0] as { error: string }).error;
    expect(error).toContain('Records[0].ses.receipt.action.invocationType');
    expect(error).toContain('Records[0].ses.receipt.timestamp: not a timestamp');
  });

  it('validates each record on its own', () => {
    const results = parseSesEvent({ Records: [rawRecord(), { ses: {} }, rawRecord()] });
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
  });

  it.each([null, 'text', {}, { Records: [] }, { Records: 'x' }])('rejects %p as not an SES event', (payload) => {
    const results = parseSesEvent(payload);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ ok: false });
    expect((results[0] as { error: string }).error).toMatch(/^not an SES event: /);
  });
});
