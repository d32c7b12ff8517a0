// Whatever recipients an SES event carries, the SendBounce calls the pipeline builds are ones
// SES's model takes: serialised by the AWS SDK's own SendBounce model, then read back and
// checked as SES checks them (the local endpoint's validation), each within the per-call limit,
// every recipient a valid canonical address listed once.
import { SendBounceCommand, SESClient } from '@aws-sdk/client-ses';
import fc from 'fast-check';
import { toSdkInput } from '../../lambda/aws/ses.js';
import { decide } from '../../lambda/core/decide.js';
import { MAX_BOUNCED_RECIPIENTS_PER_CALL, type SendBounceInput } from '../../lambda/core/dsn.js';
import { parseSesEvent } from '../../lambda/core/event.js';
import { sendBounceFor, sendGroups } from '../../lambda/core/job.js';
import { canonicalRecipient, recipientProblem } from '../../lambda/core/recipient.js';
import { parseSendBounce } from '../../local/ses-protocol.js';
import { rawRecord, SOON_AFTER } from '../support/events.js';
import { policyWith } from '../support/policies.js';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const policy = policyWith('rules:\n  - { name: unknown, then: bounce, bounceType: DoesNotExist }');

/** The form body the SDK would send for `input`: serialised by its model, never sent. */
async function wireBody(input: SendBounceInput): Promise<string> {
  let body = '';
  const client = new SESClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: { body?: unknown }) => {
        body = String(request.body);
        throw Object.assign(new Error('captured'), { name: 'Captured' });
      },
    },
  });
  await client.send(new SendBounceCommand(toSdkInput(input))).catch((error: Error) => {
    if (error.name !== 'Captured') throw error;
  });
  return body;
}

const hostileRecipient = fc.oneof(
  fc.constantFrom('ghost@example.com', 'Ghost@Example.COM', '<ghost@example.com>', 'ghost@example.com.', 'ghost@bücher.example', 'user+tag@sub.example.org'),
  fc.constantFrom('"john doe"@example.com', 'no-at-sign', 'a@b@c.example', 'jöhn@example.com', 'gh\u200bost@example.com', '@example.com', 'x@', 'x@-bad.example', 'x@[192.0.2.1]'),
  fc.tuple(fc.string({ unit: 'grapheme', maxLength: 70 }), fc.constantFrom('example.com', 'xn--bcher-kva.example', 'bücher.example', 'EXAMPLE.org.', 'x')).map(([local, domain]) => `${local}@${domain}`),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }),
);

describe('the SendBounce calls built from any recipients', () => {
  it('are taken by the SDK model and by SES\'s checks, within the per-call limit, each recipient valid and listed once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileRecipient, { minLength: 1, maxLength: 130 }), async (recipients) => {
        const [result] = parseSesEvent({ Records: [rawRecord({ recipients })] });
        if (!result!.ok) return; // not an event SES would send (an empty or 320+ character address): fails open
        const decision = decide(result!.record, policy, SOON_AFTER);
        const bounced = decision.recipients.filter((r) => r.action === 'bounce').map((r) => r.address);
        expect(new Set(bounced).size).toBe(bounced.length);
        if (decision.sendBounce === null) {
          expect(bounced).toEqual([]);
          return;
        }
        const groups = sendGroups({ sendBounce: decision.sendBounce });
        expect(groups.flat()).toEqual(bounced);
        for (const group of groups) {
          expect(group.length).toBeLessThanOrEqual(MAX_BOUNCED_RECIPIENTS_PER_CALL);
          const input = sendBounceFor({ sendBounce: decision.sendBounce }, group);
          for (const info of input.BouncedRecipientInfoList) {
            expect(recipientProblem(info.Recipient)).toBeUndefined();
            expect(canonicalRecipient(info.Recipient)).toBe(info.Recipient);
            expect(info.RecipientDsnFields.FinalRecipient).toBe(info.Recipient);
          }
          expect(JSON.stringify(input)).not.toMatch(/\\[rnt]|\\u00[01]/);
          for (const value of Object.values(input)) if (typeof value === 'string') expect(value).not.toMatch(CONTROL);
          const parsed = parseSendBounce(new URLSearchParams(await wireBody(input)));
          expect(parsed).toMatchObject({ ok: true });
        }
      }),
      { numRuns: 150 },
    );
  });

  it('split a message with more bounced recipients than one call takes into calls of at most 50, each recipient once', async () => {
    const recipients = Array.from({ length: 120 }, (_, i) => `r${i}@example.com`);
    const [result] = parseSesEvent({ Records: [rawRecord({ recipients })] });
    const decision = decide((result as { record: any }).record, policy, SOON_AFTER);
    const groups = sendGroups({ sendBounce: decision.sendBounce! });
    expect(groups.map((g) => g.length)).toEqual([50, 50, 20]);
    expect(groups.flat()).toEqual(recipients);
  });
});
