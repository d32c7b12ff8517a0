// Bundle sizes and cold starts of the two functions, bundled exactly as the CDK bundles them,
// next to a floor: a handler that imports the same AWS SDK clients and does nothing.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { build } from 'esbuild';
import { handlerBuildOptions } from '../scripts/bundle-handlers.js';
import { receive } from '../lambda/app/receive.js';
import { MemoryMetrics } from '../lambda/app/telemetry.js';
import { createLedgerTable, DynamoDbLedger } from '../lambda/aws/ledger.js';
import type { BounceJob } from '../lambda/core/job.js';
import { loadPolicyFile } from '../lambda/app/policy-loader.js';
import { localDynamoDbClient } from '../local/dynamodb.js';
import { MemoryFifoQueue } from '../local/memory-queue.js';
import { startFakeSqs } from '../test/support/sqs-fake.js';
import { rawRecord } from '../test/support/events.js';
import { fmt, median, runAlone, type Bench } from './lib.js';
import { startDynaliteService, startSesService } from './services.js';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;

const FLOORS = {
  receipt: `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
const clients = [new DynamoDBClient({}), new SQSClient({})];
export const handler = async () => ({ disposition: 'CONTINUE', clients: clients.length });`,
  deliver: `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESClient } from '@aws-sdk/client-ses';
const clients = [new DynamoDBClient({}), new SESClient({})];
export const handler = async () => ({ batchItemFailures: [], clients: clients.length });`,
} as const;

/** The floor plus the same AWS calls our handlers make, written directly: what the I/O alone costs. */
const FLOORS_WITH_CALLS = {
  receipt: `import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
const dynamo = new DynamoDBClient({});
const sqs = new SQSClient({});
export const handler = async (event) => {
  const id = event.Records[0].ses.mail.messageId;
  const TableName = process.env.BOUNCE_TABLE_NAME;
  await dynamo.send(new PutItemCommand({ TableName, Item: { pk: { S: 'floor#' + id }, sk: { S: 'r' } }, ConditionExpression: 'attribute_not_exists(pk)' }));
  await dynamo.send(new UpdateItemCommand({ TableName, Key: { pk: { S: 'floor-sender#' + id }, sk: { S: 'h' } }, UpdateExpression: 'ADD #c :one', ExpressionAttributeNames: { '#c': 'count' }, ExpressionAttributeValues: { ':one': { N: '1' } } }));
  await sqs.send(new SendMessageCommand({ QueueUrl: process.env.BOUNCE_QUEUE_URL, MessageBody: JSON.stringify(event).slice(0, 2000), MessageGroupId: 'g', MessageDeduplicationId: id }));
  return { disposition: 'STOP_RULE_SET' };
};`,
  deliver: `import { DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SESClient, SendBounceCommand } from '@aws-sdk/client-ses';
const dynamo = new DynamoDBClient({});
const ses = new SESClient({ maxAttempts: 1 });
export const handler = async (event) => {
  const job = JSON.parse(event.Records[0].body);
  const TableName = process.env.BOUNCE_TABLE_NAME;
  await dynamo.send(new QueryCommand({ TableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'msg#' + job.messageId } }, ConsistentRead: true }));
  const input = job.sendBounce;
  await ses.send(new SendBounceCommand({ ...input, MessageDsn: { ...input.MessageDsn, ArrivalDate: new Date(input.MessageDsn.ArrivalDate) }, BouncedRecipientInfoList: input.BouncedRecipientInfoList.map((r) => ({ ...r, RecipientDsnFields: { ...r.RecipientDsnFields, LastAttemptDate: new Date(r.RecipientDsnFields.LastAttemptDate) } })) }));
  await dynamo.send(new UpdateItemCommand({ TableName, Key: { pk: { S: 'msg#' + job.messageId }, sk: { S: 'floor' } }, UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'state' }, ExpressionAttributeValues: { ':s': { S: 'SENT' } } }));
  return { batchItemFailures: [] };
};`,
} as const;

