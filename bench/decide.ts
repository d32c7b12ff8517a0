// Decision speed with a large policy, compiled vs a naive rule-by-rule scan; compile time;
// peak memory of a process holding the policy; a hostile subject against a backtracking bomb.
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAddress, type ParsedAddress } from '../lambda/core/address.js';
import { decide } from '../lambda/core/decide.js';
import { SesRecord } from '../lambda/core/event.js';
import { viewMessage, type MessageView } from '../lambda/core/message.js';
import { parseAddressPattern, type AddressPattern } from '../lambda/core/patterns.js';
import { loadPolicyFile, type CompiledPolicy } from '../lambda/app/policy-loader.js';
import { compileRegex } from '../lambda/core/regex.js';
import { RE2JS } from 're2js';
import { fmt, median, runAlone, timeRuns, type Bench } from './lib.js';

const ADDRESSES = 100_000;
const DOMAINS = 1_000;
const REGEX_RULES = 20;

/** Writes the benchmark policy: 20 regex rules, a 100k-address list file, 1,000 domain patterns, a catch-all bounce. */
export function writeLargePolicy(regexRules = REGEX_RULES): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-policy-'));
  const customers = Array.from({ length: ADDRESSES }, (_, i) => `customer${i}@example.com`);
  writeFileSync(join(dir, 'customers.txt'), `# ${ADDRESSES} customer mailboxes\n${customers.join('\n')}\n`);
  const domains = Array.from({ length: DOMAINS }, (_, i) => (i % 2 ? `"*@*.partner${i}.example"` : `"*@partner${i}.example"`));
  const regexRuleLines = Array.from(
    { length: regexRules },
    (_, i) => `  - { name: regex-${i}, when: { subject: "(?i)campaign-${i}\\\\b", header: { X-Mailer: "^bulk-${i}" } }, then: drop }`,
  );
  writeFileSync(
    join(dir, 'policy.yaml'),
    `version: 1
bounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }
lists:
  customers: { file: customers.txt }
rules:
${regexRuleLines.join('\n')}
  - { name: customers, when: { recipient: ["@list:customers"] }, then: deliver }
  - { name: partners, when: { recipient: [${domains.join(', ')}] }, then: deliver }
  - { name: unknown, then: bounce, bounceType: DoesNotExist }
`,
  );
  return join(dir, 'policy.yaml');
}

function recipientMix(count: number): string[] {
  // A third listed customers, a third partner domains (and subdomains), a third unknown: every rule is exercised.
  return Array.from({ length: count }, (_, i) => {
    if (i % 3 === 0) return `Customer${(i * 7919) % ADDRESSES}@Example.com`;
    if (i % 3 === 1) return i % 2 ? `x@mail.partner${i % DOMAINS | 1}.example` : `x@partner${(i % DOMAINS) & ~1}.example`;
    return `stranger${i}@example.com`;
  });
}

function recordFor(recipients: string[], subject = 'Quarterly report'): SesRecord {
  return SesRecord.parse({
    ses: {
      mail: {
        timestamp: '2026-11-24T09:15:02.118Z',
        source: 'jane@partner.example',
        messageId: 'bench',
        headers: [{ name: 'Subject', value: subject }, { name: 'X-Mailer', value: 'Mailer 1.0' }],
      },
      receipt: {
        timestamp: '2026-11-24T09:15:02.118Z',
        recipients,
        spfVerdict: { status: 'PASS' },
        dkimVerdict: { status: 'PASS' },
        spamVerdict: { status: 'PASS' },
        virusVerdict: { status: 'PASS' },
      },
    },
  });
}

/** The usual alternative: each rule in turn, each pattern in turn, nothing indexed. */
function naiveDecider(policy: CompiledPolicy): (message: MessageView, recipient: string) => string {
  const lists = new Map(Object.entries(policy.document.lists ?? {}).map(([name, texts]) => [name, (texts as string[]).map((t) => parseAddressPattern(t)!)]));
  const rules = policy.document.rules.map((rule) => {
    const patterns = ([] as string[])
      .concat(rule.when?.recipient ?? [])
      .flatMap((text) => {
        const pattern = parseAddressPattern(text)!;
        return pattern.kind === 'list' ? lists.get(pattern.name)! : [pattern];
      });
    const subject = rule.when?.subject === undefined ? undefined : compileRegex(RE2JS, rule.when.subject);
    const mailer = rule.when?.header?.['X-Mailer'] === undefined ? undefined : compileRegex(RE2JS, rule.when.header['X-Mailer']);
    return { rule, patterns, subject, mailer };
  });
  return (message, recipient) => {
    const address = parseAddress(recipient)!;
    for (const { rule, patterns, subject, mailer } of rules) {
      if (subject && !message.subjects.some((s) => subject.test(s))) continue;
      if (mailer && !(message.headers.get('x-mailer') ?? []).some((s) => mailer.test(s))) continue;
      if (patterns.length > 0 && !patterns.some((p) => matchesOne(p, address))) continue;
      return rule.then;
    }
    return policy.default;
  };
}

