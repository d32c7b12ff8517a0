// What the AWS SDK v3 clients report for each fault of the fault proxy, observed in a plain Node
// process. It must not run inside jest: jest's VM modules give the SDK its own `Error`, so a
// socket error from Node's realm fails the SDK's `instanceof Error` and is re-wrapped as
// "AWS SDK error wrapper for TimeoutError: socket hang up" without its `code` — not what a
// Lambda sees. fault-proxy.test.ts runs this file as a child process and checks its table.
//
//   node --import tsx test/chaos/sdk-probe.ts          # prints the table
//   node --import tsx test/chaos/sdk-probe.ts --json   # one JSON row per line
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendBounceCommand, SESClient } from '@aws-sdk/client-ses';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { pathToFileURL } from 'node:url';
import { startFaultProxy, type Fault, type FaultProtocol } from './fault-proxy.js';
import { startSqsFake } from './sqs-fake.js';
import { startDynaliteUpstream, startSesStub } from './upstreams.js';

export const PROBE_GIVE_UP_MS = 250;
/** How long the probe waits for a call that nothing may end; then the row says STILL_PENDING. */
export const PROBE_WATCHDOG_MS = 1_500;
export const STILL_PENDING = '(still pending)';

export type ProbeScenario =
  | Exclude<Fault, 'hang' | 'hangAfterForward' | 'stallBody'>
  | 'stallBody+abortSignal'
  | 'stallBody+requestTimeout'
  | 'hang+abortSignal'
  | 'hang+requestTimeout'
  | 'hangAfterForward+abortSignal'
  | 'hangAfterForward+requestTimeout'
  /** The SDK's default retry settings, answer lost. */
  | 'dropAnswer+defaultRetries'
  | 'cutBody+defaultRetries'
  /** No proxy: the endpoint's port is closed. */
  | 'connectionRefused';

export const PROBE_SCENARIOS: readonly ProbeScenario[] = [
  'pass',
  'dropRequest',
  'dropAnswer',
  'cutBody',
  'error500',
  'throttle',
  'stallBody+abortSignal',
  'stallBody+requestTimeout',
  'hang+abortSignal',
  'hang+requestTimeout',
  'hangAfterForward+abortSignal',
  'hangAfterForward+requestTimeout',
  'dropAnswer+defaultRetries',
  'cutBody+defaultRetries',
  'connectionRefused',
];

export interface ProbeRow {
  readonly protocol: FaultProtocol;
  readonly scenario: ProbeScenario;
  /** Undefined when the call succeeded. */
  readonly error?: {
    readonly name: string;
    readonly code?: string;
    readonly message: string;
    readonly httpStatusCode?: number;
    readonly attempts?: number;
    readonly fault?: string;
  };
  /** Requests the upstream received and answered, per the proxy's log. */
  readonly forwarded: number;
  /** How many times the side effect happened upstream (item written, message stored, bounce sent). */
  readonly happened: number;
}

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const TABLE = 'probe-table';
const QUEUE = 'probe.fifo';

interface ClientSettings {
  readonly maxAttempts?: number;
  readonly requestHandler?: { readonly requestTimeout: number; readonly throwOnRequestTimeout: boolean };
}

