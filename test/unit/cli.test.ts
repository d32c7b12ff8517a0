import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from '../../cli/main.js';
import { documentedEvent, rawRecord } from '../support/events.js';

async function run(...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(argv, { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) });
  return { code, stdout, stderr, json: () => stdout.map((line) => JSON.parse(line)) };
}

const dir = mkdtempSync(join(tmpdir(), 'cli-'));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}
const NOW = ['--now', '2026-11-24T10:00:00Z'];

describe('ses-bouncer check', () => {
  it('prints a one-line summary and exits 0 for a valid policy', async () => {
    const result = await run('check', 'examples/policy.yaml');
    expect(result.code).toBe(0);
    expect(result.stdout).toEqual([expect.stringMatching(/^examples\/policy\.yaml: valid; mode enforce; 6 rules/)]);
  });

  it('prints one path: message line per error and exits 2', async () => {
    const policy = file(
      'bad.yaml',
      'version: 1\nbounce: { sender: m@example.com, reportingMta: mx.example.com }\nrules:\n  - { name: a, when: { recipient: [nope] }, then: drop }\n  - { name: b, then: bogus }\n',
    );
    const result = await run('check', policy);
    expect(result.code).toBe(2);
    expect(result.stdout).toEqual(['rules[0].when.recipient[0]: not an address pattern', 'rules[1].then: must be one of deliver, drop, bounce']);
  });

  it('with --recipients, warns about rules SES would never pass to the function, and still exits 0', async () => {
    const narrow = await run('check', '--recipients', 'example.com', 'examples/policy.yaml');
    expect(narrow.code).toBe(0);
    expect(narrow.stderr).toEqual([
      'warning: rules[0].when.recipient[0] (lists.staff[5]): *@*.eng.example.com can never match: no receipt rule recipient (example.com) lets SES pass such an address to the function',
      'warning: rules[1].when.recipient[0]: *@old.example.com can never match: no receipt rule recipient (example.com) lets SES pass such an address to the function',
      'warning: rules[1].when.recipient[1]: *@*.old.example.com can never match: no receipt rule recipient (example.com) lets SES pass such an address to the function',
    ]);
    const covered = await run('check', '--recipients', 'example.com,.example.com', 'examples/policy.yaml');
    expect(covered).toMatchObject({ code: 0, stderr: [] });
  });

  it('exits 2 with a clear message for a missing file', async () => {
    const result = await run('check', join(dir, 'missing.yaml'));
    expect(result.code).toBe(2);
    expect(result.stdout[0]).toMatch(/cannot read .*missing\.yaml: ENOENT/);
  });
});

