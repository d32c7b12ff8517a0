// The whole pipeline under fault injection, black-box: the deployed entry points
// (lambda/receipt.ts, lambda/deliver.ts) in child processes configured by their environment
// only, talking to dynalite, an SQS FIFO fake and the local SES endpoint through fault proxies;
// an event source mapping polling the queue; a test clock for SQS. The scenarios
// (scenarios.ts) drive it, and `invariants.ts` judges what came out against the delivery
// promise (docs/delivery.md), from outside: SES's log, the answers given to SES, the ledger.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { createLedgerTable } from '../../lambda/aws/ledger.js';
import { startSesEndpoint, type SesEndpoint } from '../../local/ses-endpoint.js';
import { createManualClock, type ManualClock } from './clock.js';
import { pollOnce, type PollResult } from './esm.js';
import { startFaultProxy, type Fault, type FaultChooser, type FaultProxy, type FaultRequestInfo } from './fault-proxy.js';
import { startLambda, type InvokeResult, type LambdaRunner } from './lambda-runner.js';
import { startSqsFake, type SqsFake } from './sqs-fake.js';
import { startDynaliteUpstream, type Upstream } from './upstreams.js';

const REGION = 'eu-west-1';
const TABLE = 'ses-bouncer-chaos';
const QUEUE = 'ses-bouncer.fifo';
const DEAD_LETTERS = 'ses-bouncer-dlq.fifo';
/** The deployed timeouts (lib/ses-bouncer.ts defaults). */
const RECEIPT_TIMEOUT_MS = 10_000;
const DELIVERY_TIMEOUT_MS = 60_000;
/** Moves a restarted delivery "container" past any attempt window of the one before it (25 s + 5 s skew). */
const CLOCK_STEP_MS = 40_000;

/** Everything bounces, from senders the guards let through (each message has its own sender). */
const POLICY = `version: 1
bounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }
guards: { maxBouncesPerSenderPerHour: 3 }
rules:
  - { name: unknown-mailbox, then: bounce, bounceType: DoesNotExist }
`;

export interface QueueTiming {
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  readonly deliveryDelaySeconds: number;
}

/** One SendBounce request as it reached the network (the SES proxy), with its fate. */
export interface SesRequest {
  readonly messageId: string;
  readonly recipients: readonly string[];
  readonly fault: Fault;
  /** The delivery child that sent it had been killed (or timed out) before its answer could count. */
  killedInFlight: boolean;
}

/** One receipt invocation and what it answered SES. */
export interface ReceiptAnswer {
  readonly messageId: string;
  readonly recipients: readonly string[];
  readonly outcome: InvokeResult;
}

/** One delivery invocation: the messages in its batch, and whether its process died in it. */
export interface DeliveryRun {
  messageIds: string[];
  outcome: PollResult['outcome'];
  killed: boolean;
}

export interface World {
  readonly ses: SesEndpoint;
  readonly sqs: SqsFake;
  readonly clock: ManualClock;
  /** SES has one proxy per delivery container, so every SendBounce request is known by who sent it. */
  readonly proxies: { readonly dynamodb: FaultProxy; readonly sqs: FaultProxy; readonly ses: readonly [FaultProxy, FaultProxy] };
  readonly timing: QueueTiming;
  readonly receipts: ReceiptAnswer[];
  readonly sesRequests: SesRequest[];
  readonly deliveries: DeliveryRun[];
  /** Faults injected (not `pass`), by proxy. */
  readonly injected: Record<'dynamodb' | 'sqs' | 'ses', number>;
  /** Sets what each proxy does from now on (unset: pass). */
  setFaults(faults: Partial<Record<'dynamodb' | 'sqs' | 'ses', FaultChooser>>): void;
  /** An SES receipt event for `recipients` of a new message (or of `messageId`). */
  event(recipients: readonly string[], messageId?: string): { Records: unknown[] };
  /** Invokes a receipt function ("container" `which`) and records its answer. */
  receive(event: { Records: unknown[] }, which?: 0 | 1, killAfterMs?: number): Promise<ReceiptAnswer>;
  /** One poll of the event source mapping into delivery container `which`; `killAfterMs` kills it mid-invocation. */
  poll(options?: { which?: 0 | 1; phantom?: boolean; killAfterMs?: number }): Promise<PollResult>;
  /** Kills a delivery container now; the next one starts cold with its clock moved past any attempt window. */
  killDelivery(which?: 0 | 1): void;
  /** The jobs in the dead-letter queue, by message id. */
  deadLetters(): string[];
  /** Lets the queue's delay and visibility timeouts run out. */
  advance(ms: number): void;
  /** With the faults off: polls until the queue is empty (or `maxRounds`), moving time on when nothing is visible. */
  drain(maxRounds?: number): Promise<void>;
  /** Every bounce record of the ledger, read past the proxy. */
  ledger(): Promise<Map<string, LedgerItem>>;
  close(): Promise<void>;
}

