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
import { planDecision } from '../lambda/core/decide.js';
import { parseSesEvent, type SesRecord } from '../lambda/core/event.js';
import { loadPolicyFile, parsePolicy, type CompiledPolicy } from '../lambda/app/policy-loader.js';
import { localDynamoDbClient, startDynalite } from '../local/dynamodb.js';
import { MemoryFifoQueue } from '../local/memory-queue.js';
import { startDynaliteService, startSesService } from './services.js';
import { countingQueue, startMeteredEngines } from './metered.js';
import { fmt, median, runAlone, type Bench } from './lib.js';
import { runChaos } from '../test/chaos/run.js';

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
  const timeOf = async (fn: (event: unknown) => unknown) => {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const event = structuredClone(events[i % events.length]!);
      event.Records[0].ses.mail.messageId = randomUUID();
      const started = performance.now();
      await fn(event);
      samples.push(performance.now() - started);
    }
    const kept = samples.slice(runs / 5);
    return Object.assign(median(kept), { mean: kept.reduce((a, b) => a + b, 0) / kept.length });
  };
  const deps: ReceiptDeps = { policy, ledger: new InMemoryLedger(), queue: new MemoryFifoQueue(), logger, metrics: new MemoryMetrics() };
  const full = await timeOf((event) => receive(event, deps));
  const decideOnly = await timeOf((event) => {
    for (const result of parseSesEvent(event)) if (result.ok) planDecision(result.record, policy, new Date());
  });
  // With its I/O against local engines (dynalite in this process): what the cost figure bills.
  const dynamo = await startDynalite();
  const client = localDynamoDbClient(dynamo.endpoint);
  try {
    await createLedgerTable(client, 'overhead');
    const withIo: ReceiptDeps = { ...deps, ledger: new DynamoDbLedger(client, 'overhead') };
    // Billed per millisecond, at least one per invocation.
    const fullWithIo = Math.max(1, (await timeOf((event) => receive(event, withIo))).mean);
    return { full: Number(full), decideOnly: Number(decideOnly), fullWithIo };
  } finally {
    client.destroy();
    await dynamo.close();
  }
}

/** Requests one message costs, counted where they arrive. */
interface MessageCost {
  readonly name: string;
  /** Recipients bounced (SendBounce entries accepted by SES). */
  readonly bounced: number;
  readonly dynamoReads: number;
  readonly dynamoWrites: number;
  /** SendMessage by the receipt function, and by the delivery function (requeues, dead letters). */
  readonly sqsSends: number;
  /** Delivery invocations the job took (one receive and one delete each, made by the event source mapping). */
  readonly deliveries: number;
  /** The same message with an idempotency record put and updated around the receipt invocation. */
  readonly idempotencyWrites: number;
}

async function requestsPerMessage(policy: CompiledPolicy): Promise<MessageCost[]> {
  const engines = await startMeteredEngines('bench', 100);
  const { ledger, ses } = engines;
  const rows: MessageCost[] = [];
  try {
    for (const { name, event } of exampleEvents()) {
      const { queue, port, sends } = countingQueue();
      engines.resetCounts();
      const accepted = ses.stats.accepted;
      await receive(event, { policy, ledger, queue: port, logger, metrics: new MemoryMetrics() });
      const deliverDeps = { ledger, sender: new SesBounceSender(engines.sesClient), pacer: new Pacer(100), logger, metrics: new MemoryMetrics(), requeue: port, deadLetters: port };
      let deliveries = 0;
      await queue.drain((sqs) => ((deliveries += 1), deliver(sqs, deliverDeps, () => 60_000)));
      const bounced = ses.accepted.slice(accepted).reduce((sum, a) => sum + a.request.BouncedRecipientInfoList.length, 0);
      const dynamoWrites = engines.dynamoWrites();
      const dynamoReads = engines.dynamoReads();
      // The usual alternative: an idempotency record put and updated around every receipt invocation (the Powertools-idempotency pattern), on top of the same ledger.
      engines.resetCounts();
      await idempotencyStyle(engines.client, event, () => receive(structuredClone(event), { policy, ledger, queue: new MemoryFifoQueue(), logger, metrics: new MemoryMetrics() }));
      rows.push({ name, bounced, dynamoReads, dynamoWrites, sqsSends: sends(), deliveries, idempotencyWrites: dynamoWrites + engines.dynamoWrites() - (bounced > 0 ? 1 : 0) });
    }
  } finally {
    await engines.close();
  }
  return rows;
}