describe('ses-bouncer check with accept', () => {
  const many = (count: number) => file(`many-${count}.txt`, Array.from({ length: count }, (_, i) => `user${i}@example.com`).join('\n'));
  const acceptPolicy = (name: string, body: string) => file(name, `version: 1\nbounce: { sender: m@example.com, reportingMta: mx.example.com }\n${body}`);

  it('prints what accept compiles to: addresses, domains, subdomain patterns, rule recipients and rules at SES quotas', async () => {
    const result = await run('check', 'examples/accept/policy.yaml');
    expect(result.code).toBe(0);
    expect(result.stdout).toEqual([
      expect.stringMatching(/^examples\/accept\/policy\.yaml: valid; /),
      'accept: 6 addresses, 0 domains, 1 subdomain pattern → 7 receipt rule recipients in 1 receipt rule (SES quotas: 100 recipients per rule, 200 rules per rule set); SES refuses every other address with 550 5.1.1',
    ]);
  });

  it('counts the rules a large accept needs, and what it left out', async () => {
    many(250);
    const policy = acceptPolicy('large.yaml', `lists:\n  many: { file: many-250.txt }\naccept: ["@list:many", "*@example.org", "x@example.org", "user1@example.com"]\nrules: []\n`);
    const result = await run('check', policy);
    expect(result.stdout[1]).toBe(
      'accept: 250 addresses, 1 domain, 0 subdomain patterns (2 repeated or covered by a domain, left out) → 251 receipt rule recipients in 3 receipt rules (SES quotas: 100 recipients per rule, 200 rules per rule set); SES refuses every other address with 550 5.1.1',
    );
  });

  it('fails with exit 2 above the rule-set quota, naming it', async () => {
    many(20_001);
    const result = await run('check', acceptPolicy('over.yaml', `lists:\n  many: { file: many-20001.txt }\naccept: ["@list:many"]\nrules: []\n`));
    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([expect.stringMatching(/^accept: compiles to 20001 receipt rule recipients, 201 receipt rules: over SES's quota of 200 rules per rule set/)]);
  });

  it('says that in dry-run the rules list its domains', async () => {
    const result = await run('check', acceptPolicy('dry.yaml', 'mode: dry-run\naccept: ["a@example.com", "*@*.lab.example.org"]\nrules: []\n'));
    expect(result.stdout[2]).toBe('accept in dry-run: the receipt rules list its domains (example.com, .lab.example.org), so SES refuses nothing until mode: enforce');
  });

  it("in dry-run, warns only about what rules listing accept's domains would not pass, as synth does", async () => {
    const policy = acceptPolicy('dry-reach.yaml', 'mode: dry-run\naccept: ["a@example.com"]\nrules:\n  - { when: { recipient: "b@example.com" }, then: drop }\n  - { when: { recipient: "c@example.net" }, then: drop }\n');
    const result = await run('check', policy);
    expect(result.code).toBe(0);
    expect(result.stderr).toEqual(['warning: rules[1].when.recipient: c@example.net can never match: accept takes no such address']);
  });

  it('warns about rules about addresses accept refuses, and that --recipients is ignored', async () => {
    const policy = acceptPolicy('reach.yaml', 'accept: ["a@example.com"]\nrules:\n  - { when: { recipient: "b@example.com" }, then: drop }\n');
    const result = await run('check', '--recipients', 'example.com', policy);
    expect(result.code).toBe(0);
    expect(result.stderr).toEqual([
      'warning: --recipients is ignored: with accept, the receipt rules list what accept compiles to',
      'warning: rules[0].when.recipient: b@example.com can never match: accept takes no such address',
    ]);
  });
});

describe('ses-bouncer check on hostile or sloppy policies (docs/policy.md: exit 2, a path, never a crash or a hang)', () => {
  const BOUNCE_YAML = 'bounce: { sender: m@example.com, reportingMta: mx.example.com }';
  const BOUNCE_JSON = '"bounce": {"sender": "m@example.com", "reportingMta": "mx.example.com"}';
  const yaml = (body: string) => `version: 1\n${BOUNCE_YAML}\n${body}\n`;
  const json = (members: string) => `{"version": 1, ${BOUNCE_JSON}, ${members}}`;
  const deep = `x${'[0]'.repeat(31)}: nested deeper than 32 levels`;
  const reserved = 'not allowed as a key: it names an object prototype member';
  const bigList = file('big-list.txt', '');
  truncateSync(bigList, 64 * 1024 * 1024 + 1);
  const fields = Array.from({ length: 11 }, (_, index) => `X-F${index}: v`).join(', ');

  const CASES: Array<[name: string, content: string, line: string]> = [
    ['dup.json', json('"mode": "dry-run", "mode": "enforce", "rules": []'), 'mode: duplicate key'],
    ['dup.yaml', yaml('rules:\n  - when: { recipient: a@example.com, recipient: b@example.com }\n    then: drop'), 'rules[0].when.recipient: duplicate key'],
    ['proto.json', json('"rules": [{"when": {"header": {"__proto__": "^yes$"}}, "then": "drop"}]'), `rules[0].when.header.__proto__: ${reserved}`],
    ['proto.yaml', yaml('constructor: {}\nrules: []'), `constructor: ${reserved}`],
    ['empty-header.yaml', yaml('rules:\n  - { when: { header: {} }, then: drop }'), 'rules[0].when.header: an empty header condition would match every message'],
    ['deep.json', json(`"rules": [], "x": ${'['.repeat(5000)}${']'.repeat(5000)}`), deep],
    ['deep-objects.json', json(`"rules": [], "x": ${'{"a": '.repeat(5000)}1${'}'.repeat(5000)}`), `x${'.a'.repeat(31)}: nested deeper than 32 levels`],
    ['deep.yaml', yaml(`rules: []\nx: ${'['.repeat(5000)}${']'.repeat(5000)}`), deep],
    ['zero-list.yaml', yaml('lists:\n  staff: { file: /dev/zero }\nrules: []'), 'lists.staff.file: cannot read /dev/zero: not a regular file (a character device)'],
    ['big-list.yaml', yaml('lists:\n  staff: { file: big-list.txt }\nrules: []'), 'lists.staff.file: cannot read big-list.txt: larger than 64 MiB (67108865 bytes)'],
    [
      'display-name.yaml',
      'version: 1\nbounce: { sender: "Mailer <m@example.com>", reportingMta: mx.example.com }\nrules: []\n',
      'bounce.sender: not a plain address: give local@domain only, without a display name or angle brackets',
    ],
    ['trailing-dot.yaml', 'version: 1\nbounce: { sender: m@example.com., reportingMta: mx.example.com }\nrules: []\n', 'bounce.sender: the domain must not end with a dot'],
    [
      'arn.yaml',
      yaml('rules:\n  - { then: bounce, bounceType: Undefined, recipientArn: "arn:aws:ses:eu-west-1:123:identity/x" }'),
      'rules[0].recipientArn: not an SES identity ARN (arn:PARTITION:ses:REGION:ACCOUNT:identity/IDENTITY: a 12-digit account, an email address or domain)',
    ],
    ['fields.yaml', yaml(`rules:\n  - { then: bounce, bounceType: Undefined, extensionFields: { ${fields} } }`), 'rules[0].extensionFields: 11 extension fields: at most 10 are allowed'],
  ];
  const paths = CASES.map(([name, content]) => file(name, content));

  it.each(CASES.map(([name, , line], index) => [name, line, paths[index]!]))('%s: exit 2 and "%s"', async (_name, line, path) => {
    const start = performance.now();
    const result = await run('check', path);
    expect(performance.now() - start).toBeLessThan(2000);
    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([line]);
    expect(result.stderr).toEqual([]);
  });

  it('as a real process: exit 2, the line, no stack trace, no internal error, within seconds', async () => {
    const cli = (path: string) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'bin/ses-bouncer.ts', 'check', path], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => (stderr += chunk));
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        });
      });
    const results = await Promise.all(paths.map(cli));
    results.forEach((result, index) => {
      expect({ name: CASES[index]![0], status: result.status, stdout: result.stdout }).toEqual({ name: CASES[index]![0], status: 2, stdout: `${CASES[index]![2]}\n` });
      expect(result.stderr).not.toMatch(/\n\s+at |internal error|RangeError/);
    });
  }, 60_000);
});

