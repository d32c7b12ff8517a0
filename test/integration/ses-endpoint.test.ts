import {
  ListIdentitiesCommand,
  MessageRejected,
  SendBounceCommand,
  SESClient,
  type SendBounceCommandInput,
} from '@aws-sdk/client-ses';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PostalMime from 'postal-mime';
import { SesBouncerError } from '../../lambda/core/errors.js';
import { serveSes } from '../../local/serve-ses.js';
import { createRateLimiter, safeFileName, ScriptedFault, startSesEndpoint, type SesEndpoint } from '../../local/ses-endpoint.js';
import { toSdkInput } from '../../lambda/aws/ses.js';
import { fullSendBounce } from '../support/send-bounce.js';

const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };

function sesClient(endpoint: SesEndpoint, maxAttempts = 1): SESClient {
  return new SESClient({ endpoint: endpoint.url, region: 'eu-west-1', credentials: CREDENTIALS, maxAttempts });
}

const ORIGINAL_HEADERS = [
  { name: 'Return-Path', value: '<sender@origin.example>' },
  { name: 'Message-ID', value: '<original-1@origin.example>' },
  { name: 'Subject', value: 'Quarterly numbers' },
];

/** The shared full request (test/support/send-bounce.ts), as the SDK takes it. */
function bounceInput(originalMessageId = 'o1k2b3c4d5e6f7g8h9'): SendBounceCommandInput {
  return toSdkInput(fullSendBounce(originalMessageId));
}

/** The SDK's error for a call that must fail. */
async function failure(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number; attempts?: number }; $fault?: string; code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

/** A raw, SigV4-looking awsQuery POST, for what the SDK cannot send. */
function rawPost(endpoint: SesEndpoint, body: string, headers: Record<string, string> = { authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/ses/aws4_request' }): Promise<Response> {
  return fetch(endpoint.url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
}

function dsnFields(content: string): Record<string, string>[] {
  return content.replace(/\r\n/g, '\n').replace(/\n[ \t]+/g, ' ').split(/\n\n+/).filter((g) => g.trim()).map((group) =>
    Object.fromEntries(group.split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()])));
}

function decode(content: ArrayBuffer | Uint8Array | string): string {
  return typeof content === 'string' ? content : new TextDecoder().decode(content);
}

