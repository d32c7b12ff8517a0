import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PostalMime from 'postal-mime';
import { runCli } from '../../cli/main.js';

async function run(...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(argv, { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) });
  return { code, stdout, stderr };
}

describe('ses-bouncer replay (npm start)', () => {
  const out = mkdtempSync(join(tmpdir(), 'replay-'));
  let result: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    result = await run('replay', '--rate', '50', '--out', out);
  });
  const rowOf = (event: string, recipient: string) => result.stdout.find((line) => line.startsWith(event) && line.includes(` ${recipient} `))!;

  it('runs every example event through the pipeline, shows progress, and exits 0', () => {
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('[17/17] 17-hostile-headers.json: STOP_RULE_SET');
    expect(result.stdout[0]).toMatch(/^EVENT\s+RECIPIENT\s+ACTION\s+RULE \/ GUARD\s+BOUNCE\s+DSN$/);
  });

  it('exercises each rule and each guard of the example policy', () => {
    for (const rule of ['staff', 'retired-domain', 'blocked-senders', 'full-mailbox', 'no-reply', 'unknown-mailbox']) {
      expect(result.stdout.some((line) => line.includes(` ${rule}`))).toBe(true);
    }
    for (const guard of ['window-expired', 'null-sender', 'dsn', 'auto-submitted', 'mailing-list', 'spam-or-virus', 'unauthenticated-sender']) {
      expect(result.stdout.some((line) => line.includes(`guard ${guard}`))).toBe(true);
    }
  });

  it('sends each bounce once and reports SENT with the DSN file', () => {
    expect(rowOf('07-full-mailbox', 'archive@example.com')).toMatch(/bounce\s+full-mailbox\s+SENT\s+\S+g9t1fullmailbox\S*\.eml$/);
    expect(rowOf('02-staff-delivered', 'alice@example.com')).toMatch(/deliver\s+staff\s+-\s+-$/);
    expect(result.stdout.at(-1)).toMatch(/^19 recipients, 3 delivered, 9 dropped \(8 by a guard\), 7 bounced \(7 sent in 6 SendBounce calls, 0 throttled\)\. DSNs written to /);
  });

  it('prints what the README shows for `npm start` (its "real, unedited run"), line for line: progress, then the table', () => {
    const readme = readFileSync('README.md', 'utf8');
    const block = /\$ npm start\n([\s\S]*?)\n```/.exec(readme)![1]!.split('\n');
    // The README's run wrote to out/bounces at the default 1/s; this one to a temporary directory (wider DSN column), at 50/s.
    const normalize = (line: string) => line.replaceAll(out, 'out/bounces').replaceAll(' at 50/s', ' at 1/s').replace(/-{20,}/g, '---').replace(/\s+/g, ' ').trim();
    expect([...result.stderr, ...result.stdout].map(normalize).filter((line) => line !== '')).toEqual(block.map(normalize).filter((line) => line !== ''));
  });

  it('writes the bounce a sender would receive: an RFC 3464 multipart/report that a MIME parser reads field by field', async () => {
    const eml = readFileSync(join(out, 'd1p9mixedrecipientsxxxxxxxxxxxxxxxxxxxxx.eml'), 'utf8');
    const email = await PostalMime.parse(eml);
    expect(email.from?.address).toBe('mailer-daemon@example.com');
    expect(email.to?.[0]?.address).toBe('jane@partner.example');
    expect(email.inReplyTo).toBe('<d1p9mixedrec@mail.partner.example>');
    expect(email.headers.find((h) => h.key === 'auto-submitted')?.value).toBe('auto-replied');
    expect(email.headers.find((h) => h.key === 'content-type')?.value).toMatch(/^multipart\/report; report-type=delivery-status;/);
    expect(email.text).toContain('The mailbox you wrote to does not exist.');
    const status = email.attachments.find((a) => a.mimeType === 'message/delivery-status');
    const headers = email.attachments.find((a) => a.mimeType === 'text/rfc822-headers');
    const fields = new TextDecoder().decode(status!.content as ArrayBuffer).replace(/\r\n/g, '\n').replace(/\n[ \t]+/g, ' ');
    expect(fields).toMatch(/^Reporting-MTA: dns; mx\.example\.com$/m);
    expect(fields).toMatch(/^Arrival-Date: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/m);
    expect(fields).toMatch(/^X-Bounced-By: ses-bouncer$/m);
    for (const recipient of ['ghost@example.com', 'phantom@example.com']) {
      expect(fields).toContain(`Final-Recipient: rfc822; ${recipient}\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.example.com\nDiagnostic-Code: smtp; 550 5.1.1 Recipient address rejected: mailbox does not exist\nLast-Attempt-Date: `);
    }
    expect(new TextDecoder().decode(headers!.content as ArrayBuffer)).toContain('Subject: Quarterly report');
  });

  it('never lets the hostile event inject a header into the bounce', async () => {
    const email = await PostalMime.parse(readFileSync(join(out, 'q9d1hostileheadersxxxxxxxxxxxxxxxxxxxxxx.eml'), 'utf8'));
    expect(email.headers.map((h) => h.key)).not.toContain('bcc');
    expect(email.headers.map((h) => h.key)).not.toContain('x-injected');
  });
});

describe('ses-bouncer replay with accept (examples/accept): SES refuses at RCPT TO', () => {
  const out = mkdtempSync(join(tmpdir(), 'replay-accept-'));
  let result: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    result = await run('replay', '--policy', 'examples/accept/policy.yaml', '--rate', '50', '--out', out, 'examples/accept/events');
  });
  const rowOf = (event: string, recipient: string) => result.stdout.find((line) => line.startsWith(event) && line.includes(` ${recipient} `))!;

  it('shows each recipient outside accept as refused at SMTP, 550 5.1.1, with no bounce and no DSN', () => {
    expect(result.code).toBe(0);
    for (const [event, recipient] of [['02-dictionary-attack', 'admin@example.com'], ['03-tagged-and-unknown', 'robert@example.com'], ['05-lab-subdomain', 'results@lab.example.com']]) {
      expect(rowOf(event!, recipient!)).toMatch(/\srefuse\s+SMTP 550 5\.1\.1 \(not in accept\)\s+-\s+-$/);
    }
    expect(readdirSync(out).sort()).toEqual(['a4c3formerstaffxxxxxxxxxxxxxxxxxxxxxxxxx.eml', 'a6c3blockedsenderxxxxxxxxxxxxxxxxxxxxxxx.eml']);
  });

  it("prints what the README shows for this run, line for line", () => {
    const readme = readFileSync('README.md', 'utf8');
    const block = /\$ npm start -- --policy examples\/accept\/policy\.yaml examples\/accept\/events\n([\s\S]*?)\n```/.exec(readme)![1]!.split('\n');
    // The README's run wrote to out/bounces; this one to a temporary directory (wider DSN column).
    const normalize = (line: string) => line.replaceAll(out, 'out/bounces').replace(/-{20,}/g, '---').replace(/\s+/g, ' ').trim();
    expect(result.stdout.map(normalize)).toEqual(block.map(normalize));
  });

  it('never runs the function for a message whose every recipient is refused', () => {
    expect(result.stderr).toContain('[2/6] 02-dictionary-attack.json: refused at RCPT TO (550 5.1.1), never reached the function');
  });

  it('decides the accepted recipients of a message as usual, a tagged form of a listed address among them', () => {
    expect(rowOf('03-tagged-and-unknown', 'bob+invoices@example.com')).toMatch(/\sdeliver\s+\(default\)\s+-\s+-$/);
    expect(rowOf('04-former-staff', 'dave@example.com')).toMatch(/\sbounce\s+former-staff\s+SENT\s+\S+a4c3formerstaff\S*\.eml$/);
    expect(rowOf('05-lab-subdomain', 'results@gpu.lab.example.com')).toMatch(/\sdeliver\s/);
    // The refused recipient of a message is listed in the event's order, between the others.
    const rows = result.stdout.filter((line) => line.startsWith('04-former-staff')).map((line) => line.split(/\s+/)[1]);
    expect(rows).toEqual(['dave@example.com', 'office@example.com', 'dave.old@example.com']);
    expect(result.stdout.at(-1)).toMatch(/^14 recipients, 8 refused at SMTP \(550 5\.1\.1, no DSN\), 4 delivered, 0 dropped \(0 by a guard\), 2 bounced \(2 sent in 2 SendBounce calls, 0 throttled\)\./);
  });
});

