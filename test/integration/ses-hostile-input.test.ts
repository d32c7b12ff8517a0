// The local SES endpoint against requests no AWS SDK sends: huge, malformed, slow, repeated,
// not UTF-8. Each must get an answer (or a closed connection) soon, and cost little.
import { SendBounceCommand, SESClient } from '@aws-sdk/client-ses';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveSes } from '../../local/serve-ses.js';
import { MAX_BODY_BYTES, startSesEndpoint, type SesEndpoint } from '../../local/ses-endpoint.js';
import { toSdkInput } from '../../lambda/aws/ses.js';
import { minimalSendBounce } from '../support/send-bounce.js';

const AUTHORIZATION = 'AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/ses/aws4_request, SignedHeaders=host, Signature=0';
const VALID = 'Action=SendBounce&Version=2010-12-01&OriginalMessageId=o1&BounceSender=m%40example.com' +
  '&BouncedRecipientInfoList.member.1.Recipient=a%40example.com&BouncedRecipientInfoList.member.1.BounceType=DoesNotExist';

/** Just under 1 MiB: 18,000 members, each with an unknown bounce type and no address (36,000 problems). */
function eighteenThousandMembers(): string {
  let body = 'Action=SendBounce&Version=2010-12-01&OriginalMessageId=o1&BounceSender=m%40example.com';
  for (let n = 1; n <= 18_000; n += 1) body += `&BouncedRecipientInfoList.member.${n}.BounceType=Gone`;
  return body;
}

function post(endpoint: SesEndpoint | string, body: string): Promise<Response> {
  const url = typeof endpoint === 'string' ? endpoint : endpoint.url;
  return fetch(url, { method: 'POST', body, headers: { authorization: AUTHORIZATION, 'content-type': 'application/x-www-form-urlencoded' } });
}

/** A plain TCP connection to the endpoint, recording what comes back and when it closes. */
interface RawConnection {
  readonly socket: Socket;
  /** Milliseconds from connecting to the server closing the connection. */
  readonly closed: Promise<number>;
  received(): string;
  /** Milliseconds from connecting to the first byte of the answer. */
  firstByteAt(): number | undefined;
}

function rawConnection(endpoint: SesEndpoint): RawConnection {
  const socket = connect(endpoint.port, '127.0.0.1');
  const started = performance.now();
  let received = '';
  let firstByteAt: number | undefined;
  socket.on('data', (chunk: Buffer) => {
    firstByteAt ??= performance.now() - started;
    received += chunk.toString('utf8');
  });
  // The server may reset a connection whose body it stopped reading; what it answered is already in `received`.
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - started)));
  return { socket, closed, received: () => received, firstByteAt: () => firstByteAt };
}

/** One request on its own connection (`Connection: close`), and the parsed answer. */
async function rawRequest(endpoint: SesEndpoint, head: string | Buffer, body: string | Buffer = ''): Promise<HttpAnswer> {
  const connection = rawConnection(endpoint);
  connection.socket.write(head);
  connection.socket.write(body);
  await connection.closed;
  return parseAnswer(connection.received());
}

function requestHead(target: string | Buffer, body: string | Buffer, headers = `Authorization: ${AUTHORIZATION}\r\n`): Buffer {
  return Buffer.concat([
    Buffer.from('POST '),
    Buffer.from(target),
    Buffer.from(` HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`),
  ]);
}

interface HttpAnswer {
  readonly status: number;
  readonly headers: string;
  readonly body: string;
}

function parseAnswer(text: string): HttpAnswer {
  const end = text.indexOf('\r\n\r\n');
  const headers = end < 0 ? text : text.slice(0, end);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1] ?? 0), headers, body: end < 0 ? '' : text.slice(end + 4) };
}