describe('ses-bouncer decide', () => {
  it('prints one JSON object per record with the contract fields', async () => {
    const result = await run('decide', '--policy', 'examples/policy.yaml', ...NOW, 'test/fixtures/ses-receipt-event.json');
    expect(result.code).toBe(0);
    const [decision] = result.json();
    expect(Object.keys(decision)).toEqual(['messageId', 'disposition', 'recipients', 'sendBounce']);
    expect(decision).toMatchObject({
      messageId: 'o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1',
      disposition: 'STOP_RULE_SET',
      recipients: [{ address: 'nobody@example.com', action: 'bounce', rule: 'unknown-mailbox', bounceType: 'DoesNotExist', status: '5.1.1' }],
      sendBounce: { OriginalMessageId: 'o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1', BounceSender: 'mailer-daemon@example.com' },
    });
  });

  it('uses the real clock without --now, so a two-day-old event is past the window', async () => {
    const result = await run('decide', '--policy', 'examples/policy.yaml', 'test/fixtures/ses-receipt-event.json');
    expect(result.json()[0].recipients[0]).toMatchObject({ action: 'drop', guard: 'window-expired' });
  });

  it('prints {"error"} in place of a bad record or file, carries on, and exits 1', async () => {
    const mixed = file('mixed.json', { Records: [rawRecord(), { ses: { mail: {} } }] });
    const broken = file('broken.json', '{ not json');
    const result = await run('decide', '--policy', 'examples/policy.yaml', ...NOW, mixed, broken, join(dir, 'absent.json'), 'examples/events/02-staff-delivered.json');
    expect(result.code).toBe(1);
    const lines = result.json();
    expect(lines).toHaveLength(5);
    expect(lines[0].messageId).toBe('o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1');
    expect(lines[1].error).toMatch(/Records\[1\]\.ses\.mail\.timestamp/);
    expect(lines[2].error).toMatch(/broken\.json: not valid JSON/);
    expect(lines[3].error).toMatch(/cannot read .*absent\.json: ENOENT/);
    expect(lines[4].recipients[0].action).toBe('deliver');
  });

  it('marks dry-run decisions and always continues', async () => {
    const policy = file('dry.yaml', 'version: 1\nmode: dry-run\nbounce: { sender: m@example.com, reportingMta: mx.example.com }\nrules:\n  - { name: gone, then: bounce, bounceType: DoesNotExist }\n');
    const [decision] = (await run('decide', '--policy', policy, ...NOW, file('event.json', documentedEvent()))).json();
    expect(decision).toMatchObject({ dryRun: true, disposition: 'CONTINUE', recipients: [{ action: 'bounce' }] });
    expect(decision.sendBounce.BouncedRecipientInfoList).toHaveLength(1);
  });

  it('exits 2 with the check messages for an invalid policy, deciding nothing', async () => {
    const policy = file('invalid.yaml', 'version: 2\nrules: []\n');
    const result = await run('decide', '--policy', policy, 'examples/events/01-unknown-mailbox.json');
    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toEqual(['version: must be 1', 'bounce: required']);
  });

  it('takes a directory as its .json files in name order', async () => {
    const result = await run('decide', '--policy', 'examples/policy.yaml', ...NOW, 'examples/events');
    expect(result.json().map((d) => d.messageId.slice(0, 4))).toEqual(['o3vr', 'b8k2', 'c4n7', 'd1p9', 'e6r3', 'f2s8', 'g9t1', 'h3u5', 'i7v2', 'j5w8', 'k2x4', 'l8y6', 'm4z9', 'n1a3', 'o6b7', 'p2c5', 'q9d1']);
  });
});

