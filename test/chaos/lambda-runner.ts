// Runs a Lambda handler in a child process (see lambda-child.ts) so that a test can kill it at
// any moment, as Lambda does on a timeout or an out-of-memory, and start it again cold. Module
// state (clients, caches, a pacer) lives in the child and dies with it, as in a real execution
// environment; nothing of it leaks between "containers".
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildMessage, InvokeMessage } from './lambda-child.js';

export interface LambdaRunnerOptions {
  /** Path to a .ts or .js module exporting the handler. */
  readonly entry: string;
  /** The function's environment; PATH, HOME and TMPDIR are added from this process. */
  readonly env: Readonly<Record<string, string>>;
  /** The function timeout: past it the child is killed and started again cold. */
  readonly timeoutMs: number;
  /** @default 'handler' */
  readonly handlerName?: string;
  /** How long importing the module may take (Lambda allows 10 s of init). @default 10_000 */
  readonly initTimeoutMs?: number;
  /** @default env.AWS_LAMBDA_FUNCTION_NAME ?? 'chaos-function' */
  readonly functionName?: string;
  /** How much of the child's stdout and stderr to keep. @default 64 KiB */
  readonly outputLimit?: number;
}

export type InvokeResult =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly reason: 'crashed' | 'timeout' | 'error'; readonly error?: string };

