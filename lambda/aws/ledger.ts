import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { LedgerError, SesBouncerError } from '../core/errors.js';

/**
 * The bounce ledger in DynamoDB: one item per (SES message, recipient) so that no recipient
 * is bounced twice, plus per-sender hourly counters in the same table.
 *
 * Every guarantee rests on single-item conditional writes only (no transactions, no
 * ReturnValuesOnConditionCheckFailure), so it holds on DynamoDB, DynamoDB Local and dynalite.
 *
 * Item layout (inside the contract keys pk/sk/expiresAt):
 * - bounce:  pk `msg#<SES message id>`, sk `rcpt#<lowercased recipient>`,
 *            state, claimToken, receiptTime, updatedAt, expiresAt,
 *            and when known bounceMessageId, error, retryReceiveCount;
 * - counter: pk `sender#<lowercased envelope sender>`, sk `hour#<YYYY-MM-DDTHH>` (UTC),
 *            count, expiresAt.
 */

export const LedgerState = {
  Queued: 'QUEUED',
  Sent: 'SENT',
  Rejected: 'REJECTED',
  Expired: 'EXPIRED',
  Unknown: 'UNKNOWN',
} as const;
export type LedgerState = (typeof LedgerState)[keyof typeof LedgerState];

export interface BounceRecord {
  readonly messageId: string;
  /** Lowercased. */
  readonly recipient: string;
  readonly state: LedgerState;
  readonly claimToken: string;
  /** ISO 8601. */
  readonly receiptTime: string;
  /** ISO 8601. */
  readonly updatedAt: string;
  readonly bounceMessageId?: string;
  readonly error?: string;
  readonly retryReceiveCount?: number;
  /** Epoch seconds, the TTL attribute. */
  readonly expiresAt: number;
}

export interface ClaimRequest {
  readonly messageId: string;
  readonly recipients: readonly string[];
  readonly claimToken: string;
  readonly receiptTime: Date;
  readonly now: Date;
}

/** Recipients lowercased and deduplicated. */
export interface ClaimResult {
  readonly claimed: readonly string[];
  readonly alreadyClaimed: readonly string[];
}

export interface TransitionRequest {
  readonly messageId: string;
  readonly recipients: readonly string[];
  readonly from: LedgerState;
  readonly to: LedgerState;
  readonly now: Date;
  readonly bounceMessageId?: string;
  readonly error?: string;
}

/** Recipients lowercased and deduplicated. */
export interface TransitionResult {
  readonly updated: readonly string[];
  readonly conflicted: readonly string[];
}