async function idempotencyStyle(client: DynamoDBClient, event: { Records: any[] }, body: () => Promise<unknown>) {
  const key = { pk: { S: `idem#${event.Records[0].ses.mail.messageId}#${randomUUID()}` }, sk: { S: 'invocation' } };
  await client.send(new PutItemCommand({ TableName: 'bench', Item: { ...key, status: { S: 'INPROGRESS' } }, ConditionExpression: 'attribute_not_exists(pk)' }));
  await body().catch(() => undefined);
  await client.send(new UpdateItemCommand({ TableName: 'bench', Key: key, UpdateExpression: 'SET #s = :c', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':c': { S: 'COMPLETED' } } }));
}

/**
 * Public on-demand list prices, us-east-1, as published on the AWS pricing pages for Lambda
 * (Arm), DynamoDB (after the November 2024 reduction) and SQS (FIFO), read on 2026-11-30; free
 * tiers ignored. Check the live pages for your region.
 */
const PRICES = {
  lambdaRequest: 0.2 / 1e6,
  lambdaArmGbSecond: 0.0000133334,
  dynamoWrite: 0.625 / 1e6,
  dynamoRead: 0.125 / 1e6,
  sqsFifoRequest: 0.5 / 1e6,
} as const;

/** What one message of a class costs, in dollars, from the counted requests (see the notes on the assumptions). */
function dollars(rows: readonly MessageCost[], receiptMs: number, idempotency: boolean): number {
  const perMessage = rows.map((row) => {
    const receipt = PRICES.lambdaRequest + (0.5 * receiptMs) / 1000 * PRICES.lambdaArmGbSecond;
    // A delivery invocation paces SendBounce at SES's 1/s: up to one second of a 256 MB function per bounced message.
    const delivery = row.deliveries * (PRICES.lambdaRequest + 0.25 * 1 * PRICES.lambdaArmGbSecond);
    const dynamo = (idempotency ? row.idempotencyWrites : row.dynamoWrites) * PRICES.dynamoWrite + row.dynamoReads * PRICES.dynamoRead;
    // Each job: the receipt's SendMessage, and the event source mapping's ReceiveMessage and DeleteMessage.
    const sqs = (row.sqsSends + 2 * row.deliveries) * PRICES.sqsFifoRequest;
    return receipt + delivery + dynamo + sqs;
  });
  return perMessage.reduce((a, b) => a + b, 0) / Math.max(1, rows.length);
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
    const total = (rows: readonly MessageCost[], pick: (row: MessageCost) => number) => rows.reduce((s, r) => s + pick(r), 0);
    const recipients = total(bouncing, (r) => r.bounced);
    const writesPerRecipient = (total(bouncing, (r) => r.dynamoWrites) - bouncing.length) / recipients;
    const chaos = await runChaos({ schedules: quick ? 2 : 40, firstSeed: 20261130, hangs: false, named: true });
    // A domain's usual mix: most mail is delivered or dropped, a few percent goes to addresses that bounce.
    const mix = 0.05;
    const perMillion = (idempotency: boolean) =>
      1e6 * ((1 - mix) * dollars(quiet, overhead.fullWithIo, idempotency) + mix * dollars(bouncing, overhead.fullWithIo, idempotency));
    return {
      title: 'The bounce pipeline',
      method:
        `Receipt overhead: the receipt use-case with a no-I/O ledger and queue vs validation + decision alone, median per example message. ` +
        `Requests: every example event (${requests.length}) through receipt and delivery against dynalite, DynamoDB requests counted at the endpoint, SQS sends counted at the queue port, ` +
        `next to the same with an idempotency record put and updated around each receipt invocation (the Powertools-idempotency pattern). ` +
        `Burst: ${count} bounces at a compressed ${limit} SendBounce/s limit on the local SES endpoint (its own process, as are dynalite's), queued and paced vs each receipt invocation calling SendBounce itself with the SDK's standard retries; ${repeats} bursts each. ` +
        `Chaos: the fault-injection suite's named scenarios and ${chaos.schedules - 8} random schedules (no hangs; \`npm run chaos\` runs more, with hangs). ` +
        `Cost: the counted requests × public us-east-1 on-demand prices read on 2026-11-30 (Lambda Arm $0.20/M requests + $0.0000133334/GB-s, DynamoDB $0.625/M writes + $0.125/M reads, SQS FIFO $0.50/M requests; free tiers ignored), for a mix of ${100 - mix * 100} % messages with nothing to bounce and ${mix * 100} % bounced as in the corpus.`,
      header: ['measure', 'value', 'target'],
      rows: [
        ['receipt use-case per message, no I/O', fmt.ms(overhead.full), '< 1 ms'],
        ['of which validation + decision', fmt.ms(overhead.decideOnly), ''],
        ['DynamoDB requests, messages with nothing to bounce (mean)', (total(quiet, (r) => r.dynamoReads + r.dynamoWrites) / quiet.length).toFixed(2), '0'],
        ['DynamoDB writes per bounced recipient (claim + outcome), plus one sender counter per bounced message', `${writesPerRecipient.toFixed(2)} + 1`, '≤ 2 + counter'],
        ['DynamoDB reads on the normal path (bounced messages)', String(total(bouncing, (r) => r.dynamoReads)), '0'],
        ['DynamoDB writes over the corpus: ours / idempotency-record design', `${total(requests, (r) => r.dynamoWrites)} / ${total(requests, (r) => r.idempotencyWrites)}`, ''],
        ['SQS requests per bounced message (SendMessage + receive + delete)', (total(bouncing, (r) => r.sqsSends + 2 * r.deliveries) / bouncing.length).toFixed(2), ''],
        [`queued: achieved rate / limit (median of ${repeats} bursts)`, `${(achieved / limit).toFixed(3)} (${achieved.toFixed(1)}/s; each: ${bursts.map((b) => (b.queued.achieved / limit).toFixed(3)).join(', ')})`, '≥ 0.95'],
        [`queued: throttled calls / lost / duplicated bounces (all ${repeats} bursts)`, `${sum((b) => b.queued.throttled)} / ${sum((b) => b.queued.lost)} / ${sum((b) => b.queued.duplicates)}`, '0 / 0 / 0'],
        [`direct: throttled calls / lost / duplicated bounces (all ${repeats} bursts)`, `${sum((b) => b.direct.throttled)} / ${sum((b) => b.direct.lost)} / ${sum((b) => b.direct.duplicates)}`, ''],
        [
          `chaos: schedules / faults injected / processes killed / SendBounce requests`,
          `${chaos.schedules} / ${chaos.faults} / ${chaos.kills} / ${chaos.sendBounceRequests}`,
          '',
        ],
        ['chaos: duplicates / stranded / UNKNOWN without a real doubt', `${chaos.duplicates} / ${chaos.stranded} / ${chaos.unjustifiedUnknown}`, '0 / 0 / 0'],
        ['chaos: UNKNOWN, of which the function was killed holding the attempt before its request left (allowed)', `${chaos.unknown} / ${chaos.unknownWithoutRequest}`, ''],
        ['cost per million inbound messages: ours / idempotency-record design', `$${perMillion(false).toFixed(2)} / $${perMillion(true).toFixed(2)}`, ''],
      ],
      notes: [
        `Per message, DynamoDB writes (${requests.map((r) => `${r.name.replace(/\.json$/, '')}: ${r.dynamoWrites}`).join(', ')}).`,
        'What each write buys: the sender counter (one per bounced message) enforces maxBouncesPerSenderPerHour; the claim per recipient makes the attempt the only one that may send it, and marks it for UNKNOWN if the attempt dies; the outcome per recipient is the record that it was sent (or refused, or given up). The job in SQS is the durable promise, so the receipt writes no claim. The idempotency-record design adds two writes to every receipt invocation, bounced or not.',
        `Cost assumptions: the receipt function runs ${fmt.ms(overhead.fullWithIo)} at 512 MB (the mean over the corpus against local engines, at least the 1 ms Lambda bills; AWS adds network time), the delivery function up to 1 s at 256 MB per bounced message (pacing at SES's 1/s), one job per delivery invocation (no batching; more jobs per batch cost less). At ${mix * 100} % bounced messages the pipeline costs $${(1e6 * dollars(quiet, overhead.fullWithIo, false)).toFixed(2)} per million messages with nothing to bounce and $${(1e6 * dollars(bouncing, overhead.fullWithIo, false)).toFixed(2)} per million bounced ones.`,
      ],
    };
  },
};

await runAlone(pipelineBench, import.meta.url);
