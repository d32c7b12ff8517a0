// The Lambda entry points exactly as deployed: configured by the documented environment only (README "Handler environment"),
// against dynalite, the local SES endpoint and a thin SQS fake.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, SQSEvent } from 'aws-lambda';
import { createLedgerTable, DynamoDbLedger } from '../../lambda/aws/ledger.js';
import { localDynamoDbClient, startDynalite, type LocalDynamoDb } from '../../local/dynamodb.js';
import { startSesEndpoint, type SesEndpoint } from '../../local/ses-endpoint.js';
import { recentEvent } from '../support/pipeline.js';
import { startFakeSqs } from '../support/sqs-fake.js';

let dynamo: LocalDynamoDb;
let ses: SesEndpoint;
let sqs: Awaited<ReturnType<typeof startFakeSqs>>;
let receipt: typeof import('../../lambda/receipt.js').handler;
let deliverHandler: typeof import('../../lambda/deliver.js').handler;
const saved = { ...process.env };
const context = { getRemainingTimeInMillis: () => 60_000, functionName: 'test', awsRequestId: 'r1' } as unknown as Context;

beforeAll(async () => {
  dynamo = await startDynalite();
  await createLedgerTable(localDynamoDbClient(dynamo.endpoint), 'ses-bouncer-test');
  ses = await startSesEndpoint({ ratePerSecond: 20 });
  sqs = await startFakeSqs();
  const dir = mkdtempSync(join(tmpdir(), 'handlers-'));
  writeFileSync(join(dir, 'policy.yaml'), 'version: 1\nbounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }\nrules:\n  - { name: unknown, then: bounce, bounceType: DoesNotExist }\n');
  Object.assign(process.env, {
    BOUNCE_TABLE_NAME: 'ses-bouncer-test',
    BOUNCE_QUEUE_URL: `${sqs.url}/000000000000/ses-bouncer.fifo`,
    POLICY_FILE: join(dir, 'policy.yaml'),
    SEND_RATE_PER_SECOND: '20',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.url,
    AWS_ENDPOINT_URL_SES: ses.url,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  receipt = (await import('../../lambda/receipt.js')).handler;
  deliverHandler = (await import('../../lambda/deliver.js')).handler;
});

afterAll(async () => {
  process.env = saved;
  await Promise.all([dynamo.close(), ses.close(), sqs.close()]);
});

function sqsEvent(receiveCount = 1): SQSEvent {
  return {
    Records: sqs.messages.splice(0).map((message, i) => ({
      messageId: `m${i}`,
      receiptHandle: `h${i}`,
      body: message.body,
      attributes: { ApproximateReceiveCount: String(receiveCount) },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:ses-bouncer.fifo',
      awsRegion: 'eu-west-1',
    })) as SQSEvent['Records'],
  };
}

describe('the deployed handlers', () => {
  it('receipt queues one FIFO message in the bounce group; deliver sends it and records SENT', async () => {
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    expect(await receipt(event, context)).toEqual({ disposition: 'STOP_RULE_SET' });
    expect(sqs.messages).toHaveLength(1);
    expect(sqs.messages[0]).toMatchObject({ groupId: 'ses-bounces', deduplicationId: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await deliverHandler(sqsEvent(), context)).toEqual({ batchItemFailures: [] });
    expect(ses.accepted).toHaveLength(1);
    const messageId = (event.Records[0] as { ses: { mail: { messageId: string } } }).ses.mail.messageId;
    const ledger = new DynamoDbLedger(localDynamoDbClient(dynamo.endpoint), 'ses-bouncer-test');
    expect((await ledger.get(messageId, ['ghost@example.com'])).get('ghost@example.com')?.state).toBe('SENT');
  });

  it('receipt fails open on an invalid event and on a queue failure, and a later invocation still bounces', async () => {
    expect(await receipt({ hello: 'world' }, context)).toEqual({ disposition: 'CONTINUE' });
    sqs.failNext(3); // the SDK's own three attempts (safe for SQS: the FIFO deduplicates)
    const event = recentEvent({ recipients: ['nobody@example.com'] });
    expect(await receipt(event, context)).toEqual({ disposition: 'CONTINUE' });
    expect(sqs.messages).toHaveLength(0);
    // The failed job's tombstone does not stand in the way of the next invocation's job.
    expect(await receipt(event, context)).toEqual({ disposition: 'STOP_RULE_SET' });
    expect(sqs.messages).toHaveLength(1);
    sqs.messages.splice(0);
  });

  it('deliver answers a partial batch response for a job it must retry', async () => {
    await receipt(recentEvent({ recipients: ['someone@example.com'] }), context);
    ses.failNext('http500', 'http500', 'http500');
    expect(await deliverHandler(sqsEvent(), context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
  });
});
