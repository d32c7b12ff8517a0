// `npm start` / `ses-bouncer replay`: the whole pipeline on this machine, no AWS account: dynalite
// in-process, the local SES endpoint, an in-process FIFO queue, and the real handlers.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { SESClient } from '@aws-sdk/client-ses';
import type { Context } from 'aws-lambda';
import { Pacer } from '../lambda/app/pacer.js';
import { MemoryMetrics } from '../lambda/app/telemetry.js';
import { createDeliverHandler, createReceiptHandler } from '../lambda/app/handlers.js';
import type { BounceRecord } from '../lambda/app/ports.js';
import { createLedgerTable, DynamoDbLedger } from '../lambda/aws/ledger.js';
import { SesBounceSender } from '../lambda/aws/ses.js';
import { SES_CLIENT_CONFIG } from '../lambda/aws/timeouts.js';
import type { Decision } from '../lambda/core/decide.js';
import type { GuardName } from '../lambda/core/guards.js';
import { parseAddress } from '../lambda/core/address.js';
import { parseSesEvent } from '../lambda/core/event.js';
import { canonicalRecipient } from '../lambda/core/recipient.js';
import { SES_REFUSAL } from '../lambda/core/ses-recipients.js';
import type { CompiledPolicy } from '../lambda/app/policy-loader.js';
import { localDynamoDbClient, startDynalite } from './dynamodb.js';
import { MemoryFifoQueue } from './memory-queue.js';
import type { HeaderField } from './dsn-message.js';
import { startSesEndpoint } from './ses-endpoint.js';

export interface ReplayEvent {
  /** Where it came from, for the report (a file name). */
  readonly source: string;
  readonly payload: unknown;
}

