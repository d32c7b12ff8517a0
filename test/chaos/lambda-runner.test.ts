// The child-process Lambda runner with a fixture handler whose module state tells warm
// invocations (same state) from cold starts (fresh state).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CounterResult } from './fixtures/counter-handler.js';
import { startLambda, type InvokeResult, type LambdaRunner } from './lambda-runner.js';

const ENTRY = fileURLToPath(new URL('./fixtures/counter-handler.ts', import.meta.url));
const TIMEOUT_MS = 1_500;

let lambda: LambdaRunner | undefined;

afterEach(async () => {
  await lambda?.close();
  lambda = undefined;
});

async function start(env: Record<string, string> = {}, timeoutMs = TIMEOUT_MS): Promise<LambdaRunner> {
  lambda = await startLambda({ entry: ENTRY, env: { GREETING: 'hello', AWS_LAMBDA_FUNCTION_NAME: 'deliver', AWS_REGION: 'eu-west-1', ...env }, timeoutMs });
  return lambda;
}

function resultOf(outcome: InvokeResult): CounterResult {
  if (!outcome.ok) throw new Error(`invocation failed: ${outcome.reason} ${outcome.error ?? ''}`);
  return outcome.result as CounterResult;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('invoke: the handler gets the event, its own environment and a Lambda-like context', async () => {
  const runner = await start();
  const result = resultOf(await runner.invoke({ action: 'echo', value: { n: 1 } }));
  expect(result.value).toEqual({ n: 1 });
  expect(result.pid).toBe(runner.pid);
  expect(result.pid).not.toBe(process.pid);
  expect(result.greeting).toBe('hello');
  // The test runner's environment (JEST_WORKER_ID, NODE_OPTIONS, …) does not leak in.
  expect(result.envKeys.filter((key) => !['PATH', 'HOME', 'TMPDIR', 'GREETING', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_REGION'].includes(key))).toEqual([]);
  expect(result.functionName).toBe('deliver');
  expect(result.invokedFunctionArn).toBe('arn:aws:lambda:eu-west-1:000000000000:function:deliver');
  expect(result.remainingMs).toBeGreaterThan(TIMEOUT_MS - 500);
  expect(result.remainingMs).toBeLessThanOrEqual(TIMEOUT_MS);
  const again = resultOf(await runner.invoke({ action: 'echo' }));
  expect(again.awsRequestId).not.toBe(result.awsRequestId);
});

test('warm invocations share module state; a rejected handler is an error and the process lives on', async () => {
  const runner = await start();
  const first = resultOf(await runner.invoke({ action: 'echo' }));
  expect(await runner.invoke({ action: 'throw', message: 'bad input' })).toEqual({ ok: false, reason: 'error', error: 'TypeError: bad input' });
  const third = resultOf(await runner.invoke({ action: 'echo' }));
  expect([third.coldStartId, third.invocations, third.pid]).toEqual([first.coldStartId, 3, first.pid]);
  expect(runner.coldStarts).toBe(1);
});

test('kill mid-invocation: the invocation is crashed, the next one starts cold', async () => {
  const runner = await start();
  const before = resultOf(await runner.invoke({ action: 'echo' }));
  const pending = runner.invoke({ action: 'block' });
  await runner.waitForOutput('blocking in invocation 2');
  runner.kill();
  const outcome = await pending;
  expect(outcome).toMatchObject({ ok: false, reason: 'crashed' });
  expect(outcome.ok === false && outcome.error).toMatch(/signal SIGKILL/);
  expect(runner.pid).toBeUndefined();
  const after = resultOf(await runner.invoke({ action: 'echo' }));
  expect(after.coldStartId).not.toBe(before.coldStartId);
  expect(after.invocations).toBe(1);
  expect(after.pid).not.toBe(before.pid);
  expect(isAlive(before.pid)).toBe(false);
  expect(runner.coldStarts).toBe(2);
});

test('timeout: the child is killed at timeoutMs and replaced by a cold one', async () => {
  const runner = await start({}, 600);
  const before = resultOf(await runner.invoke({ action: 'echo' }));
  const started = Date.now();
  expect(await runner.invoke({ action: 'block' })).toEqual({ ok: false, reason: 'timeout' });
  const elapsed = Date.now() - started;
  expect(elapsed).toBeGreaterThanOrEqual(590);
  expect(elapsed).toBeLessThan(1_500);
  expect(isAlive(before.pid)).toBe(false);
  // A handler that finishes in time is not affected by the timeout.
  const after = resultOf(await runner.invoke({ action: 'sleep', ms: 100 }));
  expect([after.invocations, after.coldStartId === before.coldStartId]).toEqual([1, false]);
});

test('restart(): a cold start resets module state', async () => {
  const runner = await start();
  const first = resultOf(await runner.invoke({ action: 'echo' }));
  resultOf(await runner.invoke({ action: 'echo' }));
  await runner.restart();
  expect(runner.pid).not.toBe(first.pid);
  const after = resultOf(await runner.invoke({ action: 'echo' }));
  expect([after.invocations, after.coldStartId === first.coldStartId]).toEqual([1, false]);
});

test('the handler exiting the process or leaving an unhandled rejection crashes the invocation', async () => {
  const runner = await start();
  const exited = await runner.invoke({ action: 'exit', code: 3 });
  expect(exited).toMatchObject({ ok: false, reason: 'crashed', error: expect.stringContaining('exit code 3') });
  expect(await runner.invoke({ action: 'unhandledRejection' })).toMatchObject({ ok: false, reason: 'crashed' });
  expect(runner.output()).toMatch(/rejected in the background/);
  expect(resultOf(await runner.invoke({ action: 'echo' })).invocations).toBe(1);
});

test('invocations queue up: one execution environment serves one at a time', async () => {
  const runner = await start();
  const started = Date.now();
  const [a, b] = await Promise.all([runner.invoke({ action: 'sleep', ms: 150 }), runner.invoke({ action: 'sleep', ms: 150 })]);
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  expect([resultOf(a).invocations, resultOf(b).invocations]).toEqual([1, 2]);
});

test('output is captured, not printed', async () => {
  const runner = await start();
  const { coldStartId } = resultOf(await runner.invoke({ action: 'sleep', ms: 1 }));
  expect(runner.output()).toContain(`init ${coldStartId}\nsleeping 1 ms\n`);
});

test('a failing init rejects startLambda with the reason and leaves nothing behind', async () => {
  const exitListeners = process.listenerCount('exit');
  await expect(startLambda({ entry: ENTRY, env: { FAIL_INIT: '1' }, timeoutMs: TIMEOUT_MS })).rejects.toThrow('init failed: Error: init failed on purpose');
  expect(process.listenerCount('exit')).toBe(exitListeners);
});

test('a cold start that fails makes the invocation an error; a slow init hits initTimeoutMs', async () => {
  const marker = join(await mkdtemp(join(tmpdir(), 'chaos-')), 'fail-init');
  const runner = await start({ FAIL_INIT_IF_EXISTS: marker });
  resultOf(await runner.invoke({ action: 'echo' }));
  await writeFile(marker, '');
  runner.kill();
  expect(await runner.invoke({ action: 'echo' })).toEqual({ ok: false, reason: 'error', error: 'init failed: Error: init failed because the marker exists' });
  await rm(marker);
  expect(resultOf(await runner.invoke({ action: 'echo' })).invocations).toBe(1);

  await expect(startLambda({ entry: ENTRY, env: { INIT_DELAY_MS: '2000' }, timeoutMs: TIMEOUT_MS, initTimeoutMs: 100 })).rejects.toThrow('init did not finish within 100 ms');
});

test('callback-style handlers work too', async () => {
  lambda = await startLambda({ entry: ENTRY, handlerName: 'callbackHandler', env: {}, timeoutMs: TIMEOUT_MS });
  expect(await lambda.invoke({ value: 21 })).toEqual({ ok: true, result: { doubled: 42 } });
  expect(await lambda.invoke({ value: -1 })).toEqual({ ok: false, reason: 'error', error: 'RangeError: negative' });
});

test('close() kills the child; further invocations are refused', async () => {
  const runner = await start();
  const { pid } = resultOf(await runner.invoke({ action: 'echo' }));
  await runner.close();
  expect(isAlive(pid)).toBe(false);
  await expect(runner.invoke({ action: 'echo' })).rejects.toThrow(/closed/);
  lambda = undefined;
});
