import { decide } from '../../lambda/core/decide.js';
import { record, SOON_AFTER } from '../support/events.js';
import { policy as policyFromText, policyWith } from '../support/policies.js';

function bounceWith(ruleFields: string, options = {}) {
  const decision = decide(record(options), policyWith(`rules:\n  - { name: r, then: bounce, ${ruleFields} }`), SOON_AFTER);
  return decision.sendBounce!;
}

describe('the SendBounce input (RFC 3464 DSN)', () => {
  it.each([
    ['DoesNotExist', 550, '5.1.1'],
    ['MessageTooLarge', 552, '5.3.4'],
    ['ExceededQuota', 552, '5.2.2'],
    ['ContentRejected', 550, '5.7.1'],
    ['TemporaryFailure', 450, '4.0.0'],
    ['Undefined', 554, '5.0.0'],
  ])('%s defaults to SMTP %i and status %s, Action failed', (bounceType, code, status) => {
    const input = bounceWith(`bounceType: ${bounceType}`);
    const [recipient] = input.BouncedRecipientInfoList;
    expect(recipient!.BounceType).toBe(bounceType);
    expect(recipient!.RecipientDsnFields.Status).toBe(status);
    expect(recipient!.RecipientDsnFields.Action).toBe('failed');
    expect(recipient!.RecipientDsnFields.DiagnosticCode).toMatch(new RegExp(`^smtp; ${code} ${status.replace(/\./g, '\\.')} \\S`));
  });

  it('fills every contract field from the event, the policy and the decision time', () => {
    const input = bounceWith('bounceType: DoesNotExist');
    expect(input).toEqual({
      OriginalMessageId: 'o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1',
      BounceSender: 'mailer-daemon@example.com',
      Explanation: 'The mailbox you wrote to does not exist.',
      MessageDsn: { ReportingMta: 'dns; mx.example.com', ArrivalDate: '2026-11-24T09:15:02.118Z' },
      BouncedRecipientInfoList: [
        {
          Recipient: 'nobody@example.com',
          BounceType: 'DoesNotExist',
          RecipientDsnFields: {
            FinalRecipient: 'nobody@example.com',
            Action: 'failed',
            RemoteMta: 'dns; mx.example.com',
            Status: '5.1.1',
            DiagnosticCode: 'smtp; 550 5.1.1 Recipient address rejected: mailbox does not exist',
            LastAttemptDate: SOON_AFTER.toISOString(),
          },
        },
      ],
    });
  });

  it('applies rule overrides: status, SMTP code, diagnostic, explanation, extension fields, recipient ARN', () => {
    const input = bounceWith(
      'bounceType: ContentRejected, status: "5.7.26", smtpCode: 550, diagnostic: "DMARC policy violation", explanation: "Sign your mail.", extensionFields: { X-Rule: dmarc }, recipientArn: "arn:aws:ses:eu-west-1:111122223333:identity/example.com"',
    );
    const [recipient] = input.BouncedRecipientInfoList;
    expect(recipient!.RecipientDsnFields).toMatchObject({
      Status: '5.7.26',
      DiagnosticCode: 'smtp; 550 5.7.26 DMARC policy violation',
      ExtensionFields: [{ Name: 'X-Rule', Value: 'dmarc' }],
    });
    expect(recipient!.RecipientArn).toBe('arn:aws:ses:eu-west-1:111122223333:identity/example.com');
    expect(input.Explanation).toBe('Sign your mail.');
  });

  it('carries the policy-level sender ARN and message extension fields', () => {
    const policy = policyFromText(`version: 1
bounce:
  sender: mailer-daemon@example.com
  senderArn: arn:aws:ses:eu-west-1:111122223333:identity/example.com
  reportingMta: mx.example.com
  extensionFields: { X-Bounced-By: ses-bouncer }
rules:
  - { name: r, then: bounce, bounceType: Undefined }`);
    const input = decide(record(), policy, SOON_AFTER).sendBounce!;
    expect(input.BounceSenderArn).toBe('arn:aws:ses:eu-west-1:111122223333:identity/example.com');
    expect(input.MessageDsn.ExtensionFields).toEqual([{ Name: 'X-Bounced-By', Value: 'ses-bouncer' }]);
  });

  it('lists all bounced recipients in one SendBounce, each address once, with distinct explanations in rule order', () => {
    const policy = policyWith(`rules:
  - { name: full, when: { recipient: full@example.com }, then: bounce, bounceType: ExceededQuota, explanation: "Mailbox full." }
  - { name: gone, when: { recipient: "*@example.com" }, then: bounce, bounceType: DoesNotExist, explanation: "No such user." }
  - { name: gone-too, when: { recipient: "*@example.org" }, then: bounce, bounceType: DoesNotExist, explanation: "No such user." }`);
    const decision = decide(record({ recipients: ['b@example.org', 'a@example.com', 'full@example.com', 'A@Example.com'] }), policy, SOON_AFTER);
    expect(decision.sendBounce!.BouncedRecipientInfoList.map((r) => r.Recipient)).toEqual(['b@example.org', 'a@example.com', 'full@example.com']);
    expect(decision.sendBounce!.Explanation).toBe('Mailbox full. No such user.');
  });

  it('generates the explanation from the bounce types when no rule gives one', () => {
    const policy = policyWith(`rules:
  - { name: full, when: { recipient: full@example.com }, then: bounce, bounceType: ExceededQuota }
  - { name: gone, then: bounce, bounceType: DoesNotExist }`);
    const decision = decide(record({ recipients: ['x@example.com', 'full@example.com'] }), policy, SOON_AFTER);
    expect(decision.sendBounce!.Explanation).toBe("The recipient's mailbox is full. The mailbox you wrote to does not exist.");
  });

  it('writes a recipient that came in angle brackets as a bare address', () => {
    const input = bounceWith('bounceType: DoesNotExist', { recipients: ['<nobody@example.com>'] });
    expect(input.BouncedRecipientInfoList[0]).toMatchObject({ Recipient: 'nobody@example.com', RecipientDsnFields: { FinalRecipient: 'nobody@example.com' } });
  });

  it('writes an internationalised recipient domain in its A-label form', () => {
    const input = bounceWith('bounceType: DoesNotExist', { recipients: ['Kunde@Bücher.example'] });
    expect(input.BouncedRecipientInfoList[0]!.RecipientDsnFields.FinalRecipient).toBe('kunde@xn--bcher-kva.example');
  });

  it('strips CR, LF and other control characters that the event carries, and bounds lengths', () => {
    // The injected recipient is not an address SES takes (invalid-recipient guard); the one beside it is cleaned.
    const hostile = `evil\r\nBcc: victim@example.net\u0000@example.com`;
    const input = bounceWith('bounceType: DoesNotExist', { recipients: [hostile, '<Ghost@Example.com>\r\n'], messageId: `id\r\nX-Injected: 1${'z'.repeat(200)}` });
    const json = JSON.stringify(input);
    expect(json).not.toMatch(/\\[rnt]|\\u00[01]/);
    expect(input.BouncedRecipientInfoList.map((info) => info.RecipientDsnFields.FinalRecipient)).toEqual(['ghost@example.com']);
    expect(input.OriginalMessageId).toBe(`idX-Injected: 1${'z'.repeat(200)}`);
  });
});