export interface ReplayOptions {
  readonly policy: CompiledPolicy;
  readonly events: readonly ReplayEvent[];
  /** SendBounce calls per second, for the endpoint's limit and the delivery function's pacing. @default 1 */
  readonly rate?: number;
  /** Where the bounces are written as .eml; stale .eml files there are removed first. @default out/bounces */
  readonly outDir?: string;
  /** Progress lines, as the run goes. */
  readonly progress?: (line: string) => void;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** One envelope recipient as it came out of the pipeline. */
export interface ReplayRow {
  readonly source: string;
  readonly messageId: string;
  readonly recipient: string;
  readonly action: string;
  readonly ruleOrGuard: string;
  /** The guard that withheld a bounce, if one did. */
  readonly guard: GuardName | undefined;
  /** The ledger state of a bounce (SENT, REJECTED…), or undefined when none was sent. */
  readonly bounce: string | undefined;
  readonly dsnPath: string | undefined;
}

export interface ReplayReport {
  readonly rows: readonly ReplayRow[];
  /** Events that were not valid SES events: delivered untouched, as the receipt function does. */
  readonly invalid: readonly { readonly source: string; readonly error: string }[];
  readonly metrics: ReadonlyMap<string, number>;
  readonly sesStats: { readonly requests: number; readonly accepted: number; readonly throttled: number };
}

const TABLE = 'ses-bouncer-local';

/**
 * Runs every event through the real receipt handler, then drains the queue through the real
 * delivery handler against the local SES endpoint. Event timestamps are shifted together so
 * that the newest was received a minute ago: the examples stay inside SES's 24 h window, and an
 * event older than the others by more than that still shows the window guard.
 */
export async function replay(options: ReplayOptions): Promise<ReplayReport> {
  const clock = options.clock ?? Date.now;
  const rate = options.rate ?? 1;
  const outDir = options.outDir ?? join('out', 'bounces');
  const progress = options.progress ?? (() => undefined);
  const events = rebase(options.events, clock());
  const originalHeaders = new Map(events.flatMap(({ payload }) => recordsOf(payload).map((r) => [r?.ses?.mail?.messageId, headerFields(r?.ses?.mail?.headers)] as const)));

  prepareOutDir(outDir);
  const dynamo = await startDynalite();
  const client = localDynamoDbClient(dynamo.endpoint);
  let jobs = 0;
  const ses = await startSesEndpoint({
    ratePerSecond: rate,
    outDir,
    originalHeaders: (id) => originalHeaders.get(id),
    onAnswer: ({ bounce, error }) => {
      if (bounce) progress(`  [${ses.stats.accepted}/${jobs}] SendBounce for ${bounce.request.OriginalMessageId} accepted`);
      else if (error) progress(`  SendBounce refused: ${error.code}: ${error.message}`);
    },
  });
  const sesClient = new SESClient({ ...SES_CLIENT_CONFIG, endpoint: ses.url, region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await createLedgerTable(client, TABLE);
    const ledger = new DynamoDbLedger(client, TABLE);
    const queue = new MemoryFifoQueue();
    const metrics = new MemoryMetrics();
    const logger = new Logger({ serviceName: 'ses-bouncer-local', logLevel: process.env.SES_BOUNCER_DEBUG ? 'DEBUG' : 'SILENT' });
    let source = '';
    const decided: { source: string; decision: Decision }[] = [];
    const onDecision = (decision: Decision) => decided.push({ source, decision });
    const receipt = createReceiptHandler({ deps: () => ({ policy: options.policy, ledger, queue, logger, metrics, onDecision }), logger, metrics });
    const deliverDeps = { ledger, sender: new SesBounceSender(sesClient), pacer: new Pacer(rate), logger, metrics, requeue: queue, deadLetters: queue };
    const delivery = createDeliverHandler({ deps: () => deliverDeps, logger });

    const invalid: { source: string; error: string }[] = [];
    const refusedRows: ReplayRow[] = [];
    for (const [index, event] of events.entries()) {
      source = event.source;
      for (const result of parseSesEvent(event.payload)) if (!result.ok) invalid.push({ source: event.source, error: result.error });
      const { payload, refused } = refuseAtSmtp(event, options.policy);
      refusedRows.push(...refused);
      if (payload === undefined) {
        progress(`[${index + 1}/${events.length}] ${event.source}: refused at RCPT TO (550 5.1.1), never reached the function`);
        continue;
      }
      const { disposition } = await receipt(payload, lambdaContext('ses-bouncer-receipt', 30_000));
      progress(`[${index + 1}/${events.length}] ${event.source}: ${refused.length > 0 ? `${refused.length} refused at RCPT TO, the rest ` : ''}${disposition}`);
    }

    jobs = queue.depth;
    if (jobs > 0) progress(`sending ${jobs} bounce${jobs === 1 ? '' : 's'} through the local SES endpoint at ${rate}/s…`);
    await queue.drain((batch) => delivery(batch, lambdaContext('ses-bouncer-deliver', 900_000)));

    const dsnPaths = new Map(ses.accepted.map((accepted) => [accepted.request.OriginalMessageId, accepted.emlPath]));
    const rows: ReplayRow[] = [...refusedRows];
    for (const { source, decision } of decided) {
      const states = await ledger.get(decision.messageId, decision.recipients.map((r) => r.address));
      for (const recipient of decision.recipients) {
        const record: BounceRecord | undefined = states.get(recipient.address);
        rows.push({
          source,
          messageId: decision.messageId,
          recipient: recipient.address,
          action: recipient.action,
          ruleOrGuard: [recipient.rule ?? '(default)', recipient.guard ? `guard ${recipient.guard}` : undefined].filter(Boolean).join(', '),
          guard: recipient.guard,
          bounce: record?.state,
          dsnPath: record?.state === 'SENT' ? dsnPaths.get(decision.messageId) : undefined,
        });
      }
    }
    // In event order, and in each message in its recipients' order, refused ones included.
    const eventOrder = new Map(events.map((event, index) => [event.source, index]));
    const recipientOrder = new Map(events.flatMap(({ payload }) => recordsOf(payload).flatMap((r) => envelopeRecipients(r).map((address, i) => [`${messageIdOf(r)} ${address}`, i] as const))));
    const position = (row: ReplayRow) => recipientOrder.get(`${row.messageId} ${row.recipient}`) ?? 0;
    rows.sort((a, b) => eventOrder.get(a.source)! - eventOrder.get(b.source)! || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0) || position(a) - position(b));
    return { rows, invalid, metrics: metrics.counts, sesStats: ses.stats };
  } finally {
    sesClient.destroy();
    client.destroy();
    await ses.close();
    await dynamo.close();
  }
}

/** An SES record as read from an event file: any part may be missing, or of another type. */
type RawRecord =
  | { ses?: { mail?: { messageId?: unknown; headers?: unknown; timestamp?: unknown }; receipt?: { recipients?: unknown; timestamp?: unknown } } }
  | null
  | undefined;

/** The name/value headers of a raw record, for the DSN's copy of them; anything else is left out. */
function headerFields(headers: unknown): HeaderField[] | undefined {
  if (!Array.isArray(headers)) return undefined;
  return headers.filter((h): h is HeaderField => typeof (h as HeaderField | null)?.name === 'string' && typeof (h as HeaderField).value === 'string');
}

/** A record's envelope recipients, canonical and each once, as the decisions list them. */
function envelopeRecipients(record: RawRecord): string[] {
  const recipients: unknown = record?.ses?.receipt?.recipients;
  return Array.isArray(recipients) ? [...new Set(recipients.filter((r): r is string => typeof r === 'string').map(canonicalRecipient))] : [];
}

/**
 * What SES does before the function runs, when the policy has `accept`: the receipt rules list
 * only what it compiles to, so SES answers every other recipient 550 5.1.1 at RCPT TO (no DSN is
 * written: the sending server reports it), and a message left with no recipient never arrives.
 * Returns the event with the refused recipients taken out (undefined when none is left), and a
 * row for each refused one.
 */
export function refuseAtSmtp(event: ReplayEvent, policy: CompiledPolicy): { payload: unknown; refused: ReplayRow[] } {
  const accept = policy.accept;
  if (accept === undefined) return { payload: event.payload, refused: [] };
  const refused: ReplayRow[] = [];
  const payload = structuredClone(event.payload) as { Records?: unknown[] };
  if (!Array.isArray(payload?.Records)) return { payload, refused };
  payload.Records = (payload.Records as RawRecord[]).filter((record) => {
    const receipt = record?.ses?.receipt;
    if (receipt === undefined || !Array.isArray(receipt.recipients)) return true;
    const taken = (receipt.recipients as unknown[]).filter((raw) => typeof raw !== 'string' || accept.accepts(parseAddress(raw)));
    const messageId = messageIdOf(record);
    for (const address of envelopeRecipients(record).filter((address) => !accept.accepts(parseAddress(address)))) {
      refused.push({ source: event.source, messageId, recipient: address, action: 'refuse', ruleOrGuard: `SMTP ${SES_REFUSAL.smtpCode} ${SES_REFUSAL.status} (not in accept)`, guard: undefined, bounce: undefined, dsnPath: undefined });
    }
    receipt.recipients = taken;
    return taken.length > 0;
  });
  return { payload: payload.Records.length > 0 ? payload : undefined, refused };
}

function recordsOf(payload: unknown): RawRecord[] {
  const records = (payload as { Records?: unknown } | null | undefined)?.Records;
  return Array.isArray(records) ? (records as RawRecord[]) : [];
}

function messageIdOf(record: RawRecord): string {
  const id = record?.ses?.mail?.messageId;
  return typeof id === 'string' ? id : '';
}

/** A holder's timestamp in epoch ms, NaN when it has none that parses. */
function timeOf(holder: { timestamp?: unknown } | undefined): number {
  return typeof holder?.timestamp === 'string' ? Date.parse(holder.timestamp) : NaN;
}

/** Shifts every timestamp by one amount so the newest receipt was a minute ago. */
function rebase(events: readonly ReplayEvent[], now: number): ReplayEvent[] {
  const copies = events.map((event) => ({ source: event.source, payload: structuredClone(event.payload) }));
  const receipts = copies.flatMap(({ payload }) => recordsOf(payload).map((r) => timeOf(r?.ses?.receipt)).filter((t) => !Number.isNaN(t)));
  if (receipts.length === 0) return copies;
  const shift = now - 60_000 - Math.max(...receipts);
  for (const { payload } of copies) {
    for (const record of recordsOf(payload)) {
      for (const holder of [record?.ses?.mail, record?.ses?.receipt]) {
        const time = timeOf(holder);
        if (holder !== undefined && !Number.isNaN(time)) holder.timestamp = new Date(time + shift).toISOString();
      }
    }
  }
  return copies;
}

function prepareOutDir(outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  for (const name of readdirSync(outDir)) if (name.endsWith('.eml')) rmSync(join(outDir, name));
}

function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
