// `ses-bouncer serve-ses` as a user runs it: a real process, driven by the AWS SDK and, where it
// is installed, by the AWS CLI as a second, independent client.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendBounceCommand, SESClient } from '@aws-sdk/client-ses';
import { toSdkInput } from '../../lambda/aws/ses.js';
import { minimalSendBounce } from '../support/send-bounce.js';

const cli = (...args: string[]) => spawn(process.execPath, ['--import', 'tsx', 'bin/ses-bouncer.ts', ...args], { stdio: 'pipe' });

function output(child: ChildProcessWithoutNullStreams): { stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return { stdout: () => stdout, stderr: () => stderr };
}

async function waitFor(read: () => string, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(read());
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in: ${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const exited = (child: ChildProcessWithoutNullStreams) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe('ses-bouncer serve-ses', () => {
  const out = mkdtempSync(join(tmpdir(), 'serve-ses-'));
  let server: ChildProcessWithoutNullStreams;
  let io: ReturnType<typeof output>;
  let url: string;

  beforeAll(async () => {
    server = cli('serve-ses', '--port', '0', '--rate', '50', '--out', out);
    io = output(server);
    url = (await waitFor(io.stdout, /listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  });

  afterAll(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
  });

  it('answers the AWS SDK with a MessageId and writes the bounce', async () => {
    const ses = new SESClient({ endpoint: url, region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    const output = await ses.send(
      new SendBounceCommand(toSdkInput(minimalSendBounce('sdk-original'))),
    );
    ses.destroy();
    expect(output.MessageId).toMatch(/^[0-9a-f]{16}-/);
    await waitFor(io.stdout, /SendBounce sdk-original → nobody@example\.com: accepted/);
    expect(readdirSync(out)).toContain('sdk-original.eml');
  });

  const aws = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  (aws.status === 0 ? it : it.skip)('answers the AWS CLI too, with SES errors it understands', () => {
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_DEFAULT_REGION: 'eu-west-1', AWS_MAX_ATTEMPTS: '1' };
    const send = (recipients: string) =>
      spawnSync('aws', ['ses', 'send-bounce', '--endpoint-url', url, '--original-message-id', 'cli-original', '--bounce-sender', 'mailer-daemon@example.com', '--bounced-recipient-info-list', recipients], { encoding: 'utf8', env });
    const ok = send('[{"Recipient":"nobody@example.com","BounceType":"DoesNotExist"}]');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).MessageId).toMatch(/-000000$/);
    const bad = send('[{"Recipient":"nobody@example.com","RecipientDsnFields":{"FinalRecipient":"rfc822; nobody@example.com","Action":"failed","Status":"5.1.1"}}]');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/InvalidParameterValue/);
    const other = spawnSync('aws', ['ses', 'list-identities', '--endpoint-url', url], { encoding: 'utf8', env });
    expect(other.stderr).toMatch(/InvalidAction/);
  });

  it('logs a refused 1 MiB request of 18,000 members as one short line on stderr (it was a 7.5 MB line)', async () => {
    let body = 'Action=SendBounce&Version=2010-12-01&OriginalMessageId=huge&BounceSender=m%40example.com';
    for (let n = 1; n <= 18_000; n += 1) body += `&BouncedRecipientInfoList.member.${n}.BounceType=Gone`;
    const response = await fetch(url, { method: 'POST', body, headers: { authorization: 'AWS4-HMAC-SHA256 Credential=A/20240101/eu-west-1/ses/aws4_request', 'content-type': 'application/x-www-form-urlencoded' } });
    expect(response.status).toBe(400);
    expect((await response.text()).length).toBeLessThan(4096);
    const line = (await waitFor(io.stderr, /^SendBounce: 400 ValidationError: 36,000 validation errors detected: .*$/m))[0];
    expect(line).toMatch(/; … and 35,995 more$/);
    expect(line.length).toBeLessThan(2000);
  });

  it('refuses a port that is in use with one line and a non-zero exit', async () => {
    const port = new URL(url).port;
    const second = cli('serve-ses', '--port', port, '--out', out);
    const secondIo = output(second);
    expect(await exited(second)).toBe(1);
    expect(secondIo.stderr().trim()).toBe(`ses-bouncer: port ${port} is already in use`);
  });

  it('stops cleanly on SIGTERM with a summary', async () => {
    server.kill('SIGTERM');
    expect(await exited(server)).toBe(0);
    expect(io.stdout()).toMatch(/SIGTERM: stopped after \d+ requests \(\d+ accepted/);
  });
});
