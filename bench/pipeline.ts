// The bounce pipeline: receipt overhead beyond I/O, DynamoDB requests per message (counted at the
// endpoint) next to an idempotency-record design, and a burst of bounces against the SES limit,
// queued and paced vs sent directly from every receipt invocation.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendBounceCommand, SESClient } from '@aws-sdk/client-ses';
import { deliver } from '../lambda/app/deliver.js';
import { Pacer } from '../lambda/app/pacer.js';
import { receive, type ReceiptDeps } from '../lambda/app/receive.js';
import { MemoryMetrics } from '../lambda/app/telemetry.js';
import { type BounceRecord, CancelResult, type ClaimResult, type Ledger } from '../lambda/app/ports.js';
import { createLedgerTable, DynamoDbLedger } from '../lambda/aws/ledger.js';
import { SesBounceSender, toSdkInput } from '../lambda/aws/ses.js';
import { SES_CLIENT_CONFIG } from '../lambda/aws/timeouts.js';
import { jobRecipients } from '../lambda/core/job.js';
import { planDecision } from '../lambda/core/decide.js';
import { parseSesEvent, type SesRecord } from '../lambda/core/event.js';
import { loadPolicyFile, parsePolicy, type CompiledPolicy } from '../lambda/core/policy.js';
import { localDynamoDbClient, startDynalite } from '../local/dynamodb.js';
import { MemoryFifoQueue } from '../local/memory-queue.js';
import { startSesEndpoint } from '../local/ses-endpoint.js';
import { startDynaliteService, startSesService } from './services.js';
import { startCountingProxy, writes } from './counting-proxy.js';
import { fmt, median, runAlone, type Bench } from './lib.js';

const logger = new Logger({ logLevel: 'SILENT' });
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The example events, received a minute ago, so the 24 h window holds. */
function exampleEvents(): { name: string; event: { Records: any[] } }[] {
  const dir = 'examples/events';
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const event = JSON.parse(readFileSync(join(dir, name), 'utf8'));
      const original = Date.parse(event.Records[0].ses.receipt.timestamp);
      const shift = Date.now() - 60_000 - Date.parse('2026-11-24T09:15:02.118Z');
      for (const record of event.Records) {
        record.ses.receipt.timestamp = new Date(original + shift).toISOString();
        record.ses.mail.timestamp = new Date(Date.parse(record.ses.mail.timestamp) + shift).toISOString();
      }
      return { name, event };
    });
}

/** A ledger with no I/O, to measure what the receipt function costs beyond its DynamoDB calls. */
class InMemoryLedger implements Ledger {
  async claim(_messageId: string, recipients: readonly string[]) {
    return new Map<string, ClaimResult>(recipients.map((recipient) => [recipient, { won: true }]));
  }
  async settle() {
    return [];
  }
  async release() {
    return 0;
  }
  async abandon() {
    return false;
  }
  async expire(_messageId: string, recipients: readonly string[]) {
    return this.claim(_messageId, recipients);
  }
  async cancel() {
    return CancelResult.Cancelled;
  }
  async get() {
    return new Map<string, BounceRecord>();
  }
  async takeSenderQuota() {
    return true;
  }
}

async function receiptOverhead(policy: CompiledPolicy, quick: boolean) {
  const events = exampleEvents().map(({ event }) => event);
  const runs = quick ? 200 : 3000;
  const timeOf = async (fn: (event: unknown) => Promise<unknown> | unknown) => {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const event = structuredClone(events[i % events.length]!);
      event.Records[0].ses.mail.messageId = randomUUID();
      const started = performance.now();
      await fn(event);
      samples.push(performance.now() - started);
    }
    return median(samples.slice(runs / 5));
  };
  const deps: ReceiptDeps = { policy, ledger: new InMemoryLedger(), queue: new MemoryFifoQueue(), logger, metrics: new MemoryMetrics() };
  const full = await timeOf((event) => receive(event, deps));
  const decideOnly = await timeOf((event) => {
    for (const result of parseSesEvent(event)) if (result.ok) planDecision(result.record, policy, new Date());
  });
  return { full, decideOnly };
}