describe('ses-bouncer replay summary', () => {
  it('counts the drops by a guard from the decisions, not from the names on display', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-guards-'));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      'version: 1\nbounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }\nguards: { onGuard: deliver }\nrules:\n' +
        '  - { name: "the guard rail", when: { recipient: noreply@example.com }, then: drop }\n  - { name: unknown, then: bounce, bounceType: DoesNotExist }\n',
    );
    const result = await run('replay', '--policy', policy, '--rate', '50', '--out', join(dir, 'out'), 'examples/events/08-no-reply-dropped.json', 'examples/events/15-unauthenticated.json');
    // A rule named "…guard…" drops one; a guarded bounce is delivered (onGuard: deliver): no drop by a guard.
    expect(result.stdout.at(-1)).toMatch(/^2 recipients, 1 delivered, 1 dropped \(0 by a guard\), 0 bounced /);
  });
});

describe('ses-bouncer replay on bad input', () => {
  it('reports a broken event file in one line, replays the rest, and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-bad-'));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ nope');
    const result = await run('replay', '--rate', '50', '--out', join(dir, 'out'), broken, 'examples/events/02-staff-delivered.json');
    expect(result.code).toBe(1);
    expect(result.stderr).toContainEqual(expect.stringMatching(/^ses-bouncer: .*broken\.json: not valid JSON/));
    expect(result.stdout.some((line) => line.startsWith('02-staff-delivered'))).toBe(true);
  });

  it('refuses a missing policy with the check message and exit 2', async () => {
    const result = await run('replay', '--policy', 'nope.yaml');
    expect(result.code).toBe(2);
    expect(result.stderr).toEqual(['cannot read nope.yaml: ENOENT']);
  });
});