export interface LambdaRunner {
  /** One invocation; concurrent calls queue, as one execution environment serves one at a time. */
  invoke(event: unknown): Promise<InvokeResult>;
  /**
   * Signals the current child (SIGKILL by default), which must end it; an invocation in progress
   * resolves `crashed`, and the next one starts cold.
   */
  kill(signal?: NodeJS.Signals): void;
  /** Kills the current child, if any, and waits for a new one to finish its init (a cold start). */
  restart(): Promise<void>;
  /** The current child's pid, undefined when none is running. */
  readonly pid: number | undefined;
  /** How many children have been started. */
  readonly coldStarts: number;
  /** Changes the environment of the children started from now on (the next cold start). */
  setEnv(patch: Readonly<Record<string, string>>): void;
  /** The child's captured stdout and stderr (the latest `outputLimit` characters, all children). */
  output(): string;
  /** Resolves when the captured output matches, e.g. to kill the handler at a chosen step. */
  waitForOutput(pattern: RegExp | string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const CHILD_PATH = fileURLToPath(new URL('./lambda-child.ts', import.meta.url));
// Resolved here so the child finds tsx whatever its working directory.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

interface Running {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  hasExited: boolean;
}

interface Pending {
  readonly id: number;
  readonly child: ChildProcess;
  readonly resolve: (result: InvokeResult) => void;
  timedOut: boolean;
  timer: NodeJS.Timeout;
}

export async function startLambda(options: LambdaRunnerOptions): Promise<LambdaRunner> {
  const runner = new Runner(options);
  try {
    await runner.restart();
  } catch (error) {
    await runner.close();
    throw error;
  }
  return runner;
}

class Runner implements LambdaRunner {
  #running: Running | undefined;
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #coldStarts = 0;
  #output = '';
  #outputWaiters = new Set<() => void>();
  #closed = false;
  readonly #killAllOnExit = (): void => {
    this.#running?.child.kill('SIGKILL');
  };

  #env: Readonly<Record<string, string>>;

  constructor(private readonly options: LambdaRunnerOptions) {
    this.#env = options.env;
    process.once('exit', this.#killAllOnExit);
  }

  setEnv(patch: Readonly<Record<string, string>>): void {
    this.#env = { ...this.#env, ...patch };
  }

  get pid(): number | undefined {
    return this.#running && !this.#running.hasExited ? this.#running.child.pid : undefined;
  }

  get coldStarts(): number {
    return this.#coldStarts;
  }

  output(): string {
    return this.#output;
  }

  invoke(event: unknown): Promise<InvokeResult> {
    const run = this.#queue.then(() => this.#invokeNow(event));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#running?.child.kill(signal);
  }

  async restart(): Promise<void> {
    if (this.#closed) throw new Error('the lambda runner is closed');
    await this.#stop();
    await this.#start().ready;
  }

  async waitForOutput(pattern: RegExp | string, timeoutMs = 5_000): Promise<void> {
    const matches = (): boolean => (typeof pattern === 'string' ? this.#output.includes(pattern) : pattern.test(this.#output));
    if (matches()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#outputWaiters.delete(check);
        reject(new Error(`no output matching ${String(pattern)} within ${timeoutMs} ms; output so far:\n${this.#output}`));
      }, timeoutMs);
      const check = (): void => {
        if (!matches()) return;
        clearTimeout(timer);
        this.#outputWaiters.delete(check);
        resolve();
      };
      this.#outputWaiters.add(check);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#stop();
    process.off('exit', this.#killAllOnExit);
  }

  async #invokeNow(event: unknown): Promise<InvokeResult> {
    if (this.#closed) throw new Error('the lambda runner is closed');
    // A child signalled by kill() is on its way out even if it has not exited yet: wait for that,
    // so the invocation meets a fresh process rather than a dying one.
    if (this.#running?.child.killed) await this.#running.exited;
    // A child killed between invocations is replaced now: the next invocation is a cold start.
    const running = this.#running && !this.#running.hasExited ? this.#running : this.#start();
    try {
      await running.ready;
    } catch (error) {
      return { ok: false, reason: 'error', error: (error as Error).message };
    }
    if (running.hasExited) return { ok: false, reason: 'crashed', error: 'the function exited before the invocation' };
    const id = this.#nextId++;
    const functionName = this.options.functionName ?? this.#env['AWS_LAMBDA_FUNCTION_NAME'] ?? 'chaos-function';
    const message: InvokeMessage = {
      type: 'invoke',
      id,
      event,
      deadlineMs: Date.now() + this.options.timeoutMs,
      functionName,
      region: this.#env['AWS_REGION'] ?? 'us-east-1',
    };
    return new Promise<InvokeResult>((resolve) => {
      const pending: Pending = {
        id,
        child: running.child,
        resolve: (result) => {
          clearTimeout(pending.timer);
          this.#pending = undefined;
          resolve(result);
        },
        timedOut: false,
        timer: setTimeout(() => {
          // Lambda's timeout: the environment is torn down mid-invocation and the next one starts cold.
          pending.timedOut = true;
          running.child.kill('SIGKILL');
        }, this.options.timeoutMs),
      };
      this.#pending = pending;
      running.child.send(message, (error) => {
        // Only when the child is already gone; its 'exit' resolves the invocation as crashed.
        if (error) running.child.kill('SIGKILL');
      });
    });
  }

  #start(): Running {
    const env = this.#env;
    const { entry } = this.options;
    const child = fork(CHILD_PATH, [entry, this.options.handlerName ?? 'handler'], {
      // Not this process's flags (jest's --experimental-vm-modules); only the TypeScript loader.
      execArgv: ['--import', TSX_LOADER],
      env: baseEnv(env),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.#coldStarts++;
    const capture = (chunk: Buffer): void => this.#capture(chunk.toString());
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);

    // Made before the promises that report on it: `ready` and `exited` are filled in below.
    const running = { child, hasExited: false } as { child: ChildProcess; hasExited: boolean; ready: Promise<void>; exited: Promise<void> };
    const exited = new Promise<void>((resolve) => {
      const done = (): void => {
        if (running.hasExited) return;
        running.hasExited = true;
        if (this.#running === running) this.#running = undefined;
        const pending = this.#pending;
        if (pending && pending.child === child) {
          pending.resolve(pending.timedOut ? { ok: false, reason: 'timeout' } : { ok: false, reason: 'crashed', error: `the function process exited (${describeExit(child)})` });
          // Lambda replaces a timed-out environment; the new one starts its init right away.
          if (pending.timedOut && !this.#closed) this.#start().ready.catch(() => undefined);
        }
        resolve();
      };
      child.once('exit', done);
      child.once('error', (error) => {
        this.#capture(`[lambda-runner] ${error.message}\n`);
        done();
      });
    });

    const ready = new Promise<void>((resolve, reject) => {
      const initTimeoutMs = this.options.initTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        reject(new Error(`init did not finish within ${initTimeoutMs} ms`));
        child.kill('SIGKILL');
      }, initTimeoutMs);
      const onMessage = (message: ChildMessage): void => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (message.type === 'initError') {
          clearTimeout(timer);
          reject(new Error(`init failed: ${message.error.errorType}: ${message.error.errorMessage}`));
          // It exits by itself; killing it marks it as gone at once, so the next invocation starts afresh.
          child.kill('SIGKILL');
        } else if (message.type === 'result') {
          const pending = this.#pending;
          if (pending && pending.id === message.id && pending.child === child) {
            pending.resolve(message.ok ? { ok: true, result: message.result } : { ok: false, reason: 'error', error: `${message.error.errorType}: ${message.error.errorMessage}` });
          }
        }
      };
      child.on('message', onMessage);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the function process exited during init (${describeExit(child)}):\n${this.#output.slice(-2_000)}`));
      });
    });
    // Callers that never await `ready` (a background restart) must not cause an unhandled rejection.
    ready.catch(() => undefined);
    running.ready = ready;
    running.exited = exited;
    this.#running = running;
    return running;
  }

  async #stop(): Promise<void> {
    const running = this.#running;
    if (!running) return;
    running.child.kill('SIGKILL');
    await running.exited;
  }

  #capture(text: string): void {
    const limit = this.options.outputLimit ?? 64 * 1024;
    this.#output = (this.#output + text).slice(-limit);
    for (const waiter of [...this.#outputWaiters]) waiter();
  }
}

function baseEnv(env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  // Only what a process needs to run, plus the function's own variables: nothing of the test runner's environment.
  const inherited: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'SystemRoot']) {
    const value = process.env[key];
    if (value !== undefined) inherited[key] = value;
  }
  return { ...inherited, ...env };
}

function describeExit(child: ChildProcess): string {
  return child.signalCode ? `signal ${child.signalCode}` : `exit code ${child.exitCode ?? 'unknown'}`;
}