describe('usage', () => {
  it.each([[[]], [['--help']], [['decide', '--help']]])('%p explains itself and exits 0', async (argv) => {
    const result = await run(...argv);
    expect(result.code).toBe(0);
    expect(result.stdout.join('\n')).toContain('ses-bouncer decide --policy POLICY');
  });

  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['check'], 'check takes exactly one policy file'],
    [['decide', 'x.json'], 'decide needs --policy POLICY'],
    [['decide', '--policy', 'examples/policy.yaml'], 'decide needs at least one EVENT.json'],
    [['decide', '--policy', 'examples/policy.yaml', '--now', 'tomorrow', 'x.json'], '--now: "tomorrow" is not an ISO 8601 date-time'],
    [['decide', '--policy', 'examples/policy.yaml', '--now', '2026-11-24T10:00:00', 'x.json'], 'is not an ISO 8601 date-time with a zone'],
    [['decide', '--polcy', 'p'], "Unknown option '--polcy'"],
    [['serve-ses', '--rate', '0'], '--rate: "0" is not a positive number'],
  ])('%p is a usage error (exit 2): %s', async (argv, message) => {
    const result = await run(...argv);
    expect(result.code).toBe(2);
    expect(result.stderr[0]).toContain(message);
  });

  it("replay outside a checkout: its defaults are the repository's examples, so it asks for a policy and events", () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'ses-bouncer-cli-elsewhere-'));
    // tsx by path: `--import tsx` resolves from the working directory.
    const tsx = pathToFileURL(join(process.cwd(), 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', tsx, join(process.cwd(), 'bin', 'ses-bouncer.ts'), ...args], { cwd: elsewhere, encoding: 'utf8' });
    const noPolicy = cli('replay');
    expect(noPolicy.status).toBe(2);
    expect(noPolicy.stderr).toContain('replay needs --policy POLICY: its default, examples/policy.yaml, is an example of a checkout of ses-bouncer and is not here');
    const noEvents = cli('replay', '--policy', join(process.cwd(), 'examples', 'policy.yaml'));
    expect(noEvents.status).toBe(2);
    expect(noEvents.stderr).toContain('replay needs EVENT_OR_DIR: its default, examples/events,');
    expect(noEvents.stderr).not.toMatch(/\n\s+at /);
  });

  it('runs as a real process: exit codes and no stack trace for a user mistake', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bin/ses-bouncer.ts', ...args], { encoding: 'utf8' });
    const bad = cli('decide', '--policy', join(dir, 'nope.yaml'), 'x.json');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/cannot read .*nope\.yaml: ENOENT/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const good = cli('decide', '--policy', 'examples/policy.yaml', ...NOW, 'examples/events/04-mixed-recipients.json');
    expect(good.status).toBe(0);
    expect(JSON.parse(good.stdout).recipients).toHaveLength(3);
  });
});
