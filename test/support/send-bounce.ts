// SendBounce requests for the tests, in the core's model (lambda/core/send-bounce.ts: dates as
// ISO strings). Tests that go through the SDK send `toSdkInput(…)` of the same value.
import type { SesSendBounce } from '../../lambda/core/send-bounce.js';

/** Every field: a message extension field; one recipient with all DSN fields and an extension field of its own, one with a bare BounceType. */
export function fullSendBounce(originalMessageId = 'o1k2b3c4d5e6f7g8h9'): SesSendBounce {
  return {
    OriginalMessageId: originalMessageId,
    BounceSender: 'mailer-daemon@example.com',
    Explanation: 'The address does not exist here.',
    MessageDsn: {
      ReportingMta: 'dns; mx.example.com',
      ArrivalDate: '2024-05-01T10:00:00.000Z',
      ExtensionFields: [{ Name: 'X-Policy-Rule', Value: 'unknown-users' }],
    },
    BouncedRecipientInfoList: [
      {
        Recipient: 'nobody@example.com',
        BounceType: 'DoesNotExist',
        RecipientDsnFields: {
          FinalRecipient: 'nobody@example.com',
          Action: 'failed',
          Status: '5.1.1',
          RemoteMta: 'dns; mx.example.com',
          DiagnosticCode: 'smtp; 550 5.1.1 user unknown',
          LastAttemptDate: '2024-05-01T10:00:01.000Z',
          ExtensionFields: [{ Name: 'X-Recipient-Note', Value: 'closed account' }],
        },
      },
      { Recipient: 'full@example.com', BounceType: 'ExceededQuota' },
    ],
  };
}

/** The least SES takes: one recipient with a BounceType. */
export function minimalSendBounce(originalMessageId = 'o1', recipient = 'nobody@example.com'): SesSendBounce {
  return { OriginalMessageId: originalMessageId, BounceSender: 'mailer-daemon@example.com', BouncedRecipientInfoList: [{ Recipient: recipient, BounceType: 'DoesNotExist' }] };
}