describe('local SES endpoint, SendBounce with the real AWS SDK', () => {
  let outDir: string;
  let endpoint: SesEndpoint;
  let ses: SESClient;

  beforeEach(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'ses-endpoint-'));
    endpoint = await startSesEndpoint({
      ratePerSecond: 1000,
      outDir: join(outDir, 'bounces'),
      originalHeaders: (id) => (id === 'o1k2b3c4d5e6f7g8h9' ? ORIGINAL_HEADERS : undefined),
    });
    ses = sesClient(endpoint);
  });

  afterEach(async () => {
    ses.destroy();
    await endpoint.close();
    await rm(outDir, { recursive: true, force: true });
  });

  it('accepts a valid bounce and answers with an SES message id and request id', async () => {
    const output = await ses.send(new SendBounceCommand(bounceInput()));
    expect(output.MessageId).toMatch(/^0102[0-9a-f]{12}-[0-9a-f-]{36}-000000$/);
    expect(output.$metadata.httpStatusCode).toBe(200);
    expect(output.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(endpoint.accepted).toHaveLength(1);
    // The endpoint parses the wire into the core's model: the very value the SDK's input was made from.
    expect(endpoint.accepted[0]).toMatchObject({ messageId: output.MessageId, request: fullSendBounce() });
    expect(endpoint.stats).toEqual({ requests: 1, accepted: 1, throttled: 0, invalid: 0, faults: 0 });
  });

  it('writes the accepted bounce as an RFC 3464 multipart/report that a MIME parser reads back field by field', async () => {
    const { MessageId } = await ses.send(new SendBounceCommand(bounceInput()));
    const emlPath = join(outDir, 'bounces', 'o1k2b3c4d5e6f7g8h9.eml');
    expect(endpoint.accepted[0]!.emlPath).toBe(emlPath);
    const email = await PostalMime.parse(await readFile(emlPath, 'utf8'));

    expect(email.headers.find((h) => h.key === 'content-type')!.value).toMatch(/^multipart\/report; report-type=delivery-status;/);
    expect(email.from).toEqual({ name: 'Mail Delivery Subsystem', address: 'mailer-daemon@example.com' });
    expect(email.to).toEqual([{ name: '', address: 'sender@origin.example' }]);
    expect(email.subject).toBe('Delivery Status Notification (Failure)');
    expect(email.messageId).toBe(`<${MessageId}@example.com>`);
    expect(email.inReplyTo).toBe('<original-1@origin.example>');
    expect(email.headers.find((h) => h.key === 'auto-submitted')!.value).toBe('auto-replied');
    expect(Math.abs(Date.parse(email.date!) - Date.now())).toBeLessThan(60_000);

    expect(email.text).toContain('The address does not exist here.');
    expect(email.text).toContain('nobody@example.com');
    expect(email.text).toContain('full@example.com');
    expect(email.attachments.map((a) => a.mimeType)).toEqual(['message/delivery-status', 'text/rfc822-headers']);

    const [perMessage, nobody, full] = dsnFields(decode(email.attachments[0]!.content));
    expect(perMessage).toEqual({ 'reporting-mta': 'dns; mx.example.com', 'arrival-date': 'Wed, 01 May 2024 10:00:00 +0000', 'x-policy-rule': 'unknown-users' });
    expect(nobody).toEqual({
      'final-recipient': 'rfc822; nobody@example.com',
      action: 'failed',
      status: '5.1.1',
      'remote-mta': 'dns; mx.example.com',
      'diagnostic-code': 'smtp; 550 5.1.1 user unknown',
      'last-attempt-date': 'Wed, 01 May 2024 10:00:01 +0000',
      'x-recipient-note': 'closed account',
    });
    expect(full).toEqual({ 'final-recipient': 'rfc822; full@example.com', action: 'failed', status: '5.2.2' });
    expect(decode(email.attachments[1]!.content).trim().split(/\r?\n/)).toEqual(ORIGINAL_HEADERS.map((h) => `${h.name}: ${h.value}`));
  });

  it('reports SES’s inbound host for the client’s region as Reporting-MTA when the request has no MessageDsn', async () => {
    const { MessageDsn: _omitted, ...input } = bounceInput();
    await ses.send(new SendBounceCommand(input));
    const email = await PostalMime.parse(await readFile(endpoint.accepted[0]!.emlPath!, 'utf8'));
    expect(dsnFields(decode(email.attachments[0]!.content))[0]!['reporting-mta']).toBe('dns; inbound-smtp.eu-west-1.amazonaws.com');
  });

  it('keeps a second bounce for the same message next to the first and leaves no temporary files', async () => {
    await ses.send(new SendBounceCommand(bounceInput()));
    await ses.send(new SendBounceCommand({ ...bounceInput(), BouncedRecipientInfoList: [{ Recipient: 'other@example.com', BounceType: 'ContentRejected' }] }));
    expect((await readdir(join(outDir, 'bounces'))).sort()).toEqual(['o1k2b3c4d5e6f7g8h9.2.eml', 'o1k2b3c4d5e6f7g8h9.eml']);
    expect(await readFile(join(outDir, 'bounces', 'o1k2b3c4d5e6f7g8h9.2.eml'), 'utf8')).toContain('other@example.com');
  });

  it('names the file after a sanitised message id that cannot leave the output directory', async () => {
    await ses.send(new SendBounceCommand(bounceInput('../../etc/passwd')));
    expect(await readdir(join(outDir, 'bounces'))).toEqual(['__.._etc_passwd.eml']);
    expect(safeFileName('..')).toBe('_');
  });

  it.each<[string, string, (input: SendBounceCommandInput) => Partial<SendBounceCommandInput>]>([
    ['a missing OriginalMessageId', 'ValidationError', ({ OriginalMessageId: _, ...rest }) => rest],
    ['a missing BounceSender', 'ValidationError', ({ BounceSender: _, ...rest }) => rest],
    ['a missing recipient list', 'ValidationError', ({ BouncedRecipientInfoList: _, ...rest }) => rest],
    ['an empty recipient list', 'InvalidParameterValue', (input) => ({ ...input, BouncedRecipientInfoList: [] })],
    ['a recipient without an address', 'ValidationError', (input) => ({ ...input, BouncedRecipientInfoList: [{ BounceType: 'DoesNotExist' } as never] })],
    ['an unknown bounce type', 'ValidationError', (input) => ({ ...input, BouncedRecipientInfoList: [{ Recipient: 'a@example.com', BounceType: 'Gone' as never }] })],
    ['a recipient with neither bounce type nor DSN fields', 'InvalidParameterValue', (input) => ({ ...input, BouncedRecipientInfoList: [{ Recipient: 'a@example.com' }] })],
    ['an unknown DSN action', 'ValidationError', (input) => ({ ...input, BouncedRecipientInfoList: [{ Recipient: 'a@example.com', RecipientDsnFields: { Action: 'bounced' as never, Status: '5.1.1' } }] })],
    ['a malformed status', 'InvalidParameterValue', (input) => ({ ...input, BouncedRecipientInfoList: [{ Recipient: 'a@example.com', RecipientDsnFields: { Action: 'failed', Status: '550' } }] })],
    ['an rfc822-prefixed final recipient', 'InvalidParameterValue', (input) => ({ ...input, BouncedRecipientInfoList: [{ Recipient: 'a@example.com', RecipientDsnFields: { Action: 'failed', Status: '5.1.1', FinalRecipient: 'rfc822; a@example.com' } }] })],
    ['a MessageDsn without ReportingMta', 'ValidationError', (input) => ({ ...input, MessageDsn: { ArrivalDate: new Date() } as never })],
    ['a bounce sender that is not an address', 'InvalidParameterValue', (input) => ({ ...input, BounceSender: 'postmaster' })],
    ['an overlong explanation', 'InvalidParameterValue', (input) => ({ ...input, Explanation: 'x'.repeat(10_001) })],
    ['CR/LF in the bounce sender', 'InvalidParameterValue', (input) => ({ ...input, BounceSender: 'mailer-daemon@example.com\r\nBcc: victim@example.net' })],
    ['CR/LF in a diagnostic code', 'InvalidParameterValue', (input) => ({ ...input, BouncedRecipientInfoList: [{ Recipient: 'a@example.com', RecipientDsnFields: { Action: 'failed', Status: '5.1.1', DiagnosticCode: 'smtp; 550\r\nStatus: 2.0.0' } }] })],
    ['LF in an extension field', 'InvalidParameterValue', (input) => ({ ...input, MessageDsn: { ReportingMta: 'dns; mx', ExtensionFields: [{ Name: 'X-A', Value: 'a\nX-B: b' }] } })],
  ])('refuses %s with the SES error the SDK surfaces as %s, and records nothing', async (_name, errorName, mutate) => {
    // The SDK does not check required members itself, so an incomplete input reaches the endpoint as it would SES.
    const error = await failure(ses.send(new SendBounceCommand(mutate(bounceInput()) as SendBounceCommandInput)));
    expect(error.name).toBe(errorName);
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.$fault).toBe('client');
    expect(endpoint.accepted).toEqual([]);
    expect(endpoint.stats).toMatchObject({ requests: 1, accepted: 0, invalid: 1 });
    expect(await readdir(join(outDir, 'bounces'))).toEqual([]);
  });

  it('returns a validation message with markup characters intact through the XML', async () => {
    const error = await failure(ses.send(new SendBounceCommand({ ...bounceInput(), BouncedRecipientInfoList: [{ Recipient: 'a@example.com', BounceType: '<Gone & "away">' as never }] })));
    expect(error.message).toContain(`Value '<Gone & "away">' at 'bouncedRecipientInfoList.1.member.bounceType'`);
  });

  it('refuses a timestamp that is not ISO 8601 (sent raw: the SDK always formats dates)', async () => {
    const body = 'Action=SendBounce&Version=2010-12-01&OriginalMessageId=o&BounceSender=m%40x.com' +
      '&BouncedRecipientInfoList.member.1.Recipient=a%40b.com&BouncedRecipientInfoList.member.1.BounceType=Undefined' +
      '&MessageDsn.ReportingMta=dns%3B%20mx&MessageDsn.ArrivalDate=1714557600';
    const response = await rawPost(endpoint, body);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>InvalidParameterValue</Code>');
  });

  it('answers any other action with InvalidAction, as SES does', async () => {
    const response = await rawPost(endpoint, 'Action=SendEmail&Version=2010-12-01&Source=a%40b.com');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('text/xml');
    const requestId = response.headers.get('x-amzn-requestid');
    expect(await response.text()).toBe(
      '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">\n' +
      '  <Error>\n    <Type>Sender</Type>\n    <Code>InvalidAction</Code>\n' +
      '    <Message>Could not find operation SendEmail for version 2010-12-01</Message>\n  </Error>\n' +
      `  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
    );
    const sdkError = await failure(ses.send(new ListIdentitiesCommand({})));
    expect(sdkError.name).toBe('InvalidAction');
    expect(endpoint.stats).toMatchObject({ requests: 2, invalid: 2, accepted: 0 });
  });

  it('refuses an unsigned request with MissingAuthenticationToken (403)', async () => {
    const response = await rawPost(endpoint, 'Action=SendBounce&Version=2010-12-01', {});
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>MissingAuthenticationToken</Code>');
  });
});

describe('local SES endpoint, SendBounce rate', () => {
  const RATE = 10;
  let endpoint: SesEndpoint;
  let ses: SESClient;

  beforeEach(async () => {
    endpoint = await startSesEndpoint({ ratePerSecond: RATE });
    ses = sesClient(endpoint);
  });

  afterEach(async () => {
    ses.destroy();
    await endpoint.close();
  });

  it('throttles calls beyond the rate with SES’s Throttling error (HTTP 400)', async () => {
    const results = await Promise.allSettled(Array.from({ length: RATE + 2 }, (_, n) => ses.send(new SendBounceCommand(bounceInput(`burst-${n}`)))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(RATE);
    for (const result of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
      expect(result.reason).toMatchObject({ name: 'Throttling', message: 'Maximum sending rate exceeded.', $metadata: { httpStatusCode: 400 } });
    }
    expect(endpoint.stats).toMatchObject({ requests: RATE + 2, accepted: RATE, throttled: 2 });
  });

  it('never throttles a client that waits one interval after each answer, whatever the latency', async () => {
    for (let n = 0; n < 5; n += 1) {
      await ses.send(new SendBounceCommand(bounceInput(`after-answer-${n}`)));
      await new Promise((resolve) => setTimeout(resolve, 1000 / RATE));
    }
    expect(endpoint.stats).toMatchObject({ accepted: 5, throttled: 0 });
  });

  it('never throttles a client that starts its calls one interval and 3 % apart on a warm connection', async () => {
    // The first call (SDK set-up, TCP connect) is slower than the rest, so it only warms up and
    // the pacing starts after it; 3 % of 500 ms absorbs the arrival jitter, as ses-bouncer's pacer does.
    const paced = await startSesEndpoint({ ratePerSecond: 2 });
    const client = sesClient(paced);
    try {
      await client.send(new SendBounceCommand(bounceInput('warm-up')));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      let previousStart = -Infinity;
      for (let n = 0; n < 4; n += 1) {
        const wait = previousStart + 515 - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        previousStart = performance.now();
        await client.send(new SendBounceCommand(bounceInput(`paced-${n}`)));
      }
      expect(paced.stats).toMatchObject({ accepted: 5, throttled: 0 });
    } finally {
      client.destroy();
      await paced.close();
    }
  });

  it('is a throttling error the SDK retries by itself, unlike a validation error', async () => {
    // The SDK backs off a random 0–1 s before its first retry; five attempts make it certain that one lands after the interval.
    const retrying = sesClient(endpoint, 5);
    try {
      await Promise.all(Array.from({ length: RATE }, (_, n) => retrying.send(new SendBounceCommand(bounceInput(`fill-${n}`)))));
      const output = await retrying.send(new SendBounceCommand(bounceInput('one-too-many')));
      expect(output.$metadata.attempts).toBeGreaterThan(1);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const invalid = await failure(retrying.send(new SendBounceCommand({ ...bounceInput(), BounceSender: 'nobody' })));
      expect(invalid.$metadata?.attempts).toBe(1);
    } finally {
      retrying.destroy();
    }
  });
});

describe('createRateLimiter', () => {
  it('at 1/s wants a full second between calls, and does not charge refused calls', () => {
    const limiter = createRateLimiter(1);
    expect(limiter.tryAcquire(0)).toBe(true);
    expect(limiter.tryAcquire(999)).toBe(false);
    expect(limiter.tryAcquire(1000)).toBe(true);
    expect(limiter.tryAcquire(1500)).toBe(false);
    expect(limiter.tryAcquire(2000)).toBe(true);
  });

  it('at 10/s allows any 10 calls in a second, however they bunch, and no 11th', () => {
    const limiter = createRateLimiter(10);
    for (let i = 0; i < 10; i++) expect(limiter.tryAcquire(1000 + i)).toBe(true);
    expect(limiter.tryAcquire(1999)).toBe(false);
    expect(limiter.tryAcquire(2000)).toBe(true); // the first call of the window has left it
    expect(limiter.tryAcquire(2000)).toBe(false);
  });

  it('at a fractional rate spaces single calls by 1/rate', () => {
    const limiter = createRateLimiter(0.5);
    expect(limiter.tryAcquire(0)).toBe(true);
    expect(limiter.tryAcquire(1999)).toBe(false);
    expect(limiter.tryAcquire(2000)).toBe(true);
  });
});

describe('local SES endpoint, scripted faults', () => {
  let endpoint: SesEndpoint;
  let ses: SESClient;

  beforeEach(async () => {
    endpoint = await startSesEndpoint({ ratePerSecond: 1000 });
    ses = sesClient(endpoint);
  });

  afterEach(async () => {
    ses.destroy();
    await endpoint.close();
  });

  it('answers http500 with InternalFailure, which the SDK sees as a retryable server error', async () => {
    endpoint.failNext(ScriptedFault.Http500);
    const error = await failure(ses.send(new SendBounceCommand(bounceInput())));
    expect(error).toMatchObject({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } });

    endpoint.failNext(ScriptedFault.Http500);
    const retrying = sesClient(endpoint, 2);
    const output = await retrying.send(new SendBounceCommand(bounceInput())).finally(() => retrying.destroy());
    expect(output.$metadata.attempts).toBe(2);
    expect(endpoint.stats).toMatchObject({ faults: 2, accepted: 1 });
  });

  it('answers messageRejected with the SDK’s modelled MessageRejected exception, not retried', async () => {
    endpoint.failNext(ScriptedFault.MessageRejected);
    const retrying = sesClient(endpoint, 3);
    const error = await failure(retrying.send(new SendBounceCommand(bounceInput()))).finally(() => retrying.destroy());
    expect(error).toBeInstanceOf(MessageRejected);
    expect(error.$metadata).toMatchObject({ httpStatusCode: 400, attempts: 1 });
    expect(endpoint.accepted).toEqual([]);
  });

  it('answers throttle with Throttling whatever the rate', async () => {
    endpoint.failNext(ScriptedFault.Throttle);
    const error = await failure(ses.send(new SendBounceCommand(bounceInput())));
    expect(error).toMatchObject({ name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    expect(endpoint.stats).toMatchObject({ faults: 1, throttled: 0 });
  });

  it('on dropConnection records the bounce as sent but answers nothing: the SDK sees a network error', async () => {
    endpoint.failNext(ScriptedFault.DropConnection);
    const error = await failure(ses.send(new SendBounceCommand(bounceInput())));
    expect(error.$metadata?.httpStatusCode).toBeUndefined();
    expect(`${error.code ?? ''} ${error.message}`).toMatch(/ECONNRESET|socket hang up/);
    expect(endpoint.accepted).toHaveLength(1);
    expect(endpoint.accepted[0]!.request.OriginalMessageId).toBe('o1k2b3c4d5e6f7g8h9');
    expect(endpoint.stats).toMatchObject({ accepted: 1, faults: 1 });
  });

  it('answers one SendBounce per fault, in order, then serves normally', async () => {
    endpoint.failNext(ScriptedFault.Http500, ScriptedFault.MessageRejected);
    const first = await failure(ses.send(new SendBounceCommand(bounceInput())));
    const second = await failure(ses.send(new SendBounceCommand(bounceInput())));
    const third = await ses.send(new SendBounceCommand(bounceInput()));
    expect([first.name, second.name]).toEqual(['InternalFailure', 'MessageRejected']);
    expect(third.MessageId).toBeDefined();
  });

  it('does not spend a fault on a call to another action', async () => {
    endpoint.failNext(ScriptedFault.Http500);
    await failure(ses.send(new ListIdentitiesCommand({})));
    const error = await failure(ses.send(new SendBounceCommand(bounceInput())));
    expect(error.name).toBe('InternalFailure');
  });
});

describe('local SES endpoint lifecycle', () => {
  it('frees its port on close, even with a keep-alive connection open', async () => {
    const first = await startSesEndpoint({ ratePerSecond: 1000 });
    const ses = sesClient(first);
    await ses.send(new SendBounceCommand(bounceInput()));
    await first.close();
    const second = await startSesEndpoint({ port: first.port, ratePerSecond: 1000 });
    expect(second.port).toBe(first.port);
    await second.close();
    ses.destroy();
  });
});

describe('serveSes', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { stdout: (line: string) => out.push(line), stderr: (line: string) => err.push(line) } };
  };

  it('prints its URL when ready, logs each answer, and stops cleanly on SIGTERM without leaving listeners', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'serve-ses-'));
    const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
    const { out, err, io: lines } = io();
    const serving = serveSes({ port: 0, rate: 1000, out: outDir }, lines);
    while (out.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const url = /^ses-bouncer local SES endpoint listening on (http:\/\/127\.0\.0\.1:\d+) \(SendBounce ≤ 1000\/s, bounces written to (.+)\)$/.exec(out[0]!);
    expect(url?.[2]).toBe(outDir);

    const ses = new SESClient({ endpoint: url![1], region: 'eu-west-1', credentials: CREDENTIALS, maxAttempts: 1 });
    await ses.send(new SendBounceCommand(bounceInput()));
    await failure(ses.send(new SendBounceCommand({ ...bounceInput(), BounceSender: 'nobody' })));
    ses.destroy();
    expect(out[1]).toMatch(/^SendBounce o1k2b3c4d5e6f7g8h9 → nobody@example\.com, full@example\.com: accepted as 0102/);
    expect(err).toEqual([expect.stringMatching(/^SendBounce: 400 InvalidParameterValue: BounceSender: Missing final '@domain'$/)]);

    const ours = process.listeners('SIGTERM').filter((listener) => !before.SIGTERM.includes(listener));
    expect(ours).toHaveLength(1);
    (ours[0] as (signal: NodeJS.Signals) => void)('SIGTERM');
    await serving;
    expect(out.at(-1)).toBe('SIGTERM: stopped after 2 requests (1 accepted, 0 throttled, 1 invalid, 0 faults)');
    expect(process.listeners('SIGTERM')).toEqual(before.SIGTERM);
    expect(process.listeners('SIGINT')).toEqual(before.SIGINT);
    await rm(outDir, { recursive: true, force: true });
  });

  it('rejects with a one-line error naming the port when the port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const error = await failure(serveSes({ port, rate: 1, out: join(tmpdir(), 'serve-ses-unused') }, io().io));
      expect(error).toBeInstanceOf(SesBouncerError);
      expect(error.message).toBe(`port ${port} is already in use`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
      await rm(join(tmpdir(), 'serve-ses-unused'), { recursive: true, force: true });
    }
  });
});