async function requestsPerMessage(policy: CompiledPolicy) {
  const dynamo = await startDynalite();
  const proxy = await startCountingProxy(dynamo.endpoint);
  const client = localDynamoDbClient(proxy.url);
  await createLedgerTable(client, 'bench');
  const ses = await startSesEndpoint({ ratePerSecond: 100 });
  const sesClient = new SESClient({ ...SES_CLIENT_CONFIG, endpoint: ses.url, region: 'eu-west-1', credentials });
  const ledger = new DynamoDbLedger(client, 'bench');
  const rows: { name: string; bounced: number; ours: number; oursWrites: number; idempotency: number }[] = [];
  try {
    for (const { name, event } of exampleEvents()) {
      const queue = new MemoryFifoQueue();
      proxy.reset();
      const deps: ReceiptDeps = { policy, ledger, queue, logger, metrics: new MemoryMetrics() };
      await receive(event, deps);
      const deliverDeps = { ledger, sender: new SesBounceSender(sesClient), pacer: new Pacer(100), logger, metrics: new MemoryMetrics() };
      await queue.drain((sqs) => deliver(sqs, deliverDeps, () => 60_000));
      const ours = [...proxy.counts.values()].reduce((a, b) => a + b, 0);
      const oursWrites = writes(proxy.counts);
      const bounced = queue.sent.reduce((sum, job) => sum + jobRecipients(job).length, 0);
      // The usual alternative: an idempotency record put and updated around every invocation, on top of the same ledger.
      proxy.reset();
      await idempotencyStyle(client, event, () => receive(structuredClone(event), { ...deps, ledger: new DynamoDbLedger(client, 'bench') }));
      rows.push({ name, bounced, ours, oursWrites, idempotency: ours + writes(proxy.counts) - 0 });
    }
  } finally {
    sesClient.destroy();
    client.destroy();
    await ses.close();
    await proxy.close();
    await dynamo.close();
  }
  return rows;
}

async function idempotencyStyle(client: DynamoDBClient, event: { Records: any[] }, body: () => Promise<unknown>) {
  const key = { pk: { S: `idem#${event.Records[0].ses.mail.messageId}#${randomUUID()}` }, sk: { S: 'invocation' } };
  await client.send(new PutItemCommand({ TableName: 'bench', Item: { ...key, status: { S: 'INPROGRESS' } }, ConditionExpression: 'attribute_not_exists(pk)' }));
  await body().catch(() => undefined);
  await client.send(new UpdateItemCommand({ TableName: 'bench', Key: key, UpdateExpression: 'SET #s = :c', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':c': { S: 'COMPLETED' } } }));
}

const BURST_POLICY = `version: 1
bounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }
guards: { maxBouncesPerSenderPerHour: 0 }
rules:
  - { name: unknown, then: bounce, bounceType: DoesNotExist }
`;

function burstEvents(count: number): { Records: any[] }[] {
  const template = exampleEvents()[0]!.event;
  return Array.from({ length: count }, (_, i) => {
    const event = structuredClone(template);
    event.Records[0].ses.mail.messageId = `burst-${i}-${randomUUID()}`;
    event.Records[0].ses.mail.source = `sender${i}@partner.example`;
    return event;
  });
}

async function burst(count: number, limit: number) {
  const policy = parsePolicy(BURST_POLICY, { fileName: 'burst.yaml' });
  const dynamo = await startDynaliteService();
  const client = localDynamoDbClient(dynamo.url);
  await createLedgerTable(client, 'burst');
  const ledger = new DynamoDbLedger(client, 'burst');
  const events = burstEvents(count);
  try {
    // Queued: every receipt invocation at once, then the delivery function drains the FIFO queue.
    const queued = await startSesService(limit);
    const queue = new MemoryFifoQueue();
    await Promise.all(events.map((event) => receive(event, { policy, ledger, queue, logger, metrics: new MemoryMetrics() })));
    const sesClient = new SESClient({ ...SES_CLIENT_CONFIG, endpoint: queued.url, region: 'eu-west-1', credentials });
    const metrics = new MemoryMetrics();
    // One set of dependencies for the whole drain, as one Lambda container keeps its pacer across batches.
    const deliverDeps = { ledger, sender: new SesBounceSender(sesClient), pacer: new Pacer(limit), logger, metrics };
    await queue.drain((sqs) => deliver(sqs, deliverDeps, () => 600_000));
    sesClient.destroy();
    const seen = await queued.stop();
    const times = seen.accepted.map((a) => a.receivedAt).sort((a, b) => a - b);
    const achieved = (times.length - 1) / ((times.at(-1)! - times[0]!) / 1000);
    const unique = new Set(seen.accepted.map((a) => a.originalMessageId)).size;

    // Direct: every receipt invocation calls SendBounce itself, with the SDK's standard retries (3 attempts).
    const direct = await startSesService(limit);
    const naiveClient = new SESClient({ endpoint: direct.url, region: 'eu-west-1', credentials });
    const inputs = events.map((event) => planDecision((parseSesEvent(event)[0] as { record: SesRecord }).record, policy, new Date()).decision.sendBounce!);
    await Promise.allSettled(inputs.map((input) => naiveClient.send(new SendBounceCommand(toSdkInput(input)))));
    naiveClient.destroy();
    const directSeen = await direct.stop();
    const directUnique = new Set(directSeen.accepted.map((a) => a.originalMessageId)).size;
    return {
      queued: { achieved, throttled: seen.throttled, lost: count - unique, duplicates: seen.accepted.length - unique },
      direct: { throttled: directSeen.throttled, lost: count - directUnique, duplicates: directSeen.accepted.length - directUnique },
    };
  } finally {
    client.destroy();
    await dynamo.stop();
  }
}

