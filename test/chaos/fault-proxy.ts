// An HTTP proxy between an AWS SDK client and a local stand-in for DynamoDB, SQS or SES that
// breaks chosen requests in the ways a network and a service do, and logs for every request
// whether it reached the upstream: the question "did the side effect happen although the
// client saw a failure?" is exactly what at-most-once delivery depends on.
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listen } from './upstreams.js';

export type FaultProtocol = 'dynamodb' | 'sqs' | 'ses';

export const FAULTS = ['pass', 'dropRequest', 'dropAnswer', 'cutBody', 'stallBody', 'hang', 'hangAfterForward', 'error500', 'throttle'] as const;

/**
 * - `pass`: forward, relay the answer unchanged.
 * - `dropRequest`: read the request, never forward it, destroy the client socket.
 * - `dropAnswer`: forward, wait for the whole upstream answer, destroy the client socket.
 * - `cutBody`: forward, relay status, headers (Content-Length kept) and half the body, destroy the socket.
 * - `stallBody`: like cutBody, but keep the socket open instead (until close()): an answer that stops half way.
 * - `hang`: read the request, never forward, never answer (until close()).
 * - `hangAfterForward`: forward, never answer (until close()).
 * - `error500`: answer the protocol's internal error without forwarding.
 * - `throttle`: answer the protocol's throttling error without forwarding.
 */
export type Fault = (typeof FAULTS)[number];

export interface FaultRequestInfo {
  /** 0 for the first request the proxy sees, counting every request. */
  readonly index: number;
  /** `PutItem`, `SendMessage` (the X-Amz-Target suffix) or `SendBounce` (the awsQuery Action). */
  readonly operation: string;
  readonly body: string;
}

export type FaultChooser = (info: FaultRequestInfo) => Fault;

export interface FaultLogEntry {
  readonly index: number;
  readonly operation: string;
  readonly fault: Fault;
  /** Whether the upstream received the request and answered it (its side effect may have happened). */
  forwarded: boolean;
  /** The upstream's status, once it answered. */
  upstreamStatus?: number;
  /** Why forwarding failed (upstream down, proxy closed), when it did. */
  upstreamError?: string;
  /** When the request had been read, by the proxy's clock. */
  readonly at: number;
}

export interface FaultProxyOptions {
  /** `http://host:port` of the upstream. */
  readonly target: string;
  readonly protocol: FaultProtocol;
  /** @default () => 'pass' */
  readonly fault?: FaultChooser;
  /** For log timestamps. @default Date.now */
  readonly now?: () => number;
}

export interface FaultProxy {
  readonly url: string;
  /** One entry per request, in arrival order; entries are updated as the upstream answers. */
  readonly log: FaultLogEntry[];
  setFault(chooser: FaultChooser): void;
  /** Resolves once every forwarded request has its upstream answer (or failed): then `log` is final. */
  settled(): Promise<void>;
  /** Destroys every socket, hung ones included, and stops listening. */
  close(): Promise<void>;
}

/** Faults for the next requests in order, `pass` after them. */
export function faultSequence(...faults: Fault[]): FaultChooser {
  const queue = [...faults];
  return () => queue.shift() ?? 'pass';
}

