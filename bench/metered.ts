// The engines the request figures are counted on: dynalite behind a proxy that counts DynamoDB
// requests by operation, the local SES endpoint, and a FIFO queue whose sends are counted at
// its port. Shared by the pipeline and refusal benchmarks.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESClient } from '@aws-sdk/client-ses';
import type { BounceQueue, DeadLetterQueue } from '../lambda/app/ports.js';
import { createLedgerTable, DynamoDbLedger } from '../lambda/aws/ledger.js';
import { SES_CLIENT_CONFIG } from '../lambda/aws/timeouts.js';
import { localDynamoDbClient, startDynalite } from '../local/dynamodb.js';
import { MemoryFifoQueue } from '../local/memory-queue.js';
import { startSesEndpoint, type SesEndpoint } from '../local/ses-endpoint.js';
import { startCountingProxy, WRITE_OPERATIONS, writes } from './counting-proxy.js';

export interface MeteredEngines {
  readonly client: DynamoDBClient;
  readonly ledger: DynamoDbLedger;
  readonly ses: SesEndpoint;
  readonly sesClient: SESClient;
  /** Forgets the DynamoDB requests counted so far. */
  resetCounts(): void;
  dynamoReads(): number;
  dynamoWrites(): number;
  close(): Promise<void>;
}

export async function startMeteredEngines(table: string, sesRatePerSecond: number): Promise<MeteredEngines> {
  const dynamo = await startDynalite();
  const proxy = await startCountingProxy(dynamo.endpoint);
  const client = localDynamoDbClient(proxy.url);
  await createLedgerTable(client, table);
  const ses = await startSesEndpoint({ ratePerSecond: sesRatePerSecond });
  const sesClient = new SESClient({ ...SES_CLIENT_CONFIG, endpoint: ses.url, region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return {
    client,
    ledger: new DynamoDbLedger(client, table),
    ses,
    sesClient,
    resetCounts: () => proxy.reset(),
    dynamoReads: () => [...proxy.counts].filter(([operation]) => !WRITE_OPERATIONS.includes(operation as never)).reduce((sum, [, n]) => sum + n, 0),
    dynamoWrites: () => writes(proxy.counts),
    close: async () => {
      sesClient.destroy();
      client.destroy();
      await ses.close();
      await proxy.close();
      await dynamo.close();
    },
  };
}

/** An in-process FIFO queue, and its port counting SendMessage calls (jobs queued, queued again, dead-lettered). */
export function countingQueue(): { readonly queue: MemoryFifoQueue; readonly port: BounceQueue & DeadLetterQueue; readonly sends: () => number } {
  const queue = new MemoryFifoQueue();
  let sends = 0;
  return {
    queue,
    port: {
      enqueue: (job) => ((sends += 1), queue.enqueue(job)),
      deadLetter: (body, reason) => ((sends += 1), queue.deadLetter(body, reason)),
    },
    sends: () => sends,
  };
}
