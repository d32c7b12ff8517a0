// A local Amazon SES endpoint for SendBounce: speaks the SES v1 awsQuery protocol over HTTP so
// that the real AWS SDK or CLI can be pointed at it, validates as SES does, enforces the
// SendBounce rate, and writes each accepted bounce as the RFC 3464 message its sender would get.
import { randomUUID } from 'node:crypto';
import { link, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { renderDsnMessage, type HeaderField } from './dsn-message.js';
import {
  newSesMessageId,
  parseSendBounce,
  printable,
  readQueryForm,
  SES_API_VERSION,
  serializeErrorResponse,
  serializeSendBounceResponse,
  sesError,
  SesErrorCode,
  THROTTLING_MESSAGE,
  truncate,
  type SendBounceRequest,
  type SesError,
} from './ses-protocol.js';

export interface SesEndpointOptions {
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** SendBounce calls per second; any positive number. @default 1 (the SES SendBounce limit) */
  readonly ratePerSecond?: number;
  /** When set, each accepted bounce is written to `<outDir>/<OriginalMessageId>.eml` (the directory is created). */
  readonly outDir?: string;
  /** Headers of the original mail, for the text/rfc822-headers part of the DSN. */
  readonly originalHeaders?: (originalMessageId: string) => readonly HeaderField[] | undefined;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Called once per answered request, e.g. to log it. */
  readonly onAnswer?: (answer: SesAnswer) => void;
  /**
   * How long a request may take to arrive, headers and body, before Node answers it
   * 408 Request Timeout and closes its connection: a client that trickles its body, or never
   * ends it, holds a connection no longer than this. @default 10000
   */
  readonly requestTimeoutMs?: number;
}

/** What the endpoint answered to one request. */
export interface SesAnswer {
  readonly action: string | undefined;
  /** For a dropped connection, the status it would have had: nothing is sent. */
  readonly httpStatus: number;
  /** Absent on success and for a dropped connection. */
  readonly error?: SesError;
  readonly bounce?: AcceptedBounce;
  readonly fault?: ScriptedFault;
}

export const ScriptedFault = {
  Http500: 'http500',
  MessageRejected: 'messageRejected',
  /** The bounce is accepted, and the connection is closed before any answer. */
  DropConnection: 'dropConnection',
  /** The bounce is accepted, and the 200 answer stops half way through its body. */
  CutBody: 'cutBody',
  Throttle: 'throttle',
} as const;
export type ScriptedFault = (typeof ScriptedFault)[keyof typeof ScriptedFault];

export interface AcceptedBounce {
  readonly messageId: string;
  readonly request: SendBounceRequest;
  readonly receivedAt: number;
  readonly emlPath?: string;
}

export interface SesEndpointStats {
  readonly requests: number;
  readonly accepted: number;
  readonly throttled: number;
  readonly invalid: number;
  readonly faults: number;
}

export interface SesEndpoint {
  readonly url: string;
  readonly port: number;
  readonly accepted: readonly AcceptedBounce[];
  readonly stats: SesEndpointStats;
  /** Each fault answers one upcoming SendBounce call, in order. */
  failNext(...faults: ScriptedFault[]): void;
  /** Closes the server and every open socket. */
  close(): Promise<void>;
}

/** SES's request size limit for the Query API is far larger than any SendBounce; this only stops abuse. */
export const MAX_BODY_BYTES = 1024 * 1024;

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** Faults answered with an SES error instead of processing the call. */
const FAULT_ERRORS: Readonly<Record<Exclude<ScriptedFault, 'dropConnection' | 'cutBody'>, SesError>> = {
  http500: sesError(SesErrorCode.InternalFailure, 'An internal error occurred (scripted fault).'),
  messageRejected: sesError(SesErrorCode.MessageRejected, 'Email address is not verified (scripted fault).'),
  throttle: sesError(SesErrorCode.Throttling, THROTTLING_MESSAGE),
};

const MAX_KEPT_BOUNCES = 10_000;

export async function startSesEndpoint(options: SesEndpointOptions = {}): Promise<SesEndpoint> {
  const ratePerSecond = options.ratePerSecond ?? 1;
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
    throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
  }
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!(requestTimeoutMs > 0) || !Number.isFinite(requestTimeoutMs)) {
    throw new RangeError(`requestTimeoutMs must be a positive number, got ${requestTimeoutMs}`);
  }
  const clock = options.clock ?? Date.now;
  const limiter = createRateLimiter(ratePerSecond);
  const accepted: AcceptedBounce[] = [];
  const faults: ScriptedFault[] = [];
  const stats = { requests: 0, accepted: 0, throttled: 0, invalid: 0, faults: 0 };
  const sockets = new Set<Socket>();
  if (options.outDir !== undefined) await mkdir(options.outDir, { recursive: true });

  const accept = async (request: SendBounceRequest, region: string): Promise<AcceptedBounce> => {
    const receivedAt = clock();
    const messageId = newSesMessageId(receivedAt);
    const emlPath = options.outDir === undefined
      ? undefined
      : await writeEml(options.outDir, request, renderDsnMessage(request, {
        messageId,
        date: new Date(receivedAt),
        originalHeaders: options.originalHeaders?.(request.OriginalMessageId),
        // What SES reports when the request has no MessageDsn.
        defaultReportingMta: `dns; inbound-smtp.${region}.amazonaws.com`,
      }));
    const bounce: AcceptedBounce = emlPath === undefined ? { messageId, request, receivedAt } : { messageId, request, receivedAt, emlPath };
    accepted.push(bounce);
    // A long-running serve-ses keeps the most recent ones only; stats count them all.
    if (accepted.length > MAX_KEPT_BOUNCES) accepted.splice(0, accepted.length - MAX_KEPT_BOUNCES);
    stats.accepted += 1;
    return bounce;
  };

  /** Decides the answer to one request; the HTTP plumbing is in `handle`. */
  const answer = async (params: ReadonlyMap<string, string>, req: IncomingMessage, arrivedAt: number): Promise<SesAnswer> => {
    const action = params.get('Action');
    const refuse = (error: SesError, counter: 'invalid' | 'throttled' | 'faults', fault?: ScriptedFault): SesAnswer => {
      stats[counter] += 1;
      return { action, httpStatus: error.httpStatus, error, ...(fault ? { fault } : {}) };
    };
    if (!isSigned(req, params)) return refuse(sesError(SesErrorCode.MissingAuthenticationToken, 'Request is missing Authentication Token'), 'invalid');
    if (action === undefined) return refuse(sesError(SesErrorCode.MissingAction, 'The request must contain the parameter Action.'), 'invalid');
    const version = params.get('Version');
    if (action !== 'SendBounce' || version !== SES_API_VERSION) {
      return refuse(sesError(SesErrorCode.InvalidAction, `Could not find operation ${truncate(action)} for version ${truncate(version ?? 'NO_VERSION_SPECIFIED')}`), 'invalid');
    }
    const fault = faults.shift();
    if (fault !== undefined && fault !== ScriptedFault.DropConnection && fault !== ScriptedFault.CutBody) return refuse(FAULT_ERRORS[fault], 'faults', fault);
    // A dropped connection or a cut answer models SES having sent the bounce while its answer
    // was lost: it bypasses the rate limiter so that the fault fires deterministically.
    if (fault === undefined && !limiter.tryAcquire(arrivedAt)) return refuse(sesError(SesErrorCode.Throttling, THROTTLING_MESSAGE), 'throttled');
    const parsed = parseSendBounce(params);
    if (!parsed.ok) return refuse(parsed.error, fault === undefined ? 'invalid' : 'faults', fault);
    const bounce = await accept(parsed.request, signingRegion(req));
    if (fault !== undefined) stats.faults += 1;
    return { action, httpStatus: 200, bounce, ...(fault ? { fault } : {}) };
  };

  /** A request refused before its parameters could be read. */
  const refuseRequest = (error: SesError): SesAnswer => {
    stats.invalid += 1;
    return { action: undefined, httpStatus: error.httpStatus, error };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // The rate is judged on when the request arrived, so that reading its body adds no jitter.
    const arrivedAt = clock();
    stats.requests += 1;
    const requestId = randomUUID();
    const body = await readBody(req);
    const params = body === undefined ? undefined : requestParams(req.url ?? '', body);
    let result: SesAnswer;
    if (params === undefined) {
      // Answered at once, with the rest of the body unread: Node discards it, for no longer than requestTimeoutMs.
      result = refuseRequest(sesError(SesErrorCode.InvalidParameterValue, `The request body exceeds ${MAX_BODY_BYTES} bytes.`));
    } else if (!params.ok) {
      result = refuseRequest(params.error);
    } else {
      try {
        result = await answer(params.params, req, arrivedAt);
      } catch (cause) {
        // An .eml that cannot be written means the bounce was not accepted: SES's own failure.
        const error = sesError(SesErrorCode.InternalFailure, `Could not record the bounce: ${(cause as Error).message}`);
        result = { action: params.params.get('Action'), httpStatus: error.httpStatus, error };
      }
    }
    options.onAnswer?.(result);
    if (result.fault === ScriptedFault.DropConnection) {
      req.socket.destroy();
      return;
    }
    const xml = result.error === undefined
      ? serializeSendBounceResponse(result.bounce!.messageId, requestId)
      : serializeErrorResponse(result.error, requestId);
    // The SDKs read the request id from this header (x-amzn-RequestId), as SES sends it.
    res.writeHead(result.httpStatus, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId, 'Content-Length': Buffer.byteLength(xml) });
    if (result.fault === ScriptedFault.CutBody) {
      res.write(xml.slice(0, Math.floor(xml.length / 2)), () => req.socket.destroy());
      return;
    }
    res.end(xml);
  };

  const server = createServer({
    // A request's headers and body must both arrive within the timeout; Node answers 408 and
    // closes the connection otherwise. Headers over Node's limit (16 KiB) are answered 431.
    requestTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    // Node looks for timed-out requests on this interval (30 s by default): it bounds how late one is cut.
    connectionsCheckingInterval: Math.min(1000, Math.max(10, requestTimeoutMs / 4)),
  }, (req, res) => {
    // Only a client that aborts mid-request (or runs out of time) gets here; there is no one left to answer.
    handle(req, res).catch(() => req.socket.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    port,
    accepted,
    get stats(): SesEndpointStats {
      return { ...stats };
    },
    failNext: (...next) => {
      faults.push(...next);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/**
 * "N calls per second" as a sliding window: at most N = max(1, floor(rate)) calls in any window
 * of N / rate seconds (one second for a whole rate). At 1/s two calls must arrive a full second
 * apart; at 50/s fifty may come in any second, however they bunch, as arrival jitter makes them
 * do. Refused calls do not count.
 */
export function createRateLimiter(ratePerSecond: number): { tryAcquire(now: number): boolean } {
  const calls = Math.max(1, Math.floor(ratePerSecond));
  const windowMs = (calls / ratePerSecond) * 1000;
  const accepted: number[] = []; // arrival times of the last `calls` accepted calls, oldest first
  return {
    tryAcquire(now) {
      if (accepted.length === calls && now - accepted[0]! < windowMs) return false;
      if (accepted.length === calls) accepted.shift();
      accepted.push(now);
      return true;
    },
  };
}

/**
 * The whole body, or undefined as soon as it is known to exceed the size limit: from its
 * Content-Length, or when the bytes read pass the limit. What is left unread is not kept.
 * Rejects when the client goes away (or Node's request timeout cuts it) before the end.
 */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length']) > MAX_BODY_BYTES) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      stop();
      chunks.length = 0;
      resolve(undefined);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    const onClose = () => {
      stop();
      reject(new Error('the request ended before its body'));
    };
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

type RequestParams = { readonly ok: true; readonly params: ReadonlyMap<string, string> } | { readonly ok: false; readonly error: SesError };

/** awsQuery parameters come form-encoded in a POST body, or in the query string of a GET; each name once. */
function requestParams(target: string, body: Buffer): RequestParams {
  const query = requestQuery(target);
  if (query === undefined) {
    const error = sesError(SesErrorCode.InvalidQueryParameter, `The request target '${truncate(printable(target))}' is not a path with an optional query string.`);
    return { ok: false, error };
  }
  const params = new Map<string, string>();
  const error = readQueryForm(Buffer.from(query, 'latin1'), params) ?? readQueryForm(body, params);
  return error === undefined ? { ok: true, params } : { ok: false, error };
}

// RFC 3986 §3.3: a path of segments of unreserved characters, sub-delims, ':', '@' and percent-encodings.
const PATH = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
const ABSOLUTE_PREFIX = /^https?:\/\/[^/?#]*/i;

/**
 * The query string of a request target in origin form (`/path?query`) or absolute form
 * (`http://host/path?query`), RFC 9112 §3.2; undefined for anything else, such as `*`, `//[`
 * or `http://x:99999/`. SES takes its parameters from the query and the body, so the path is
 * only checked, not used. An origin-form path that starts with `//` is valid HTTP, but it is
 * what a client sends after mistaking a scheme-relative URL (`//host:port/`) for a path, and
 * the WHATWG URL parser reads it as one: it is refused too, rather than served by accident.
 */
function requestQuery(target: string): string | undefined {
  let rest = target;
  const absolute = ABSOLUTE_PREFIX.exec(target);
  if (absolute) {
    try {
      new URL(target);
    } catch {
      return undefined;
    }
    rest = target.slice(absolute[0].length);
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  const mark = rest.indexOf('?');
  const path = mark < 0 ? rest : rest.slice(0, mark);
  if (!PATH.test(path) || path.startsWith('//')) return undefined;
  return mark < 0 ? '' : rest.slice(mark + 1);
}

/** SES refuses unsigned requests; the signature itself is not checked (the credentials are fake). */
function isSigned(req: IncomingMessage, params: ReadonlyMap<string, string>): boolean {
  return req.headers.authorization !== undefined || params.has('X-Amz-Signature');
}

/** The region of the SigV4 credential scope (`Credential=AKID/20240101/eu-west-1/ses/aws4_request`). */
function signingRegion(req: IncomingMessage): string {
  return /Credential=[^/,\s]{1,128}\/\d{8}\/([a-z0-9-]{1,32})\//.exec(req.headers.authorization ?? '')?.[1] ?? 'us-east-1';
}

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Writes to a temporary file and hard-links it into place, so that a reader never sees half a
 * message. Linking fails instead of replacing, so a second bounce for the same message (two
 * receipt rules, different recipients) becomes `<id>.2.eml` rather than overwriting the first.
 */
async function writeEml(outDir: string, request: SendBounceRequest, message: string): Promise<string> {
  const base = join(outDir, safeFileName(request.OriginalMessageId));
  const temporary = join(outDir, `.${randomUUID()}.tmp`);
  try {
    await writeFile(temporary, message, 'utf8');
    for (let n = 1; ; n += 1) {
      const path = n === 1 ? `${base}.eml` : `${base}.${n}.eml`;
      try {
        await link(temporary, path);
        return path;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Keeps letters, digits, dot, dash and underscore; no leading dot, so no hidden files or `..`. */
export function safeFileName(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(0, 200);
  return safe || '_';
}