/** `fault` for the first `times` requests of `operation` (all of them by default), `pass` for the rest. */
export function faultOn(operation: string, fault: Fault, times = Number.POSITIVE_INFINITY): FaultChooser {
  let left = times;
  return (info) => {
    if (info.operation !== operation || left <= 0) return 'pass';
    left--;
    return fault;
  };
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.target);
  const now = options.now ?? Date.now;
  let chooser: FaultChooser = options.fault ?? (() => 'pass');
  const log: FaultLogEntry[] = [];
  const pending = new Set<Promise<unknown>>();
  // Our own agent, so close() can destroy the upstream sockets too.
  const agent = new Agent({ keepAlive: true });
  let nextIndex = 0;
  let closed = false;

  /** The whole upstream answer; rejects if the upstream cannot be reached or the answer breaks off. */
  const forward = (incoming: IncomingMessage, body: Buffer): Promise<UpstreamAnswer> =>
    new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers, agent },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }));
          answer.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });

  const handle = async (incoming: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await readAll(incoming);
    const index = nextIndex++;
    const operation = operationOf(options.protocol, incoming, body.toString('utf8'));
    const fault = chooser({ index, operation, body: body.toString('utf8') });
    const entry: FaultLogEntry = { index, operation, fault, forwarded: false, at: now() };
    log.push(entry);
    const socket = incoming.socket;

    switch (fault) {
      case 'dropRequest':
        socket.destroy();
        return;
      case 'hang':
        return; // the socket stays open until close()
      case 'error500':
      case 'throttle': {
        const error = syntheticError(options.protocol, fault);
        response.writeHead(error.status, { ...error.headers, 'content-length': Buffer.byteLength(error.body) });
        response.end(error.body);
        return;
      }
    }

    let answer: UpstreamAnswer;
    const forwarding = forward(incoming, body);
    pending.add(forwarding);
    try {
      answer = await forwarding;
      entry.forwarded = true;
      entry.upstreamStatus = answer.status;
    } catch (error) {
      entry.upstreamError = closed ? 'proxy closed' : (error as Error).message;
      socket.destroy();
      return;
    } finally {
      pending.delete(forwarding);
    }

    switch (fault) {
      case 'pass':
        response.writeHead(answer.status, answer.headers);
        response.end(answer.body);
        return;
      case 'dropAnswer':
        socket.destroy();
        return;
      case 'hangAfterForward':
        return;
      case 'cutBody':
      case 'stallBody': {
        // The client must expect the whole body, so a chunked upstream answer gets its real length.
        const headers: IncomingHttpHeaders = { ...answer.headers };
        delete headers['transfer-encoding'];
        headers['content-length'] = String(answer.body.length);
        response.writeHead(answer.status, headers);
        response.flushHeaders();
        const half = answer.body.subarray(0, Math.floor(answer.body.length / 2));
        if (fault === 'stallBody') {
          response.write(half);
          return;
        }
        // Destroy only once the half is on the wire, or the client might see nothing at all.
        if (half.length === 0) socket.destroy();
        else response.write(half, () => socket.destroy());
        return;
      }
    }
  };

  const server: Server = createServer((incoming, response) => {
    handle(incoming, response).catch(() => incoming.socket.destroy());
  });
  const listening = await listen(server);

  return {
    url: listening.url,
    log,
    setFault: (next) => {
      chooser = next;
    },
    settled: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    close: () => {
      closed = true;
      agent.destroy();
      return listening.close();
    },
  };
}

interface UpstreamAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

async function readAll(incoming: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The operation as the service reads it: JSON protocols name it in X-Amz-Target, awsQuery in the form's Action. */
export function operationOf(protocol: FaultProtocol, incoming: Pick<IncomingMessage, 'headers' | 'url'>, body: string): string {
  if (protocol === 'ses') {
    const params = new URLSearchParams(body);
    return params.get('Action') ?? new URL(incoming.url ?? '/', 'http://localhost').searchParams.get('Action') ?? 'unknown';
  }
  const target = incoming.headers['x-amz-target'];
  const value = Array.isArray(target) ? target[0] : target;
  return value?.slice(value.lastIndexOf('.') + 1) || 'unknown';
}

export interface SyntheticError {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The service's own answer for an internal error or throttling, as each protocol spells it. */
export function syntheticError(protocol: FaultProtocol, fault: 'error500' | 'throttle'): SyntheticError {
  const requestId = randomUUID();
  switch (protocol) {
    case 'dynamodb': {
      const body = fault === 'error500'
        ? { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error (injected fault)' }
        : { __type: 'com.amazon.coral.availability#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' };
      return { status: fault === 'error500' ? 500 : 400, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId }, body: JSON.stringify(body) };
    }
    case 'sqs': {
      // SQS's JSON protocol is "awsQuery compatible": it also names the old query error code in
      // x-amzn-query-error, and the SDK takes the error's name from there when present.
      const [code, type, message] = fault === 'error500'
        ? ['InternalError', 'Receiver', 'We encountered an internal error. Please try again. (injected fault)']
        : ['RequestThrottled', 'Sender', 'Request is throttled. (injected fault)'];
      return {
        status: fault === 'error500' ? 500 : 400,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId, 'x-amzn-query-error': `${code};${type}` },
        body: JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message }),
      };
    }
    case 'ses': {
      const [status, type, code, message] = fault === 'error500'
        ? [500, 'Receiver', 'InternalFailure', 'An internal error occurred (injected fault).']
        : [400, 'Sender', 'Throttling', 'Maximum sending rate exceeded.'];
      const body =
        `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">\n` +
        `  <Error>\n    <Type>${type}</Type>\n    <Code>${code}</Code>\n    <Message>${message}</Message>\n  </Error>\n` +
        `  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`;
      return { status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
    }
  }
}