/** A bounce record as the ledger holds it, keyed `<message id> <recipient>`. */
export interface LedgerItem {
  readonly state: string;
  readonly attempts: number;
  readonly attemptId?: string;
}

export interface WorldOptions {
  /** Where the handlers under test live (a checkout). @default this repository */
  readonly handlersDir?: string;
  /** SendBounce calls per second (SES endpoint limit and SEND_RATE_PER_SECOND). @default 50 */
  readonly rate?: number;
}

/** The deployment's queue timing, from the checkout under test (a checkout before it had one deployed 360 s / 5 receives / no delay). */
async function queueTiming(handlersDir: string): Promise<QueueTiming> {
  try {
    const module = (await import(pathToFileURL(join(handlersDir, 'lambda/app/time-budget.ts')).href)) as {
      queueSettings?: (delivery: number, receipt: number) => QueueTiming;
    };
    if (module.queueSettings) return module.queueSettings(DELIVERY_TIMEOUT_MS / 1000, RECEIPT_TIMEOUT_MS / 1000);
  } catch {
    // fall through: an older checkout
  }
  return { visibilityTimeoutSeconds: 360, maxReceiveCount: 5, deliveryDelaySeconds: 0 };
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const handlersDir = resolve(options.handlersDir ?? process.env['CHAOS_HANDLERS_DIR'] ?? '.');
  const rate = options.rate ?? 50;
  const timing = await queueTiming(handlersDir);
  const clock = createManualClock(Date.now());
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    const dynalite: Upstream = await startDynaliteUpstream();
    closers.push(() => dynalite.close());
    const direct = new DynamoDBClient({ endpoint: dynalite.url, region: REGION, credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    closers.push(async () => direct.destroy());
    await createLedgerTable(direct, TABLE);
    const ses = await startSesEndpoint({ ratePerSecond: rate });
    closers.push(() => ses.close());
    const sqs = await startSqsFake({
      now: clock.now,
      region: REGION,
      queues: {
        [DEAD_LETTERS]: {},
        [QUEUE]: {
          visibilityTimeoutMs: timing.visibilityTimeoutSeconds * 1000,
          delayMs: timing.deliveryDelaySeconds * 1000,
          redrive: { deadLetterName: DEAD_LETTERS, maxReceiveCount: timing.maxReceiveCount },
        },
      },
    });
    closers.push(() => sqs.close());

    const sesRequests: SesRequest[] = [];
    const injected = { dynamodb: 0, sqs: 0, ses: 0 };
    const choosers: Record<'dynamodb' | 'sqs' | 'ses', FaultChooser> = { dynamodb: () => 'pass', sqs: () => 'pass', ses: () => 'pass' };
    const inFlight = new Map<number, SesRequest[]>(); // delivery container → SendBounce requests of its current invocation
    const choose = (name: 'dynamodb' | 'sqs' | 'ses', container = 0) => (info: FaultRequestInfo): Fault => {
      const fault = choosers[name](info);
      if (fault !== 'pass') injected[name] += 1;
      if (name === 'ses' && info.operation === 'SendBounce') {
        const request = { ...sendBounceOf(info.body), fault, killedInFlight: false };
        sesRequests.push(request);
        inFlight.set(container, [...(inFlight.get(container) ?? []), request]);
      }
      return fault;
    };
    const proxies = {
      dynamodb: await startFaultProxy({ target: dynalite.url, protocol: 'dynamodb', fault: choose('dynamodb') }),
      sqs: await startFaultProxy({ target: sqs.url, protocol: 'sqs', fault: choose('sqs') }),
      ses: [
        await startFaultProxy({ target: ses.url, protocol: 'ses', fault: choose('ses', 0) }),
        await startFaultProxy({ target: ses.url, protocol: 'ses', fault: choose('ses', 1) }),
      ] as const,
    };
    for (const proxy of [proxies.dynamodb, proxies.sqs, ...proxies.ses]) closers.push(() => proxy.close());

    const dir = mkdtempSync(join(tmpdir(), 'chaos-'));
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    const env = {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: proxies.dynamodb.url,
      AWS_ENDPOINT_URL_SQS: proxies.sqs.url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      BOUNCE_TABLE_NAME: TABLE,
      // The SDK sends SQS requests to the queue URL's host: the URLs name the proxy.
      BOUNCE_QUEUE_URL: `${proxies.sqs.url}/${sqs.accountId}/${QUEUE}`,
      BOUNCE_DEAD_LETTER_QUEUE_URL: `${proxies.sqs.url}/${sqs.accountId}/${DEAD_LETTERS}`,
      POLICY_FILE: join(dir, 'policy.yaml'),
      SEND_RATE_PER_SECOND: String(rate),
      POWERTOOLS_LOG_LEVEL: 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    const receipt = (n: number) =>
      startLambda({ entry: join(handlersDir, 'lambda/receipt.ts'), env: { ...env, AWS_LAMBDA_FUNCTION_NAME: `receipt-${n}` }, timeoutMs: RECEIPT_TIMEOUT_MS });
    const delivery = (n: 0 | 1) =>
      startLambda({
        entry: join(handlersDir, 'lambda/deliver.ts'),
        env: { ...env, AWS_ENDPOINT_URL_SES: proxies.ses[n].url, AWS_LAMBDA_FUNCTION_NAME: `deliver-${n}` },
        timeoutMs: DELIVERY_TIMEOUT_MS,
      });
    const receipts: LambdaRunner[] = await Promise.all([receipt(0), receipt(1)]);
    const deliveries: LambdaRunner[] = await Promise.all([delivery(0), delivery(1)]);
    for (const runner of [...receipts, ...deliveries]) closers.push(() => runner.close());
    // Each delivery container's clock: moved on at every cold start after a crash (see CLOCK_STEP_MS).
    const offsets = [0, 0];

    const world: World = {
      ses,
      sqs,
      clock,
      proxies,
      timing,
      receipts: [],
      sesRequests,
      deliveries: [],
      injected,
      setFaults(faults) {
        choosers.dynamodb = faults.dynamodb ?? (() => 'pass');
        choosers.sqs = faults.sqs ?? (() => 'pass');
        choosers.ses = faults.ses ?? (() => 'pass');
      },
      event(recipients, messageId = `chaos-${randomUUID()}`) {
        const now = new Date().toISOString();
        const headers = [
          { name: 'From', value: `sender-${messageId}@partner.example` },
          { name: 'To', value: recipients.join(', ') },
          { name: 'Subject', value: 'hello' },
          { name: 'Message-ID', value: `<${messageId}@partner.example>` },
        ];
        return {
          Records: [
            {
              eventSource: 'aws:ses',
              eventVersion: '1.0',
              ses: {
                mail: {
                  timestamp: now,
                  source: `sender-${messageId}@partner.example`,
                  messageId,
                  destination: [...recipients],
                  headersTruncated: false,
                  headers,
                  commonHeaders: { from: [`sender-${messageId}@partner.example`], to: [...recipients], subject: 'hello' },
                },
                receipt: {
                  timestamp: now,
                  processingTimeMillis: 100,
                  recipients: [...recipients],
                  spamVerdict: { status: 'PASS' },
                  virusVerdict: { status: 'PASS' },
                  spfVerdict: { status: 'PASS' },
                  dkimVerdict: { status: 'PASS' },
                  dmarcVerdict: { status: 'PASS' },
                  action: { type: 'Lambda', functionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:receipt', invocationType: 'RequestResponse' },
                },
              },
            },
          ],
        };
      },
      async receive(event, which = 0, killAfterMs) {
        const record = (event.Records[0] as { ses: { mail: { messageId: string }; receipt: { recipients: string[] } } }).ses;
        const runner = receipts[which]!;
        const timer = killAfterMs === undefined ? undefined : setTimeout(() => runner.kill(), killAfterMs);
        const outcome = await runner.invoke(event);
        clearTimeout(timer);
        const answer = { messageId: record.mail.messageId, recipients: record.receipt.recipients, outcome };
        world.receipts.push(answer);
        return answer;
      },
      async poll({ which = 0, phantom = false, killAfterMs } = {}) {
        const runner = deliveries[which]!;
        const run: DeliveryRun = { messageIds: [], outcome: 'empty', killed: false };
        const invoke = async (event: SQSEvent) => {
          run.messageIds = event.Records.map((r) => (JSON.parse(r.body) as { messageId?: string }).messageId ?? '?');
          inFlight.set(which, []);
          const timer = killAfterMs === undefined ? undefined : setTimeout(() => world.killDelivery(which), killAfterMs);
          const outcome = await runner.invoke(event);
          clearTimeout(timer);
          if (!outcome.ok) {
            // Timed out or crashed: requests it had sent never had their answer counted.
            run.killed = true;
            for (const request of inFlight.get(which) ?? []) request.killedInFlight = true;
            offsets[which]! += CLOCK_STEP_MS;
            runner.setEnv({ CHAOS_CLOCK_OFFSET_MS: String(offsets[which]) });
            throw new Error(`delivery invocation ${outcome.reason}: ${outcome.error ?? ''}`);
          }
          inFlight.set(which, []);
          return outcome.result;
        };
        const result = await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, phantom, invoke });
        run.outcome = result.outcome;
        if (result.outcome !== 'empty') world.deliveries.push(run);
        return result;
      },
      killDelivery(which = 0) {
        for (const request of inFlight.get(which) ?? []) request.killedInFlight = true;
        offsets[which]! += CLOCK_STEP_MS;
        deliveries[which]!.setEnv({ CHAOS_CLOCK_OFFSET_MS: String(offsets[which]) });
        deliveries[which]!.kill();
      },
      advance(ms) {
        clock.advance(ms);
      },
      deadLetters() {
        return sqs.queue(DEAD_LETTERS).messages.map((message) => {
          try {
            return (JSON.parse(message.body) as { messageId?: string }).messageId ?? '?';
          } catch {
            return '?';
          }
        });
      },
      async drain(maxRounds = 60) {
        world.setFaults({});
        let stuck = 0;
        for (let round = 0; round < maxRounds; round++) {
          if (sqs.queue(QUEUE).counts().total === 0) return;
          const result = await world.poll();
          if (result.outcome === 'success') {
            stuck = 0;
            continue;
          }
          // Nothing visible (delayed, or handed back and in flight), or handed back again: let the
          // queue's time pass. A job that keeps coming back waits for an attempt window that this
          // container's clock has not yet seen pass (the attempt was another container's, whose
          // clock had moved on): a cold start with its clock moved on ends the wait.
          clock.advance(timing.visibilityTimeoutSeconds * 1000 + timing.deliveryDelaySeconds * 1000);
          if (result.outcome !== 'empty' && ++stuck >= 3) {
            world.killDelivery(0);
            stuck = 0;
          }
        }
        throw new Error(`the queue did not drain in ${maxRounds} rounds: ${JSON.stringify(sqs.queue(QUEUE).counts())}`);
      },
      async ledger() {
        const items = new Map<string, LedgerItem>();
        let start: Record<string, AttributeValue> | undefined;
        do {
          const page = await direct.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true, ExclusiveStartKey: start }));
          for (const item of page.Items ?? []) {
            const pk = item['pk']?.S ?? '';
            const sk = item['sk']?.S ?? '';
            if (!pk.startsWith('msg#') || !sk.startsWith('rcpt#')) continue;
            const attemptId = item['attempt']?.S;
            items.set(`${pk.slice(4)} ${sk.slice(5)}`, { state: item['state']?.S ?? '?', attempts: Number(item['attempts']?.N ?? 0), ...(attemptId ? { attemptId } : {}) });
          }
          start = page.LastEvaluatedKey;
        } while (start);
        return items;
      },
      close,
    };
    return world;
  } catch (error) {
    await close();
    throw error;
  }
}

/** OriginalMessageId and recipients of an awsQuery SendBounce body. */
function sendBounceOf(body: string): { messageId: string; recipients: string[] } {
  const params = new URLSearchParams(body);
  const recipients: string[] = [];
  for (const [key, value] of params) if (/^BouncedRecipientInfoList\.member\.\d+\.Recipient$/.test(key)) recipients.push(value.toLowerCase());
  return { messageId: params.get('OriginalMessageId') ?? '', recipients };
}
