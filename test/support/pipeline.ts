import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { SESClient } from '@aws-sdk/client-ses';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Ledger } from '../../lambda/app/ports.js';
import { createLedgerTable, DynamoDbLedger } from '../../lambda/aws/ledger.js';
import { SesBounceSender } from '../../lambda/aws/ses.js';
import { SES_CLIENT_CONFIG } from '../../lambda/aws/timeouts.js';
import { deliver, PendingNotes, type DeliverDeps } from '../../lambda/app/deliver.js';
import { Pacer } from '../../lambda/app/pacer.js';
import { receive, type ReceiptDeps } from '../../lambda/app/receive.js';
import { MemoryMetrics } from '../../lambda/app/telemetry.js';
import type { CompiledPolicy } from '../../lambda/app/policy-loader.js';
import { localDynamoDbClient, startDynalite, type LocalDynamoDb } from '../../local/dynamodb.js';
import { MemoryFifoQueue } from '../../local/memory-queue.js';
import { startSesEndpoint, type SesEndpoint, type SesEndpointOptions } from '../../local/ses-endpoint.js';
import { rawRecord, type RecordOptions } from './events.js';

export const silentLogger = new Logger({ logLevel: 'SILENT' });

/** dynalite + the local SES endpoint + the in-process FIFO queue, wired to the real use-cases. */
export interface Pipeline {
  readonly dynamo: LocalDynamoDb;
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly ses: SesEndpoint;
  readonly ledger: Ledger;
  readonly queue: MemoryFifoQueue;
  readonly metrics: MemoryMetrics;
  receiptDeps(overrides?: Partial<ReceiptDeps>): ReceiptDeps;
  deliverDeps(overrides?: Partial<DeliverDeps>): DeliverDeps;
  /** Runs the queued jobs through the delivery use-case until the queue is empty. */
  drain(deps?: DeliverDeps): Promise<void>;
  close(): Promise<void>;
}

export async function startPipeline(policy: CompiledPolicy, options: { sesRate?: number; sesOptions?: SesEndpointOptions; sendRate?: number } = {}): Promise<Pipeline> {
  const dynamo = await startDynalite();
  const client = localDynamoDbClient(dynamo.endpoint);
  const tableName = `bounces-${randomUUID().slice(0, 8)}`;
  await createLedgerTable(client, tableName);
  const ses = await startSesEndpoint({ ratePerSecond: options.sesRate ?? 50, ...options.sesOptions });
  const sesClient = new SESClient({ ...SES_CLIENT_CONFIG, endpoint: ses.url, region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const ledger = new DynamoDbLedger(client, tableName);
  // Handed-back jobs come back after 20 ms instead of minutes; the redrive limit is low so that a
  // test that loops forever fails instead of hanging.
  const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 20, maxReceiveCount: 50 });
  const metrics = new MemoryMetrics();
  const sendRate = options.sendRate ?? options.sesRate ?? 50;
  const deliverDeps = (overrides: Partial<DeliverDeps> = {}): DeliverDeps => ({
    ledger,
    sender: new SesBounceSender(sesClient),
    pacer: new Pacer(sendRate),
    logger: silentLogger,
    metrics,
    requeue: queue,
    deadLetters: queue,
    notes: new PendingNotes(),
    ...overrides,
  });
  return {
    dynamo,
    client,
    tableName,
    ses,
    ledger,
    queue,
    metrics,
    receiptDeps: (overrides = {}) => ({ policy, ledger, queue, logger: silentLogger, metrics, ...overrides }),
    deliverDeps,
    drain: (deps = deliverDeps()) => queue.drain((event) => deliver(event, deps, () => 60_000)),
    close: async () => {
      sesClient.destroy();
      client.destroy();
      await ses.close();
      await dynamo.close();
    },
  };
}

/** An SES event for a message received a minute ago (recent, so the 24 h window holds and DynamoDB Local TTL never fires). */
export function recentEvent(options: RecordOptions = {}): { Records: unknown[] } {
  const receiptTime = new Date(Date.now() - 60_000).toISOString();
  return { Records: [rawRecord({ messageId: `msg-${randomUUID()}`, receiptTime, ...options })] };
}

export { receive };