function errorCode(xml: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('local SES endpoint, hostile requests', () => {
  const REQUEST_TIMEOUT_MS = 600;
  let endpoint: SesEndpoint;

  beforeEach(async () => {
    endpoint = await startSesEndpoint({ ratePerSecond: 1000, requestTimeoutMs: REQUEST_TIMEOUT_MS });
  });

  afterEach(async () => {
    await endpoint.close();
  });

  it('answers an 18,000-member request within a second, and a valid request sent right behind it at once', async () => {
    // Before the parameters were read in one pass, this request took 11 s, and the valid one waited as long.
    const body = eighteenThousandMembers();
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_BODY_BYTES);
    const hostile = rawConnection(endpoint);
    const hostileSent = performance.now();
    await new Promise<void>((resolve) => hostile.socket.write(Buffer.concat([requestHead('/', body), Buffer.from(body)]), () => resolve()));

    const ses = new SESClient({ endpoint: endpoint.url, region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    const validSent = performance.now();
    const output = await ses.send(new SendBounceCommand(toSdkInput(minimalSendBounce('right-behind')))).finally(() => ses.destroy());
    const validMs = performance.now() - validSent;
    await hostile.closed;
    const hostileMs = performance.now() - hostileSent;

    // Generous bounds against a quadratic blow-up, not a benchmark: each takes tens of milliseconds.
    expect(hostileMs).toBeLessThan(1000);
    expect(validMs).toBeLessThan(1000);
    expect(output.MessageId).toBeDefined();
    const answer = parseAnswer(hostile.received());
    expect(answer.status).toBe(400);
    expect(errorCode(answer.body)).toBe('ValidationError');
    expect(answer.body).toContain('36,000 validation errors detected: ');
    expect(answer.body).toContain('; … and 35,995 more</Message>');
    expect(answer.body.length).toBeLessThan(4096);
  });

  it.each([
    ['an authority instead of a path', '//['],
    ['a scheme-relative URL with a port out of range', '//x:99999/'],
    ['an absolute URL with a bad host', 'http://['],
    ['an absolute URL with a port out of range', 'http://x:99999/'],
    ['the asterisk form', '*'],
    ['a path with characters a URI cannot hold', '/a[b]'],
    ['a path with a broken percent-encoding', '/a%zz'],
  ])('answers a request target that is %s with 400 InvalidQueryParameter (it closed the connection unanswered)', async (_name, target) => {
    const answer = await rawRequest(endpoint, requestHead(target, VALID), VALID);
    expect(answer.status).toBe(400);
    expect(answer.headers).toMatch(/^content-type: text\/xml$/im);
    expect(errorCode(answer.body)).toBe('InvalidQueryParameter');
    expect(answer.body).toContain(`<Message>The request target &apos;${target}&apos; is not a path with an optional query string.</Message>`);
    expect(endpoint.stats).toMatchObject({ requests: 1, invalid: 1, accepted: 0 });
  });

  it('serves the paths clients send: / and any other single-slash path', async () => {
    for (const target of ['/', '/ses/']) {
      const answer = await rawRequest(endpoint, requestHead(target, VALID), VALID);
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('<MessageId>');
    }
  });

  it('reads the parameters of an absolute-form target’s query string', async () => {
    const answer = await rawRequest(endpoint, requestHead(`http://localhost/?${VALID}`, ''));
    expect(answer.status).toBe(200);
  });

  it('refuses a parameter given twice, in the query string and the body, with 400 InvalidQueryParameter', async () => {
    const answer = await rawRequest(endpoint, requestHead('/?Action=ListIdentities', VALID), VALID);
    expect(answer.status).toBe(400);
    expect(errorCode(answer.body)).toBe('InvalidQueryParameter');
    expect(answer.body).toContain('The parameter Action is given more than once.');
    expect(endpoint.accepted).toEqual([]);
  });

  it.each([
    ['raw', Buffer.concat([Buffer.from(`${VALID}&Explanation=`), Buffer.from([0xff, 0xfe])])],
    ['percent-encoded', Buffer.from(`${VALID}&Explanation=%C3%28`)],
  ])('refuses bytes that are not UTF-8 (%s) with 400 InvalidParameterValue instead of storing U+FFFD', async (_name, body) => {
    const answer = await rawRequest(endpoint, requestHead('/', body), body);
    expect(answer.status).toBe(400);
    expect(errorCode(answer.body)).toBe('InvalidParameterValue');
    expect(answer.body).toContain('The value of Explanation is not valid UTF-8.');
    expect(endpoint.accepted).toEqual([]);
  });

  it('answers headers over Node’s 16 KiB limit with 431 and keeps serving', async () => {
    const answer = await rawRequest(endpoint, requestHead('/', VALID, `Authorization: ${AUTHORIZATION}\r\nX-Padding: ${'p'.repeat(20_000)}\r\n`), VALID);
    expect(answer.status).toBe(431);
    expect((await post(endpoint, VALID)).status).toBe(200);
  });

  it('answers a body that trickles in and never ends with 408, and closes, once the request timeout has passed', async () => {
    const connection = rawConnection(endpoint);
    connection.socket.write(requestHead('/', 'x'.repeat(1000)));
    const trickle = setInterval(() => connection.socket.write('a'), 50);
    try {
      const closedAt = await connection.closed;
      expect(parseAnswer(connection.received()).status).toBe(408);
      // Node looks for late requests every REQUEST_TIMEOUT_MS / 4.
      expect(closedAt).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
      expect(closedAt).toBeLessThan(REQUEST_TIMEOUT_MS * 2 + 500);
    } finally {
      clearInterval(trickle);
    }
  });

  it('answers headers that never end with 408 too', async () => {
    const connection = rawConnection(endpoint);
    connection.socket.write('POST / HTTP/1.1\r\n');
    const trickle = setInterval(() => connection.socket.write('X-A: b\r\n'), 50);
    try {
      expect(await connection.closed).toBeLessThan(REQUEST_TIMEOUT_MS * 2 + 500);
      expect(parseAnswer(connection.received()).status).toBe(408);
    } finally {
      clearInterval(trickle);
    }
  });

  it('answers a body declared over 1 MiB at once, without waiting for it', async () => {
    const connection = rawConnection(endpoint);
    connection.socket.write(requestHead('/', '').toString().replace('Content-Length: 0', `Content-Length: ${4 * MAX_BODY_BYTES}`));
    connection.socket.write('Action=SendBounce&');
    await until(() => connection.received().includes('</ErrorResponse>'), 1000);
    const answer = parseAnswer(connection.received());
    expect(answer.status).toBe(400);
    expect(errorCode(answer.body)).toBe('InvalidParameterValue');
    expect(answer.body).toContain(`The request body exceeds ${MAX_BODY_BYTES} bytes.`);
    expect(connection.firstByteAt()).toBeLessThan(500);
    // The rest of the body never comes: the connection is closed once the request timeout has passed.
    expect(await connection.closed).toBeLessThan(REQUEST_TIMEOUT_MS * 2 + 500);
  });

  it('answers an endless chunked body as soon as it passes 1 MiB, and closes the connection by the request timeout', async () => {
    // It was read (and thrown away) to its end, which never came: no answer, ever.
    const connection = rawConnection(endpoint);
    connection.socket.write(`POST / HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${AUTHORIZATION}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const flood = setInterval(() => connection.socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`), 2);
    try {
      await until(() => connection.received().includes('</ErrorResponse>'), 2000);
      expect(errorCode(parseAnswer(connection.received()).body)).toBe('InvalidParameterValue');
      expect(await connection.closed).toBeLessThan(REQUEST_TIMEOUT_MS * 2 + 2000);
    } finally {
      clearInterval(flood);
    }
    expect((await post(endpoint, VALID)).status).toBe(200);
  });

  it('cuts an action quoted in InvalidAction', async () => {
    const response = await post(endpoint, `Action=${'A'.repeat(100_000)}&Version=2010-12-01`);
    const body = await response.text();
    expect(errorCode(body)).toBe('InvalidAction');
    expect(body).toContain(`Could not find operation ${'A'.repeat(64)}… for version 2010-12-01`);
    expect(body.length).toBeLessThan(1000);
  });
});

describe('serveSes logs, whatever the request', () => {
  async function withServeSes(run: (url: string, out: string[], err: string[]) => Promise<void>): Promise<void> {
    const out: string[] = [];
    const err: string[] = [];
    const before = process.listeners('SIGTERM');
    const outDir = await mkdtemp(join(tmpdir(), 'serve-ses-hostile-'));
    const serving = serveSes({ port: 0, rate: 1000, out: outDir }, {
      stdout: (line) => out.push(line),
      stderr: (line) => err.push(line),
    });
    try {
      await until(() => out.length > 0, 5000);
      await run(/listening on (http:\/\/[^ ]+)/.exec(out[0]!)![1]!, out, err);
    } finally {
      const ours = process.listeners('SIGTERM').filter((listener) => !before.includes(listener));
      (ours[0] as (signal: NodeJS.Signals) => void)('SIGTERM');
      await serving;
      await rm(outDir, { recursive: true, force: true });
    }
  }

  it('logs a refused 1 MiB request as one bounded line (it was 7.5 MB)', async () => {
    await withServeSes(async (url, _out, err) => {
      await (await post(url, eighteenThousandMembers())).text();
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/^SendBounce: 400 ValidationError: 36,000 validation errors detected: .*; … and 35,995 more$/);
      expect(err[0]!.length).toBeLessThan(2000);
    });
  });

  it('escapes line breaks in what the client sent, so that no log line can be forged', async () => {
    await withServeSes(async (url, _out, err) => {
      await (await post(url, 'Action=SendBounce%0ASendBounce%20forged%20%E2%86%92%20x%3A%20accepted&Version=2010-12-01')).text();
      expect(err).toEqual(['SendBounce\\nSendBounce forged → x: accepted: 400 InvalidAction: Could not find operation SendBounce\\nSendBounce forged → x: accepted for version 2010-12-01']);
    });
  });

  it('names the first five recipients of an accepted bounce and counts the rest', async () => {
    await withServeSes(async (url, out) => {
      const recipients = Array.from({ length: 8 }, (_, i) => `&BouncedRecipientInfoList.member.${i + 1}.Recipient=r${i + 1}%40example.com&BouncedRecipientInfoList.member.${i + 1}.BounceType=DoesNotExist`).join('');
      expect((await post(url, `Action=SendBounce&Version=2010-12-01&OriginalMessageId=many&BounceSender=m%40example.com${recipients}`)).status).toBe(200);
      expect(out[1]).toMatch(/^SendBounce many → r1@example\.com, r2@example\.com, r3@example\.com, r4@example\.com, r5@example\.com and 3 more: accepted as /);
    });
  });
});
