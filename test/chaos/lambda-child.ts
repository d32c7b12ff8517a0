// The child process side of lambda-runner: a minimal Lambda runtime. It imports the handler
// module once (the cold start: module-level state lives as long as this process), then runs one
// invocation at a time as the parent asks over IPC. Started as
// `node --import <tsx> lambda-child.ts <entry> <handlerName>` so that .ts entries load as in `npm run bench`.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';

/** Parent → child. */
export interface InvokeMessage {
  readonly type: 'invoke';
  readonly id: number;
  readonly event: unknown;
  /** Epoch ms at which the parent will kill this process. */
  readonly deadlineMs: number;
  readonly functionName: string;
  readonly region: string;
}

/** Child → parent. */
export type ChildMessage =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'initError'; readonly error: SerializedError }
  | { readonly type: 'result'; readonly id: number; readonly ok: true; readonly result?: unknown }
  | { readonly type: 'result'; readonly id: number; readonly ok: false; readonly error: SerializedError };

/** As the Lambda runtime reports a function error. */
export interface SerializedError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stack?: string;
}

type Handler = (event: unknown, context: Context, callback: (error?: unknown, result?: unknown) => void) => unknown;

/** This machine's clock, before any shift: the invocation deadline is the parent's, in real time. */
const realNow = Date.now.bind(Date);

/**
 * CHAOS_CLOCK_OFFSET_MS moves this process's clock forward, as if it ran later than it does: a
 * "container" started after a crash can find an attempt's window over without the test waiting
 * for it. Only Date moves; timers and the invocation deadline stay in real time.
 */
function shiftClock(offsetMs: number): void {
  if (!offsetMs) return;
  const RealDate = Date;
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(realNow() + offsetMs);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return realNow() + offsetMs;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}

function serialize(error: unknown): SerializedError {
  if (error instanceof Error) return { errorType: error.name, errorMessage: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  return { errorType: 'Error', errorMessage: typeof error === 'string' ? error : JSON.stringify(error) ?? String(error) };
}

function send(message: ChildMessage): void {
  // The parent may be gone already; then there is no one to tell and the 'disconnect' handler exits.
  process.send?.(message);
}

function contextFor(message: InvokeMessage, finish: (error: unknown, result?: unknown) => void): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: message.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${message.region}:000000000000:function:${message.functionName}`,
    memoryLimitInMB: '128',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${message.functionName}`,
    logStreamName: `chaos/[$LATEST]${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - realNow()),
    done: (error, result) => finish(error ?? undefined, result),
    fail: (error) => finish(error),
    succeed: (result: unknown) => finish(undefined, result),
  };
}

function run(handler: Handler, message: InvokeMessage): void {
  let settled = false;
  const finish = (error: unknown, result?: unknown): void => {
    if (settled) return;
    settled = true;
    if (error !== undefined && error !== null) send({ type: 'result', id: message.id, ok: false, error: serialize(error) });
    else send({ type: 'result', id: message.id, ok: true, result });
  };
  try {
    // Async handlers settle through their promise; callback-style ones through the callback (Node ≤ 22 runtimes).
    const returned = handler(message.event, contextFor(message, finish), finish);
    if (returned !== null && typeof returned === 'object' && typeof (returned as PromiseLike<unknown>).then === 'function') {
      (returned as PromiseLike<unknown>).then(
        (result) => finish(undefined, result),
        (error: unknown) => finish(error ?? new Error('handler rejected without a reason')),
      );
    }
  } catch (error) {
    finish(error);
  }
}

async function main(): Promise<void> {
  const [entry, handlerName = 'handler'] = process.argv.slice(2);
  if (!entry) throw new Error('usage: lambda-child.ts <entry> [handlerName]');
  // Without a parent this process must not outlive it.
  process.on('disconnect', () => process.exit(0));
  shiftClock(Number(process.env['CHAOS_CLOCK_OFFSET_MS'] ?? 0));
  let handler: Handler;
  try {
    const module = (await import(pathToFileURL(resolve(entry)).href)) as Record<string, unknown>;
    const found = module[handlerName] ?? (module['default'] as Record<string, unknown> | undefined)?.[handlerName];
    if (typeof found !== 'function') throw new TypeError(`${entry} does not export a function named ${handlerName}`);
    handler = found as Handler;
  } catch (error) {
    // A failed init ends the process, as it ends the Lambda execution environment; exit once the parent has the reason.
    const message: ChildMessage = { type: 'initError', error: serialize(error) };
    if (process.send) process.send(message, () => process.exit(1));
    else process.exit(1);
    return;
  }
  process.on('message', (message: InvokeMessage) => {
    if (message.type === 'invoke') run(handler, message);
  });
  send({ type: 'ready', pid: process.pid });
}

await main();
