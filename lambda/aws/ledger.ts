import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  CreateTableCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { LedgerError, SesBouncerError } from '../core/errors.js';
import {
  type Attempt,
  type BounceRecord,
  CancelResult,
  type ClaimResult,
  type Ledger,
  LedgerState,
  type SettledOutcome,
} from '../app/ports.js';
import { callSignal, LEDGER_CALL_MS } from './timeouts.js';

/**
 * The bounce ledger in DynamoDB: one item per (SES message, canonical recipient), plus
 * per-sender hourly counters in the same table. docs/delivery.md has the state diagram.
 *
 * Every guarantee rests on single-item conditional writes, and on a strongly consistent read
 * after a failed condition (no transactions, no ReturnValuesOnConditionCheckFailure), so it
 * holds alike on DynamoDB, DynamoDB Local and dynalite. A write whose first answer was lost is
 * retried by the SDK and may then fail its condition against itself: the read tells, by the
 * job or attempt id the write carried.
 *
 * Item layout (inside the contract keys pk/sk/expiresAt):
 * - bounce:  pk `msg#<SES message id>`, sk `rcpt#<canonical recipient>`, state, job, updatedAt,
 *            expiresAt, and when known attempt, attemptDeadline, attempts, bounceMessageId, error;
 * - counter: pk `sender#<lowercased envelope sender>`, sk `hour#<YYYY-MM-DDTHH>` (UTC), messages
 *            (a string set of short hashes of the bounced messages' ids), expiresAt.
 */

export interface DynamoDbLedgerOptions {
  /**
   * How long bounce items live before DynamoDB's TTL deletes them. Must outlive SES's 24 h
   * SendBounce window plus the queue's retention, or an expired item could be claimed again.
   * @default 30
   */
  readonly ttlDays?: number;
  /** Bound on each call, SDK retries included. @default LEDGER_CALL_MS (lambda/app/time-budget.ts) */
  readonly callTimeoutMs?: number;
}

const DEFAULT_TTL_DAYS = 30;
const DEFAULT_CALL_TIMEOUT_MS = LEDGER_CALL_MS;
/** Keeps items far below the 400 KB limit whatever SES puts in an error message. */
const MAX_ERROR_LENGTH = 1000;
const SECONDS_PER_HOUR = 3600;
const SECONDS_PER_DAY = 86_400;
const CONDITIONAL_CHECK_FAILED = 'ConditionalCheckFailedException';
const STATES: ReadonlySet<string> = new Set(Object.values(LedgerState));
/** 48 bits: no two of the at most 3,600 messages a sender can be bounced for in an hour collide in practice. */
const MESSAGE_HASH_LENGTH = 12;
const MESSAGE_PREFIX = 'msg#';
const RECIPIENT_PREFIX = 'rcpt#';

/** Where a claim (or an expiry) may take a recipient for a job: nobody has it, an attempt gave it back, or another job's receipt cancelled its own. */
const FREE_FOR_JOB = 'attribute_not_exists(pk) OR #state = :ready OR (#state = :cancelled AND job <> :job)';

/** A single-item write's normal outcomes: its condition held, or it did not. */
type WriteOutcome = 'done' | 'condition-failed';

