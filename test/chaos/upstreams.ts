// Stand-ins for the services behind the fault proxy in the chaos tests, kept here rather than
// imported from local/ so that these tests do not move when the local engines are rewritten.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';

export interface Upstream {
  readonly url: string;
  close(): Promise<void>;
}

// dynalite ships no type declarations; this is the one function of it used here.
type Dynalite = (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

/** dynalite in memory on an ephemeral port; tables are ACTIVE at once. */
export async function startDynaliteUpstream(): Promise<Upstream> {
  return listen(dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }));
}

export interface SesStub extends Upstream {
  /** Every request that reached the stub: what SES "did". */
  readonly calls: { readonly action: string; readonly originalMessageId: string | undefined }[];
}

/** Answers every SES awsQuery call with success (a SendBounceResponse), and remembers it. */
export async function startSesStub(): Promise<SesStub> {
  const calls: { action: string; originalMessageId: string | undefined }[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const params = new URLSearchParams(body);
      const action = params.get('Action') ?? 'unknown';
      calls.push({ action, originalMessageId: params.get('OriginalMessageId') ?? undefined });
      const requestId = randomUUID();
      const xml =
        `<${action}Response xmlns="http://ses.amazonaws.com/doc/2010-12-01/">\n` +
        `  <${action}Result>\n    <MessageId>0102018c6f1a2b3c-${randomUUID()}-000000</MessageId>\n  </${action}Result>\n` +
        `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`;
      response.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(xml) });
      response.end(xml);
    });
  });
  return { ...(await listen(server)), calls };
}

/** Listens on a free loopback port; close() stops it and cuts every connection still open (a stalled one too). */
export async function listen(server: Server): Promise<Upstream> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