export const pipelineBench: Bench = {
  name: 'pipeline',
  async run({ quick }) {
    const policy = loadPolicyFile('examples/policy.yaml');
    const overhead = await receiptOverhead(policy, quick);
    const requests = await requestsPerMessage(policy);
    const count = quick ? 40 : 300;
    const limit = 50;
    const repeats = quick ? 1 : 3;
    const bursts: Awaited<ReturnType<typeof burst>>[] = [];
    for (let i = 0; i < repeats; i++) bursts.push(await burst(count, limit));
    const sum = (pick: (b: Awaited<ReturnType<typeof burst>>) => number) => bursts.reduce((total, b) => total + pick(b), 0);
    const achieved = median(bursts.map((b) => b.queued.achieved));
    const bouncing = requests.filter((row) => row.bounced > 0);
    const quiet = requests.filter((row) => row.bounced === 0);
    const writesPerBounced = bouncing.reduce((s, r) => s + r.oursWrites, 0) / bouncing.reduce((s, r) => s + r.bounced, 0);
    return {
      title: 'The bounce pipeline',
      method: `Receipt overhead: the receipt use-case with a no-I/O ledger and queue vs validation + decision alone, median per example message. DynamoDB: every example event (${requests.length}) through receipt and delivery against dynalite, requests counted at the endpoint, next to the same with an idempotency record put and updated around each invocation (the Powertools-idempotency pattern). Burst: ${count} bounces at a compressed ${limit} SendBounce/s limit on the local SES endpoint (its own process, as are dynalite's), queued and paced vs each receipt invocation calling SendBounce itself with the SDK's standard retries; ${repeats} bursts each.`,
      header: ['measure', 'value', 'target'],
      rows: [
        ['receipt use-case per message, no I/O', fmt.ms(overhead.full), '< 1 ms'],
        ['of which validation + decision', fmt.ms(overhead.decideOnly), ''],
        ['DynamoDB requests, messages with nothing to bounce (mean)', (quiet.reduce((s, r) => s + r.ours, 0) / quiet.length).toFixed(2), '0'],
        ['DynamoDB writes per bounced recipient (claim + outcome + sender counter)', writesPerBounced.toFixed(2), '≤ 2 + counter'],
        ['DynamoDB requests over the corpus: ours / idempotency-record design', `${requests.reduce((s, r) => s + r.ours, 0)} / ${requests.reduce((s, r) => s + r.idempotency, 0)}`, ''],
        [`queued: achieved rate / limit (median of ${repeats} bursts)`, `${(achieved / limit).toFixed(3)} (${achieved.toFixed(1)}/s; each: ${bursts.map((b) => (b.queued.achieved / limit).toFixed(3)).join(', ')})`, '≥ 0.95'],
        [`queued: throttled calls / lost / duplicated bounces (all ${repeats} bursts)`, `${sum((b) => b.queued.throttled)} / ${sum((b) => b.queued.lost)} / ${sum((b) => b.queued.duplicates)}`, '0 / 0 / 0'],
        [`direct: throttled calls / lost / duplicated bounces (all ${repeats} bursts)`, `${sum((b) => b.direct.throttled)} / ${sum((b) => b.direct.lost)} / ${sum((b) => b.direct.duplicates)}`, ''],
      ],
      notes: [
        `Per message (${requests.map((r) => `${r.name.replace(/\.json$/, '')}: ${r.ours}`).join(', ')}).`,
        'A bounced message costs one conditional claim per recipient, one sender-counter update per message, one Query and one outcome update per recipient at delivery; a message with nothing to bounce costs nothing.',
      ],
    };
  },
};

await runAlone(pipelineBench, import.meta.url);