export class DynamoDbLedger implements Ledger {
  readonly #ttlSeconds: number;
  readonly #callTimeoutMs: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoDbLedgerOptions = {},
  ) {
    const ttlDays = options.ttlDays ?? DEFAULT_TTL_DAYS;
    if (!(ttlDays > 0)) throw new SesBouncerError(`ledger ttlDays must be positive, got ${ttlDays}`);
    this.#ttlSeconds = Math.round(ttlDays * SECONDS_PER_DAY);
    this.#callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  async claim(messageId: string, recipients: readonly string[], attempt: Attempt, now: Date): Promise<ReadonlyMap<string, ClaimResult>> {
    const write = (recipient: string) =>
      this.#write('UpdateItem', {
        Key: key(messageId, recipient),
        UpdateExpression:
          'SET #state = :sending, job = :job, attempt = :attempt, attemptDeadline = :deadline, updatedAt = :now, expiresAt = if_not_exists(expiresAt, :expiresAt)',
        ConditionExpression: FREE_FOR_JOB,
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':sending': s(LedgerState.Sending),
          ':ready': s(LedgerState.Ready),
          ':cancelled': s(LedgerState.Cancelled),
          ':job': s(attempt.jobId),
          ':attempt': s(attempt.id),
          ':deadline': n(attempt.deadline),
          ':now': s(now.toISOString()),
          ':expiresAt': n(this.#expiresAt(now)),
        },
      });
    const list = unique(recipients);
    const settled = await Promise.allSettled(list.map(write));
    const results = new Map<string, ClaimResult>();
    const toRead: string[] = [];
    for (const [index, outcome] of settled.entries()) {
      const recipient = list[index]!;
      if (outcome.status === 'fulfilled' && outcome.value === 'done') results.set(recipient, { won: true });
      else toRead.push(recipient); // its condition failed, or the write failed and may still have happened
    }
    if (toRead.length === 0) return results;
    const firstError = settled.find((outcome) => outcome.status === 'rejected')?.reason as unknown;
    let records: ReadonlyMap<string, BounceRecord>;
    try {
      records = await this.get(messageId, toRead);
    } catch (readError) {
      // Some writes may have happened and nobody can tell which: the caller must treat every
      // recipient as possibly held by this attempt (it gives them back, fenced by the attempt id).
      throw firstError ?? readError;
    }
    const errored = new Set(list.filter((_, index) => settled[index]!.status === 'rejected'));
    for (const recipient of toRead) {
      const record = records.get(recipient);
      if (record?.state === LedgerState.Sending && record.attemptId === attempt.id) {
        results.set(recipient, { won: true });
      } else if (record === undefined || record.state === LedgerState.Ready || (record.state === LedgerState.Cancelled && record.jobId !== attempt.jobId)) {
        // Free for this job, yet not taken: the write failed. It may still land later (a request
        // DynamoDB applies after the client gave up), so the caller treats it as possibly held.
        results.set(recipient, { won: false, record: undefined, uncertain: errored.has(recipient) });
      } else {
        results.set(recipient, { won: false, record });
      }
    }
    return results;
  }

  async settle(messageId: string, recipients: readonly string[], attemptId: string, outcome: SettledOutcome, now: Date): Promise<readonly string[]> {
    const sets = ['#state = :to', 'updatedAt = :now'];
    const values: Record<string, AttributeValue> = {
      ':to': s(outcome.state),
      ':now': s(now.toISOString()),
      ':attempt': s(attemptId),
      ':sending': s(LedgerState.Sending),
      ':unknown': s(LedgerState.Unknown),
    };
    if (outcome.state === LedgerState.Sent) {
      sets.push('bounceMessageId = :bounceMessageId');
      values[':bounceMessageId'] = s(outcome.bounceMessageId);
    } else {
      sets.push('#error = :error');
      values[':error'] = s(outcome.error.slice(0, MAX_ERROR_LENGTH));
    }
    const outcomes = await this.#each(recipients, (recipient) =>
      this.#write('UpdateItem', {
        Key: key(messageId, recipient),
        UpdateExpression: `SET ${sets.join(', ')}`,
        // UNKNOWN(attempt) is corrected: it was written because the attempt looked abandoned.
        ConditionExpression: 'attempt = :attempt AND (#state = :sending OR #state = :unknown)',
        ExpressionAttributeNames: { '#state': 'state', ...(outcome.state !== LedgerState.Sent && { '#error': 'error' }) },
        ExpressionAttributeValues: values,
      }),
    );
    const failed = [...outcomes].filter(([, result]) => result === 'condition-failed').map(([recipient]) => recipient);
    if (failed.length === 0) return [];
    const records = await this.get(messageId, failed);
    // Already in the target state under this attempt: our own write, retried by the SDK.
    return failed.filter((recipient) => {
      const record = records.get(recipient);
      return !(record?.state === outcome.state && record.attemptId === attemptId);
    });
  }

  async release(messageId: string, recipients: readonly string[], attemptId: string, counted: boolean, now: Date): Promise<number> {
    let highest = 0;
    const outcomes = await this.#each(recipients, async (recipient) => {
      const command: Omit<UpdateItemCommandInput, 'TableName'> = {
        Key: key(messageId, recipient),
        UpdateExpression: 'SET #state = :ready, updatedAt = :now ADD attempts :count',
        ConditionExpression: 'attempt = :attempt AND (#state = :sending OR #state = :unknown)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':ready': s(LedgerState.Ready),
          ':sending': s(LedgerState.Sending),
          ':unknown': s(LedgerState.Unknown),
          ':attempt': s(attemptId),
          ':now': s(now.toISOString()),
          ':count': n(counted ? 1 : 0),
        },
        ReturnValues: 'ALL_NEW',
      };
      const answer = await this.#send('UpdateItem', command);
      if (answer === 'condition-failed') return 'condition-failed';
      highest = Math.max(highest, Number(answer.Attributes?.['attempts']?.N ?? 0));
      return 'done';
    });
    const failed = [...outcomes].filter(([, result]) => result === 'condition-failed').map(([recipient]) => recipient);
    if (failed.length > 0) {
      const records = await this.get(messageId, failed);
      for (const record of records.values()) {
        if (record.state === LedgerState.Ready && record.attemptId === attemptId) highest = Math.max(highest, record.attempts);
      }
    }
    return highest;
  }

  async abandon(messageId: string, recipient: string, attemptId: string, now: Date): Promise<boolean> {
    const outcome = await this.#write('UpdateItem', {
      Key: key(messageId, recipient),
      UpdateExpression: 'SET #state = :unknown, #error = :error, updatedAt = :now',
      ConditionExpression: '#state = :sending AND attempt = :attempt',
      ExpressionAttributeNames: { '#state': 'state', '#error': 'error' },
      ExpressionAttributeValues: {
        ':unknown': s(LedgerState.Unknown),
        ':sending': s(LedgerState.Sending),
        ':attempt': s(attemptId),
        ':now': s(now.toISOString()),
        ':error': s(`delivery attempt ${attemptId} ended without recording an outcome; its SendBounce may have been sent`),
      },
    });
    return outcome === 'done';
  }

  async expire(messageId: string, recipients: readonly string[], jobId: string, now: Date): Promise<ReadonlyMap<string, ClaimResult>> {
    const outcomes = await this.#each(recipients, (recipient) =>
      this.#write('UpdateItem', {
        Key: key(messageId, recipient),
        UpdateExpression: 'SET #state = :expired, job = :job, updatedAt = :now, expiresAt = if_not_exists(expiresAt, :expiresAt)',
        ConditionExpression: FREE_FOR_JOB,
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':expired': s(LedgerState.Expired),
          ':ready': s(LedgerState.Ready),
          ':cancelled': s(LedgerState.Cancelled),
          ':job': s(jobId),
          ':now': s(now.toISOString()),
          ':expiresAt': n(this.#expiresAt(now)),
        },
      }),
    );
    const failed = [...outcomes].filter(([, result]) => result === 'condition-failed').map(([recipient]) => recipient);
    const records = failed.length > 0 ? await this.get(messageId, failed) : new Map<string, BounceRecord>();
    const results = new Map<string, ClaimResult>();
    for (const [recipient, result] of outcomes) {
      const record = records.get(recipient);
      // EXPIRED under this job already: our own write, retried by the SDK.
      const won = result === 'done' || (record?.state === LedgerState.Expired && record.jobId === jobId);
      results.set(recipient, won ? { won: true } : record === undefined ? { won: false, record: undefined, uncertain: false } : { won: false, record });
    }
    return results;
  }

  async cancel(messageId: string, recipients: readonly string[], jobId: string, now: Date, signal?: AbortSignal): Promise<CancelResult> {
    const outcomes = await this.#each(recipients, (recipient) =>
      this.#write(
        'PutItem',
        {
          Item: {
            ...key(messageId, recipient),
            state: s(LedgerState.Cancelled),
            job: s(jobId),
            updatedAt: s(now.toISOString()),
            expiresAt: n(this.#expiresAt(now)),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
        signal,
      ),
    );
    const failed = [...outcomes].filter(([, result]) => result === 'condition-failed').map(([recipient]) => recipient);
    const records = failed.length > 0 ? await this.get(messageId, failed, signal) : new Map<string, BounceRecord>();
    const found = [...outcomes].map(([recipient, result]) => {
      if (result === 'done') return CancelResult.Cancelled;
      const record = records.get(recipient);
      if (record?.jobId !== jobId) return CancelResult.Mixed; // another job's record
      return record.state === LedgerState.Cancelled ? CancelResult.Cancelled : CancelResult.Alive;
    });
    return found.every((result) => result === found[0]) ? found[0]! : CancelResult.Mixed;
  }

  async get(messageId: string, recipients: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, BounceRecord>> {
    const wanted = new Set(recipients);
    const records = new Map<string, BounceRecord>();
    if (wanted.size === 0) return records;
    // One Query reads every recipient of the message (a few pages at most), so there is no
    // BatchGetItem chunking or UnprocessedKeys loop; other jobs' recipients are filtered out.
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.#call(
        'Query',
        (abortSignal) =>
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              ConsistentRead: true,
              KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rcpt)',
              ExpressionAttributeValues: { ':pk': s(messageKey(messageId)), ':rcpt': s(RECIPIENT_PREFIX) },
              ExclusiveStartKey: startKey,
            }),
            { abortSignal },
          ),
        signal,
      );
      for (const item of page.Items ?? []) {
        const record = this.#toRecord(item);
        if (wanted.has(record.recipient)) records.set(record.recipient, record);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return records;
  }

  async takeSenderQuota(sender: string, messageId: string, now: Date, limit: number, signal?: AbortSignal): Promise<boolean> {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new SesBouncerError(`sender quota limit must be a non-negative integer, got ${limit}`);
    }
    if (limit === 0) return true;
    const hourStart = Math.floor(epochSeconds(now) / SECONDS_PER_HOUR) * SECONDS_PER_HOUR;
    // The counter is the set of the messages bounced this hour (short hashes of their ids): a
    // second invocation for the same message, or an SDK retry of this write, counts nothing more.
    const id = createHash('sha256').update(messageId).digest('hex').slice(0, MESSAGE_HASH_LENGTH);
    const outcome = await this.#write(
      'UpdateItem',
      {
        Key: { pk: s(`sender#${sender.trim().toLowerCase()}`), sk: s(`hour#${now.toISOString().slice(0, 13)}`) },
        // Check and add in one atomic step: concurrent receipts never overshoot the budget.
        UpdateExpression: 'ADD messages :id SET expiresAt = :expiresAt',
        ConditionExpression: 'attribute_not_exists(messages) OR size(messages) < :limit OR contains(messages, :one)',
        ExpressionAttributeValues: {
          ':id': { SS: [id] },
          ':one': s(id),
          ':limit': n(limit),
          // A day past the hour's end: long enough to inspect, short enough to stay small.
          ':expiresAt': n(hourStart + SECONDS_PER_HOUR + SECONDS_PER_DAY),
        },
      },
      signal,
    );
    return outcome === 'done';
  }

  #expiresAt(now: Date): number {
    return epochSeconds(now) + this.#ttlSeconds;
  }

  /** One single-item operation per recipient, in parallel; waits for all, then throws the first failure. */
  async #each<T>(recipients: readonly string[], operation: (recipient: string) => Promise<T>): Promise<ReadonlyMap<string, T>> {
    const list = unique(recipients);
    const settled = await Promise.allSettled(list.map(operation));
    const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
    return new Map(list.map((recipient, i) => [recipient, (settled[i] as PromiseFulfilledResult<T>).value]));
  }

  /** A conditional write: a failed condition is a normal outcome, anything else a LedgerError. */
  async #write(
    operation: 'UpdateItem' | 'PutItem',
    input: Omit<UpdateItemCommandInput, 'TableName'> | { Item: Record<string, AttributeValue>; ConditionExpression: string },
    signal?: AbortSignal,
  ): Promise<WriteOutcome> {
    const answer = await this.#send(operation, input, signal);
    return answer === 'condition-failed' ? answer : 'done';
  }

  async #send(
    operation: 'UpdateItem' | 'PutItem',
    input: Omit<UpdateItemCommandInput, 'TableName'> | { Item: Record<string, AttributeValue>; ConditionExpression: string },
    signal?: AbortSignal,
  ): Promise<'condition-failed' | { Attributes?: Record<string, AttributeValue> }> {
    try {
      return await this.#call(
        operation,
        (abortSignal) =>
          operation === 'PutItem'
            ? this.client.send(new PutItemCommand({ TableName: this.tableName, ...(input as { Item: Record<string, AttributeValue> }) }), { abortSignal })
            : this.client.send(new UpdateItemCommand({ TableName: this.tableName, ...(input as Omit<UpdateItemCommandInput, 'TableName'>) }), { abortSignal }),
        signal,
      );
    } catch (error) {
      if (error instanceof LedgerError && (error.cause as Error | undefined)?.name === CONDITIONAL_CHECK_FAILED) return 'condition-failed';
      throw error;
    }
  }

  async #call<T>(operation: string, send: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await send(callSignal(this.#callTimeoutMs, signal));
    } catch (error) {
      throw new LedgerError(`DynamoDB ${operation} on table ${this.tableName} failed: ${errorText(error)}`, { cause: error });
    }
  }

  #toRecord(item: Record<string, AttributeValue>): BounceRecord {
    const malformed = (why: string): LedgerError =>
      new LedgerError(`malformed ledger item in table ${this.tableName} (${why}): ${JSON.stringify(item).slice(0, 2000)}`);
    const string = (name: string): string | undefined => item[name]?.S;
    const number = (name: string): number | undefined => {
      const value = item[name]?.N;
      return value === undefined ? undefined : Number(value);
    };
    const pk = string('pk');
    const sk = string('sk');
    const state = string('state');
    const jobId = string('job');
    const updatedAt = string('updatedAt');
    const expiresAt = number('expiresAt');
    if (!pk?.startsWith(MESSAGE_PREFIX) || !sk?.startsWith(RECIPIENT_PREFIX)) throw malformed('keys');
    if (state === undefined || !STATES.has(state)) throw malformed('state');
    if (jobId === undefined || updatedAt === undefined || expiresAt === undefined) throw malformed('missing attribute');
    const optional = {
      attemptId: string('attempt'),
      attemptDeadline: number('attemptDeadline'),
      bounceMessageId: string('bounceMessageId'),
      error: string('error'),
    };
    return {
      messageId: pk.slice(MESSAGE_PREFIX.length),
      recipient: sk.slice(RECIPIENT_PREFIX.length),
      state: state as LedgerState,
      jobId,
      attempts: number('attempts') ?? 0,
      updatedAt,
      expiresAt,
      ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
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
    await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }));
  } catch (error) {
    // dynalite has no TTL API; items then simply never expire, which tests do not need.
    if (!(error instanceof Error && error.name === 'UnknownOperationException')) throw fail('UpdateTimeToLive', error);
  }
}

function key(messageId: string, recipient: string): Record<string, AttributeValue> {
  return { pk: s(messageKey(messageId)), sk: s(`${RECIPIENT_PREFIX}${recipient}`) };
}

function messageKey(messageId: string): string {
  return `${MESSAGE_PREFIX}${messageId}`;
}

function unique(recipients: readonly string[]): string[] {
  return [...new Set(recipients)];
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

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