function matchesOne(pattern: AddressPattern, address: ParsedAddress): boolean {
  switch (pattern.kind) {
    case 'address':
      return pattern.tag === undefined ? `${address.base}@${address.domain}` === `${pattern.base}@${pattern.domain}` : address.full === `${pattern.base}+${pattern.tag}@${pattern.domain}`;
    case 'anyTag':
      return address.tag !== undefined && address.base === pattern.base && address.domain === pattern.domain;
    case 'domain':
      return address.domain === pattern.domain;
    case 'subdomains':
      return address.domain.endsWith(`.${pattern.domain}`);
    case 'list':
      return false;
  }
}

/** Peak RSS of a plain node process (core bundled by esbuild, as in the Lambda) that loads the policy, or nothing. */
async function peakMemory(policyFile: string | undefined): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-memory-'));
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    `import { loadPolicyFile } from ${JSON.stringify(new URL('../lambda/app/policy-loader.ts', import.meta.url).pathname)};
     (globalThis as any).held = ${policyFile ? `loadPolicyFile(${JSON.stringify(policyFile)})` : 'loadPolicyFile'};
     process.stdout.write(String(process.resourceUsage().maxRSS * 1024));`,
  );
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: join(dir, 'entry.cjs'), logLevel: 'silent' });
  return Number(execFileSync(process.execPath, [join(dir, 'entry.cjs')], { encoding: 'utf8' }));
}

export const decideBench: Bench = {
  name: 'decide',
  async run({ quick }) {
    const file = writeLargePolicy();
    const compileTimes = timeRuns(quick ? 1 : 5, () => loadPolicyFile(file));
    const batch = recipientMix(quick ? 3_000 : 30_000);
    const now = new Date('2026-11-24T09:16:00Z');
    const rate = (target: CompiledPolicy, input: readonly SesRecord[]): number => {
      const recipients = input.reduce((sum, record) => sum + record.ses.receipt.recipients.length, 0);
      return recipients / (median(timeRuns(quick ? 2 : 9, () => input.forEach((record) => decide(record, target, now)))) / 1000);
    };
    const singleRecords = batch.slice(0, quick ? 1_000 : 10_000).map((r) => recordFor([r]));
    // Measured first, while the heap holds one large policy, as a Lambda's would.
    const noRegexRate = rate(loadPolicyFile(writeLargePolicy(0)), singleRecords);
    const policy = loadPolicyFile(file);

    const perRecord = 10;
    const records = Array.from({ length: batch.length / perRecord }, (_, i) => recordFor(batch.slice(i * perRecord, (i + 1) * perRecord)));
    const compiledRate = rate(policy, records);
    const singleRate = rate(policy, singleRecords);

    const naive = naiveDecider(policy);
    const message = viewMessage(records[0]!);
    const naiveSample = batch.slice(0, quick ? 30 : 300);
    const naiveMs = median(timeRuns(quick ? 1 : 3, () => naiveSample.forEach((r) => naive(message, r))));
    const naiveRate = naiveSample.length / (naiveMs / 1000);
    // Both deciders must agree, or the comparison means nothing.
    const disagreements = naiveSample.filter((r) => naive(message, r) !== decide(recordFor([r]), policy, now).recipients[0]!.action);

    const hostile = recordFor(['x@example.com'], `${'a'.repeat(40_000)}!`);
    const bombPolicy = loadPolicyFile(writeBombPolicy());
    const hostileMs = median(timeRuns(quick ? 3 : 21, () => decide(hostile, bombPolicy, now)));

    const baseline = await peakMemory(undefined);
    const holding = await peakMemory(file);
    return {
      title: 'Decisions with a 100,000-address policy',
      method: `Policy: ${ADDRESSES.toLocaleString('en-US')} listed addresses (list file), ${DOMAINS.toLocaleString('en-US')} domain patterns, ${REGEX_RULES} regex rules, a catch-all bounce. Recipients: a third listed, a third partner domains, a third unknown. Medians of repeated runs in one process; the naive decider evaluates the same policy rule by rule and pattern by pattern, and is checked to agree with the compiled one.`,
      header: ['measure', 'value', 'target'],
      rows: [
        ['compile (read YAML + list file, validate, index)', fmt.ms(median(compileTimes)), '< 1 s'],
        ['decisions/s, compiled, records of 10 recipients', fmt.int(compiledRate), '≥ 100,000'],
        ['decisions/s, compiled, one recipient a record', fmt.int(singleRate), ''],
        ['decisions/s, same policy without the regex rules, one recipient a record', fmt.int(noRegexRate), '≥ 100,000'],
        ['decisions/s, naive rule-by-rule scan', fmt.int(naiveRate), ''],
        // Per recipient on both sides: one recipient a record (the naive scan is given the message view, so it does no more per message).
        ['compiled (one recipient a record) / naive', fmt.ratio(singleRate / naiveRate), ''],
        ['naive decisions disagreeing with compiled', String(disagreements.length), '0'],
        ['40 KB hostile subject vs `^(a+)+$`, one decision', fmt.ms(hostileMs), '< 10 ms'],
        ['peak RSS, process holding the policy', fmt.mb(holding), '< 128 MB'],
        ['peak RSS, same process without it', fmt.mb(baseline), ''],
      ],
    };
  },
};

function writeBombPolicy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bomb-'));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, `version: 1\nbounce: { sender: m@example.com, reportingMta: mx.example.com }\nrules:\n  - { name: bomb, when: { subject: "^(a+)+$" }, then: drop }\n`);
  return file;
}

await runAlone(decideBench, import.meta.url);
