// The local engines in processes of their own, as SES and DynamoDB are remote: the rate SES
// measures is then not bent by the event loop of the process under test, nor is its CPU shared
// with an in-process DynamoDB.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDynalite } from '../local/dynamodb.js';
import { startSesEndpoint, type SesEndpoint } from '../local/ses-endpoint.js';

export interface ServiceSesStats {
  readonly accepted: readonly { readonly originalMessageId: string; readonly receivedAt: number }[];
  readonly throttled: number;
  readonly requests: number;
}

export interface RemoteService<TStats> {
  readonly url: string;
  stop(): Promise<TStats>;
}

/** The local SES endpoint in a child process; `stop()` closes it and returns what it saw. */
export function startSesService(ratePerSecond: number): Promise<RemoteService<ServiceSesStats>> {
  return startService<ServiceSesStats>(['ses', String(ratePerSecond)]);
}

/** dynalite in a child process. */
export function startDynaliteService(): Promise<RemoteService<void>> {
  return startService<void>(['dynalite']);
}

async function startService<TStats>(args: string[]): Promise<RemoteService<TStats>> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { url: string }).url));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${args[0]} service exited with ${code}`)));
  });
  return {
    url,
    stop: async () => {
      const stats = new Promise<TStats>((resolve) => child.once('message', (message) => resolve(message as TStats)));
      child.send('stop');
      const result = await stats;
      child.disconnect();
      return result;
    },
  };
}

if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  const [kind, rate] = process.argv.slice(2);
  const send = process.send.bind(process);
  if (kind === 'ses') {
    const endpoint: SesEndpoint = await startSesEndpoint({ ratePerSecond: Number(rate) });
    send({ url: endpoint.url });
    process.once('message', () => {
      void endpoint.close().then(() =>
        send({
          accepted: endpoint.accepted.map((a) => ({ originalMessageId: a.request.OriginalMessageId, receivedAt: a.receivedAt })),
          throttled: endpoint.stats.throttled,
          requests: endpoint.stats.requests,
        } satisfies ServiceSesStats),
      );
    });
  } else {
    const dynamo = await startDynalite();
    send({ url: dynamo.endpoint });
    process.once('message', () => {
      void dynamo.close().then(() => send({}));
    });
  }
}