export interface Ledger {
  /**
   * One conditional PutItem per recipient (attribute_not_exists(pk)), in parallel: of any number
   * of concurrent or repeated claims exactly one wins each recipient. State QUEUED.
   * All or error: if any write fails, the ones this call won are released before it throws.
   */
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Undo claims whose enqueue failed: conditional DeleteItem only where state = QUEUED and claimToken matches (never another invocation's claim). */
  release(messageId: string, recipients: readonly string[], claimToken: string): Promise<void>;
  /** Strongly consistent read of these recipients' records (a Query on pk). Missing ones are absent from the map, keyed by lowercased recipient. */
  get(messageId: string, recipients: readonly string[]): Promise<ReadonlyMap<string, BounceRecord>>;
  /** Fenced state change: one conditional UpdateItem per recipient with #state = :from; sets updatedAt and, when given, bounceMessageId / error (error truncated to 1000 chars). */
  transition(request: TransitionRequest): Promise<TransitionResult>;
  /** Record that delivery attempt number `receiveCount` ended in a retryable failure (state stays QUEUED; condition state = QUEUED): lets the next SQS receive tell a clean retry from a crash mid-send. */
  noteRetry(messageId: string, recipients: readonly string[], receiveCount: number, now: Date): Promise<void>;
  /** Per-sender hourly bounce budget: one conditional `ADD #count :one` on the sender#/hour# item. true = within budget (counted); false = over. limit 0 = unlimited: true with no I/O. */
  takeSenderQuota(sender: string, now: Date, limit: number): Promise<boolean>;
}

export interface DynamoDbLedgerOptions {
  /**
   * How long bounce items live before DynamoDB's TTL deletes them. Must outlive SES's 24 h
   * SendBounce window plus SQS retention, or an expired item could be claimed again.
   * @default 30
   */
  readonly ttlDays?: number;
}

const DEFAULT_TTL_DAYS = 30;
/** Keeps items far below the 400 KB limit whatever SES puts in an error message. */
const MAX_ERROR_LENGTH = 1000;
const SECONDS_PER_HOUR = 3600;
const SECONDS_PER_DAY = 86_400;
const CONDITIONAL_CHECK_FAILED = 'ConditionalCheckFailedException';
const STATES: ReadonlySet<string> = new Set(Object.values(LedgerState));

/** A single-item write's normal outcome: its condition held or it did not. */
const WriteOutcome = { Done: 'done', ConditionFailed: 'condition-failed' } as const;
type WriteOutcome = (typeof WriteOutcome)[keyof typeof WriteOutcome];

export class DynamoDbLedger implements Ledger {
  readonly #ttlSeconds: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoDbLedgerOptions = {},
  ) {
    const ttlDays = options.ttlDays ?? DEFAULT_TTL_DAYS;
    if (!(ttlDays > 0)) throw new SesBouncerError(`ledger ttlDays must be positive, got ${ttlDays}`);
    this.#ttlSeconds = Math.round(ttlDays * SECONDS_PER_DAY);
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const recipients = normalize(request.recipients);
    const item = {
      pk: s(messageKey(request.messageId)),
      state: s(LedgerState.Queued),
      claimToken: s(request.claimToken),
      receiptTime: s(request.receiptTime.toISOString()),
      updatedAt: s(request.now.toISOString()),
      expiresAt: n(epochSeconds(request.now) + this.#ttlSeconds),
    };
    const settled = await Promise.allSettled(
      recipients.map((recipient) =>
        this.#write('PutItem', () =>
          this.client.send(
            new PutItemCommand({
              TableName: this.tableName,
              Item: { ...item, sk: s(recipientKey(recipient)) },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          ),
        ),
      ),
    );
    const claimed = recipients.filter((_, i) => fulfilled(settled[i]) === WriteOutcome.Done);
    const failure = firstRejection(settled);
    if (failure !== undefined) {
      // A half-made claim would block these recipients for ttlDays while the caller fails
      // open into delivery; give back what we won so a retry can claim it.
      // The original failure is the one worth reporting; a failed release leaves what TTL cleans up.
      await this.release(request.messageId, claimed, request.claimToken).catch(() => undefined);
      throw failure;
    }
    return {
      claimed,
      alreadyClaimed: recipients.filter((_, i) => fulfilled(settled[i]) === WriteOutcome.ConditionFailed),
    };
  }

  async release(messageId: string, recipients: readonly string[], claimToken: string): Promise<void> {
    await this.#eachRecipient(messageId, recipients, 'DeleteItem', (Key) =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key,
          ConditionExpression: '#state = :queued AND claimToken = :token',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':queued': s(LedgerState.Queued), ':token': s(claimToken) },
        }),
      ),
    );
  }

  async get(messageId: string, recipients: readonly string[]): Promise<ReadonlyMap<string, BounceRecord>> {
    const wanted = new Set(normalize(recipients));
    const records = new Map<string, BounceRecord>();
    if (wanted.size === 0) return records;
    // One Query reads every recipient of the message (SES allows at most 50), so there is no
    // BatchGetItem chunking or UnprocessedKeys loop; other rules' recipients are filtered out.
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.#call('Query', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            ConsistentRead: true,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rcpt)',
            ExpressionAttributeValues: { ':pk': s(messageKey(messageId)), ':rcpt': s(RECIPIENT_PREFIX) },
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const record = this.#toRecord(item);
        if (wanted.has(record.recipient)) records.set(record.recipient, record);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return records;
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    const sets = ['#state = :to', 'updatedAt = :now'];
    const values: Record<string, AttributeValue> = {
      ':from': s(request.from),
      ':to': s(request.to),
      ':now': s(request.now.toISOString()),
    };
    if (request.bounceMessageId !== undefined) {
      sets.push('bounceMessageId = :bounceMessageId');
      values[':bounceMessageId'] = s(request.bounceMessageId);
    }
    if (request.error !== undefined) {
      sets.push('#error = :error');
      values[':error'] = s(request.error.slice(0, MAX_ERROR_LENGTH));
    }
    const outcomes = await this.#eachRecipient(request.messageId, request.recipients, 'UpdateItem', (Key) =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#state = :from',
          // DynamoDB rejects unused names, so #error is declared only when the expression uses it.
          ExpressionAttributeNames: { '#state': 'state', ...(request.error !== undefined && { '#error': 'error' }) },
          ExpressionAttributeValues: values,
        }),
      ),
    );
    return {
      updated: outcomes.filter(([, outcome]) => outcome === WriteOutcome.Done).map(([recipient]) => recipient),
      conflicted: outcomes
        .filter(([, outcome]) => outcome === WriteOutcome.ConditionFailed)
        .map(([recipient]) => recipient),
    };
  }

  async noteRetry(messageId: string, recipients: readonly string[], receiveCount: number, now: Date): Promise<void> {
    await this.#eachRecipient(messageId, recipients, 'UpdateItem', (Key) =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET retryReceiveCount = :count, updatedAt = :now',
          // A record that left QUEUED has its outcome; a late note must not touch it.
          ConditionExpression: '#state = :queued',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':queued': s(LedgerState.Queued),
            ':count': n(receiveCount),
            ':now': s(now.toISOString()),
          },
        }),
      ),
    );
  }

  async takeSenderQuota(sender: string, now: Date, limit: number): Promise<boolean> {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new SesBouncerError(`sender quota limit must be a non-negative integer, got ${limit}`);
    }
    if (limit === 0) return true;
    const hourStart = Math.floor(epochSeconds(now) / SECONDS_PER_HOUR) * SECONDS_PER_HOUR;
    const outcome = await this.#write('UpdateItem', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: {
            pk: s(`sender#${sender.trim().toLowerCase()}`),
            sk: s(`hour#${now.toISOString().slice(0, 13)}`),
          },
          // The condition makes check-and-increment one atomic step, so concurrent receipts
          // can never overshoot the budget.
          UpdateExpression: 'ADD #count :one SET expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: {
            ':one': n(1),
            ':limit': n(limit),
            // A day past the hour's end: long enough to inspect, short enough to stay small.
            ':expiresAt': n(hourStart + SECONDS_PER_HOUR + SECONDS_PER_DAY),
          },
        }),
      ),
    );
    return outcome === WriteOutcome.Done;
  }

  /** Runs one single-item write per (normalized) recipient in parallel. */
  async #eachRecipient(
    messageId: string,
    recipients: readonly string[],
    operation: string,
    send: (key: Record<string, AttributeValue>) => Promise<unknown>,
  ): Promise<ReadonlyArray<readonly [string, WriteOutcome]>> {
    return allOrFirstFailure(
      normalize(recipients).map(
        async (recipient) =>
          [
            recipient,
            await this.#write(operation, () => send({ pk: s(messageKey(messageId)), sk: s(recipientKey(recipient)) })),
          ] as const,
      ),
    );
  }

  /** A conditional write: a failed condition is a normal outcome, anything else a LedgerError. */
  async #write(operation: string, send: () => Promise<unknown>): Promise<WriteOutcome> {
    try {
      await send();
      return WriteOutcome.Done;
    } catch (error) {
      if (error instanceof Error && error.name === CONDITIONAL_CHECK_FAILED) return WriteOutcome.ConditionFailed;
      throw this.#failure(operation, error);
    }
  }

  async #call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw this.#failure(operation, error);
    }
  }

  #failure(operation: string, cause: unknown): LedgerError {
    return new LedgerError(`DynamoDB ${operation} on table ${this.tableName} failed: ${errorText(cause)}`, { cause });
  }

  #toRecord(item: Record<string, AttributeValue>): BounceRecord {
    const malformed = (why: string): LedgerError =>
      new LedgerError(`malformed ledger item in table ${this.tableName} (${why}): ${JSON.stringify(item)}`);
    const string = (name: string): string | undefined => item[name]?.S;
    const number = (name: string): number | undefined => {
      const value = item[name]?.N;
      return value === undefined ? undefined : Number(value);
    };
    const pk = string('pk');
    const sk = string('sk');
    const state = string('state');
    const claimToken = string('claimToken');
    const receiptTime = string('receiptTime');
    const updatedAt = string('updatedAt');
    const expiresAt = number('expiresAt');
    if (!pk?.startsWith(MESSAGE_PREFIX) || !sk?.startsWith(RECIPIENT_PREFIX)) throw malformed('keys');
    if (state === undefined || !STATES.has(state)) throw malformed('state');
    if (claimToken === undefined || receiptTime === undefined || updatedAt === undefined || expiresAt === undefined) {
      throw malformed('missing attribute');
    }
    const bounceMessageId = string('bounceMessageId');
    const error = string('error');
    const retryReceiveCount = number('retryReceiveCount');
    return {
      messageId: pk.slice(MESSAGE_PREFIX.length),
      recipient: sk.slice(RECIPIENT_PREFIX.length),
      state: state as LedgerState,
      claimToken,
      receiptTime,
      updatedAt,
      expiresAt,
      ...(bounceMessageId !== undefined && { bounceMessageId }),
      ...(error !== undefined && { error }),
      ...(retryReceiveCount !== undefined && { retryReceiveCount }),
    };
  }
}