export async function runProbe(): Promise<ProbeRow[]> {
  const dynamo = await startDynaliteUpstream();
  const sqs = await startSqsFake({ queues: { [QUEUE]: {} } });
  const ses = await startSesStub();
  const refused = await startDynaliteUpstream();
  await refused.close();
  const admin = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: CREDENTIALS });
  await admin.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );

  const services: Record<FaultProtocol, { target: string; call(endpoint: string, key: string, settings: ClientSettings, signal?: AbortSignal): Promise<unknown>; happened(key: string): Promise<number> }> = {
    dynamodb: {
      target: dynamo.url,
      call: async (endpoint, key, settings, signal) => {
        const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, ...settings });
        try {
          return await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: key } } }), signal ? { abortSignal: signal } : {});
        } finally {
          client.destroy();
        }
      },
      happened: async (key) => ((await admin.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: key } } }))).Item ? 1 : 0),
    },
    sqs: {
      target: sqs.url,
      call: async (endpoint, key, settings, signal) => {
        const client = new SQSClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, ...settings });
        try {
          // An SDK retry resends the same request, deduplication id included: SQS FIFO stores the message once.
          return await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl(QUEUE), MessageBody: key, MessageGroupId: 'g', MessageDeduplicationId: key }), signal ? { abortSignal: signal } : {});
        } finally {
          client.destroy();
        }
      },
      happened: async (key) => sqs.queue(QUEUE).messages.filter((m) => m.body === key).length,
    },
    ses: {
      target: ses.url,
      call: async (endpoint, key, settings, signal) => {
        const client = new SESClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, ...settings });
        try {
          return await client.send(
            new SendBounceCommand({ OriginalMessageId: key, BounceSender: 'mailer-daemon@example.com', BouncedRecipientInfoList: [{ Recipient: 'a@example.com', BounceType: 'DoesNotExist' }] }),
            signal ? { abortSignal: signal } : {},
          );
        } finally {
          client.destroy();
        }
      },
      happened: async (key) => ses.calls.filter((c) => c.originalMessageId === key).length,
    },
  };

  const probeOne = async (protocol: FaultProtocol, scenario: ProbeScenario): Promise<ProbeRow> => {
    const service = services[protocol];
    const key = `${protocol}-${scenario}`;
    const [fault, variant] = scenario.split('+') as [string, string | undefined];
    const settings: ClientSettings =
      variant === 'defaultRetries' ? {} : variant === 'requestTimeout' ? { maxAttempts: 1, requestHandler: { requestTimeout: PROBE_GIVE_UP_MS, throwOnRequestTimeout: true } } : { maxAttempts: 1 };
    const signal = variant === 'abortSignal' ? AbortSignal.timeout(PROBE_GIVE_UP_MS) : undefined;
    if (scenario === 'connectionRefused') {
      const error = await service.call(refused.url, key, settings).then(() => undefined, describeError);
      return { protocol, scenario, ...(error ? { error } : {}), forwarded: 0, happened: await service.happened(key) };
    }
    const proxy = await startFaultProxy({ target: service.target, protocol, fault: () => fault as Fault });
    try {
      // A call nothing ends would hang the probe: past the watchdog it is reported as still pending.
      let watchdog: NodeJS.Timeout | undefined;
      const pending = new Promise<NonNullable<ProbeRow['error']>>((resolve) => {
        watchdog = setTimeout(() => resolve({ name: STILL_PENDING, message: `no outcome after ${PROBE_WATCHDOG_MS} ms` }), PROBE_WATCHDOG_MS);
      });
      const call = service.call(proxy.url, key, settings, signal).then(() => undefined, describeError);
      const error = await Promise.race([call, pending]);
      clearTimeout(watchdog);
      await proxy.settled();
      return { protocol, scenario, ...(error ? { error } : {}), forwarded: proxy.log.filter((e) => e.forwarded).length, happened: await service.happened(key) };
    } finally {
      await proxy.close();
    }
  };

  try {
    // Every scenario has its own proxy and key, so they can all run at once.
    const protocols: FaultProtocol[] = ['dynamodb', 'sqs', 'ses'];
    return await Promise.all(protocols.flatMap((protocol) => PROBE_SCENARIOS.map((scenario) => probeOne(protocol, scenario))));
  } finally {
    admin.destroy();
    await Promise.all([dynamo.close(), sqs.close(), ses.close()]);
  }
}

function describeError(error: unknown): NonNullable<ProbeRow['error']> {
  const e = error as { name?: string; code?: string; message?: string; $fault?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
  return {
    name: e.name ?? 'unknown',
    ...(e.code !== undefined ? { code: e.code } : {}),
    message: e.message ?? String(error),
    ...(e.$metadata?.httpStatusCode !== undefined ? { httpStatusCode: e.$metadata.httpStatusCode } : {}),
    ...(e.$metadata?.attempts !== undefined ? { attempts: e.$metadata.attempts } : {}),
    ...(e.$fault !== undefined ? { fault: e.$fault } : {}),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // The SDK's Node-version notice would only add noise to the table.
  process.removeAllListeners('warning');
  const rows = await runProbe();
  if (process.argv.includes('--json')) {
    for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
  } else {
    console.table(
      rows.map((r) => ({
        protocol: r.protocol,
        scenario: r.scenario,
        name: r.error?.name ?? '(ok)',
        code: r.error?.code ?? '',
        status: r.error?.httpStatusCode ?? '',
        attempts: r.error?.attempts ?? '',
        forwarded: r.forwarded,
        happened: r.happened,
        message: (r.error?.message ?? '').split('\n')[0]!.slice(0, 60),
      })),
    );
  }
}