// Runs in a fresh node: load the bundle (Lambda's init), handle one event, report both phases.
const RUNNER = `const { performance } = require('node:perf_hooks');
const [bundle, eventFile, resultFile] = process.argv.slice(2);
const started = performance.now();
const { handler } = require(bundle);
const loaded = performance.now();
const context = { functionName: 'bench', awsRequestId: 'r', getRemainingTimeInMillis: () => 60000 };
Promise.resolve(handler(JSON.parse(require('node:fs').readFileSync(eventFile, 'utf8')), context)).then((result) => {
  const done = performance.now();
  require('node:fs').writeFileSync(resultFile, JSON.stringify({ processToLoaded: loaded, initMs: loaded - started, invokeMs: done - loaded, totalMs: done, result }));
});`;

async function bundle(entry: string, outfile: string): Promise<{ bytes: number; gzip: number }> {
  // The package's own bundling (scripts/bundle-handlers.ts), for ours and for the floors alike.
  await build({ ...handlerBuildOptions(ROOT), entryPoints: [entry], outfile, external: [] });
  const code = readFileSync(outfile);
  return { bytes: statSync(outfile).size, gzip: gzipSync(code, { level: 9 }).length };
}

export const coldStartBench: Bench = {
  name: 'coldstart',
  async run({ quick }) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-coldstart-'));
    const sizes: Record<string, { bytes: number; gzip: number }> = {};
    for (const name of ['receipt', 'deliver'] as const) {
      sizes[name] = await bundle(join(ROOT, `lambda/${name}.ts`), join(dir, `${name}.cjs`));
      writeFileSync(join(dir, `floor-${name}.ts`), FLOORS[name]);
      sizes[`floor-${name}`] = await bundle(join(dir, `floor-${name}.ts`), join(dir, `floor-${name}.cjs`));
      writeFileSync(join(dir, `calls-${name}.ts`), FLOORS_WITH_CALLS[name]);
      sizes[`calls-${name}`] = await bundle(join(dir, `calls-${name}.ts`), join(dir, `calls-${name}.cjs`));
    }
    writeFileSync(join(dir, 'runner.cjs'), RUNNER);
    const policy = loadPolicyFile(join(ROOT, 'examples/policy.yaml'));
    writeFileSync(join(dir, 'policy.json'), JSON.stringify(policy.document));

    const dynamo = await startDynaliteService();
    const ses = await startSesService(1000);
    const sqs = await startFakeSqs();
    const client = localDynamoDbClient(dynamo.url);
    await createLedgerTable(client, 'coldstart');
    const ledger = new DynamoDbLedger(client, 'coldstart');
    const env = {
      ...process.env,
      AWS_LAMBDA_FUNCTION_NAME: 'bench',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
      AWS_ENDPOINT_URL_SQS: sqs.url,
      AWS_ENDPOINT_URL_SES: ses.url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      BOUNCE_TABLE_NAME: 'coldstart',
      BOUNCE_QUEUE_URL: `${sqs.url}/000000000000/ses-bouncer.fifo`,
      LAMBDA_TASK_ROOT: dir,
      SEND_RATE_PER_SECOND: '1000',
    };
    const invoke = async (bundleName: string, event: unknown) => {
      const eventFile = join(dir, `event-${randomUUID()}.json`);
      const resultFile = join(dir, `result-${randomUUID()}.json`);
      writeFileSync(eventFile, JSON.stringify(event));
      await run(process.execPath, [join(dir, 'runner.cjs'), join(dir, `${bundleName}.cjs`), eventFile, resultFile], { env, cwd: dir });
      return JSON.parse(readFileSync(resultFile, 'utf8')) as { initMs: number; invokeMs: number; totalMs: number; result: unknown };
    };
    const receiptEvent = () => ({ Records: [rawRecord({ messageId: `cold-${randomUUID()}`, source: `sender-${randomUUID()}@partner.example`, recipients: ['ghost@example.com'], receiptTime: new Date(Date.now() - 60_000).toISOString() })] });
    const deliverEvent = async () => {
      // A job as the receipt function leaves it: claimed in the ledger, queued.
      const queue = new MemoryFifoQueue();
      await receive(receiptEvent(), { policy, ledger, queue, logger: new Logger({ logLevel: 'SILENT' }), metrics: new MemoryMetrics() });
      const job: BounceJob = queue.sent[0]!;
      return { Records: [{ messageId: randomUUID(), receiptHandle: 'h', body: JSON.stringify(job), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn', awsRegion: 'eu-west-1' }] };
    };

    const runs = quick ? 3 : 21;
    const samples: Record<string, { init: number[]; total: number[] }> = {};
    const record = (name: string, sample: { initMs: number; totalMs: number }) => {
      samples[name] ??= { init: [], total: [] };
      samples[name].init.push(sample.initMs);
      samples[name].total.push(sample.totalMs);
    };
    let checked = false;
    try {
      for (let i = 0; i < runs; i++) {
        // Interleaved, so that the machine's noise falls on ours and the floor alike.
        const receipt = await invoke('receipt', receiptEvent());
        if (!checked && JSON.stringify(receipt.result) !== '{"disposition":"STOP_RULE_SET"}') throw new Error(`the receipt bundle answered ${JSON.stringify(receipt.result)}`);
        checked = true;
        record('receipt', receipt);
        record('floor-receipt', await invoke('floor-receipt', receiptEvent()));
        record('calls-receipt', await invoke('calls-receipt', receiptEvent()));
        record('deliver', await invoke('deliver', await deliverEvent()));
        record('floor-deliver', await invoke('floor-deliver', await deliverEvent()));
        record('calls-deliver', await invoke('calls-deliver', await deliverEvent()));
      }
    } finally {
      client.destroy();
      await sqs.close();
      await ses.stop();
      await dynamo.stop();
    }
    const sent = await Promise.resolve(runs);
    const rows: string[][] = [];
    const overhead = (ours: number, floor: number) => `${(((ours - floor) / floor) * 100).toFixed(0)} %`;
    for (const name of ['receipt', 'deliver'] as const) {
      const ours = median(samples[name]!.total);
      const floor = median(samples[`floor-${name}`]!.total);
      const calls = median(samples[`calls-${name}`]!.total);
      rows.push([
        name,
        `${fmt.kb(sizes[name]!.bytes)} (${fmt.kb(sizes[name]!.gzip)} gz)`,
        `${fmt.kb(sizes[`floor-${name}`]!.bytes)} (${fmt.kb(sizes[`floor-${name}`]!.gzip)} gz)`,
        `${fmt.ms(median(samples[name]!.init))} / ${fmt.ms(median(samples[`floor-${name}`]!.init))}`,
        `${fmt.ms(ours)} / ${fmt.ms(floor)} / ${fmt.ms(calls)}`,
        overhead(ours, floor),
        overhead(ours, calls),
      ]);
    }
    return {
      title: 'Bundle size and cold start',
      method: `Both functions bundled with the package's own esbuild options (\`scripts/bundle-handlers.ts\`: CJS, node24, minified, source maps, AWS SDK bundled), next to a floor bundled the same way: a handler that imports the same SDK clients and does nothing. Cold start: a fresh \`node\` process loads the bundle (Lambda's init: for ours, configuration, policy and clients) and handles one event against dynalite, the local SES endpoint and an SQS fake, each in its own process; the receipt event bounces one recipient (sender counter, SendMessage), the delivery event sends it (claim, SendBounce, outcome). Medians of ${sent} runs, ours and the floor interleaved. Node ${process.version} here; Lambda runs nodejs24.x.`,
      header: ['function', 'bundle', 'floor bundle', 'init: ours / floor', 'process start → answered: ours / floor / floor + same calls', 'over floor', 'over floor + same calls'],
      rows,
      notes: [
        'Target: under 25 % over the floor. The floor does no I/O, so its column charges ours with the first DynamoDB, SQS and SES calls (SDK set-up, connections) too; the last column compares with the floor making the same calls, which is the cost of ses-bouncer itself.',
      ],
    };
  },
};

await runAlone(coldStartBench, import.meta.url);