/**
 * Create the contract table (for tests, `npm start`, benchmarks): pk/sk strings, on-demand
 * billing, wait until ACTIVE, then TTL on expiresAt where the engine supports it.
 */
export async function createLedgerTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const fail = (operation: string, cause: unknown): LedgerError =>
    new LedgerError(`DynamoDB ${operation} on table ${tableName} failed: ${errorText(cause)}`, { cause });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    throw fail('CreateTable', error);
  }
  try {
    // The first check is immediate, so local engines (ACTIVE at once) return without waiting.
    await waitUntilTableExists({ client, minDelay: 1, maxDelay: 5, maxWaitTime: 300 }, { TableName: tableName });
  } catch (error) {
    throw fail('DescribeTable (wait for ACTIVE)', error);
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    );
  } catch (error) {
    // dynalite has no TTL API; items then simply never expire, which tests do not need.
    if (!(error instanceof Error && error.name === 'UnknownOperationException')) throw fail('UpdateTimeToLive', error);
  }
}

const MESSAGE_PREFIX = 'msg#';
const RECIPIENT_PREFIX = 'rcpt#';

function messageKey(messageId: string): string {
  return `${MESSAGE_PREFIX}${messageId}`;
}

function recipientKey(recipient: string): string {
  return `${RECIPIENT_PREFIX}${recipient}`;
}

/** Addresses compare case-insensitively: `A@X.com` and `a@x.com` are one ledger key. */
export function ledgerRecipient(address: string): string {
  return address.trim().toLowerCase();
}

function normalize(recipients: readonly string[]): string[] {
  return [...new Set(recipients.map(ledgerRecipient))];
}

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function s(value: string): AttributeValue {
  return { S: value };
}

function n(value: number): AttributeValue {
  return { N: String(value) };
}

/**
 * Like Promise.all, but waits for every write to finish before throwing the first failure,
 * so no write is still in flight when the caller reacts to the error.
 */
async function allOrFirstFailure<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failure = firstRejection(settled);
  if (failure !== undefined) throw failure;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}

function fulfilled<T>(result: PromiseSettledResult<T> | undefined): T | undefined {
  return result?.status === 'fulfilled' ? result.value : undefined;
}

function firstRejection(results: readonly PromiseSettledResult<unknown>[]): unknown {
  const rejected = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  return rejected?.reason;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
