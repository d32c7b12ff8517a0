// Refusal at SMTP time (`accept`): what a corpus and a dictionary attack cost with and without
// it (function invocations, bounces, SendBounce budget, DynamoDB and SQS requests, counted where
// they arrive), and what a large `accept` costs at synth.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { App } from 'aws-cdk-lib';
import { deliver } from '../lambda/app/deliver.js';
import { Pacer } from '../lambda/app/pacer.js';
import { receive } from '../lambda/app/receive.js';
import { MemoryMetrics } from '../lambda/app/telemetry.js';
import { SesBounceSender } from '../lambda/aws/ses.js';
import { PolicyError } from '../lambda/core/errors.js';
import { loadPolicyFile, type CompiledPolicy } from '../lambda/app/policy-loader.js';
import { loadPolicyFileLazily } from '../lambda/app/policy-loader-lazy.js';
import { SesBouncerStack } from '../lib/stack.js';
import { SynthPolicyError } from '../lib/synth-policy-types.js';
import { refuseAtSmtp } from '../local/pipeline.js';
import { countingQueue, startMeteredEngines } from './metered.js';
import { fmt, runAlone, type Bench } from './lib.js';

const logger = new Logger({ logLevel: 'SILENT' });
const ACCEPT_POLICY = 'examples/accept/policy.yaml';

/**
 * The accept example's policy as one would write it without `accept`: the receipt rule takes the
 * whole domain, and the unknown mailboxes bounce (what a deployment did before SES refused them).
 */
function withoutAcceptPolicy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-refusal-'));
  const file = join(dir, 'policy.yaml');
  writeFileSync(
    file,
    `version: 1
bounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }
lists:
  mailboxes: { file: ${JSON.stringify(resolve('examples/accept/mailboxes.txt'))} }
  former: [dave@example.com, erin@example.com]
rules:
  - { name: former-staff, when: { recipient: ["@list:former"] }, then: bounce, bounceType: DoesNotExist }
  - { name: blocked-senders, when: { sender: ["*@spam.example", "*@*.spam.example"] }, then: bounce, bounceType: ContentRejected }
  - { name: mailboxes, when: { recipient: ["@list:mailboxes", "*@*.lab.example.com"] }, then: deliver }
  - { name: unknown-mailbox, when: { recipient: ["*@example.com", "*@*.example.com"] }, then: bounce, bounceType: DoesNotExist }
`,
  );
  return file;
}

/** Events received a minute ago (so the 24 h window holds), each with a fresh message id. */
function fresh(events: readonly { Records: any[] }[]): { Records: any[] }[] {
  const now = new Date(Date.now() - 60_000).toISOString();
  return events.map((event) => {
    const copy = structuredClone(event);
    for (const record of copy.Records) {
      record.ses.mail.messageId = randomUUID().replace(/-/g, '') + 'xxxxxxxx';
      record.ses.mail.timestamp = now;
      record.ses.receipt.timestamp = now;
    }
    return copy;
  });
}

function corpus(): { Records: any[] }[] {
  const dir = 'examples/accept/events';
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')));
}

/** A dictionary attack: each message to one random address at example.com, each from its own SPF- and DKIM-authenticated sender. */
function dictionaryAttack(count: number): { Records: any[] }[] {
  const template = corpus()[0]!;
  return Array.from({ length: count }, (_, i) => {
    const event = structuredClone(template);
    const { mail, receipt } = event.Records[0].ses;
    const rcpt = `${randomBytes(5).toString('hex')}@example.com`;
    mail.source = `news${i}@sender${i % 997}.example`;
    mail.destination = [rcpt];
    mail.commonHeaders.to = [rcpt];
    receipt.recipients = [rcpt];
    return event;
  });
}

interface Cost {
  readonly messages: number;
  readonly invocations: number;
  readonly refused: number;
  readonly bounced: number;
  readonly sendBounceCalls: number;
  readonly dynamoReads: number;
  readonly dynamoWrites: number;
  readonly sqsRequests: number;
}

/** Runs events as SES would hand them to the deployment (refusing first when the policy has accept), through receipt and delivery. */
async function cost(policy: CompiledPolicy, events: readonly { Records: any[] }[]): Promise<Cost> {
  const engines = await startMeteredEngines('refusal', 5000);
  const { ledger, ses } = engines;
  const { queue, port, sends } = countingQueue();
  let invocations = 0;
  let refused = 0;
  try {
    engines.resetCounts();
    const receiptDeps = { policy, ledger, queue: port, logger, metrics: new MemoryMetrics() };
    for (const [index, event] of events.entries()) {
      const smtp = refuseAtSmtp({ source: String(index), payload: event }, policy);
      refused += smtp.refused.length;
      if (smtp.payload === undefined) continue;
      invocations += 1;
      await receive(smtp.payload, receiptDeps);
    }
    let deliveries = 0;
    const deliverDeps = { ledger, sender: new SesBounceSender(engines.sesClient), pacer: new Pacer(5000), logger, metrics: new MemoryMetrics(), requeue: port, deadLetters: port };
    await queue.drain((sqs) => ((deliveries += 1), deliver(sqs, deliverDeps, () => 600_000)));
    return {
      messages: events.length,
      invocations: invocations + deliveries,
      refused,
      bounced: ses.accepted.reduce((sum, a) => sum + a.request.BouncedRecipientInfoList.length, 0),
      sendBounceCalls: ses.stats.accepted,
      dynamoReads: engines.dynamoReads(),
      dynamoWrites: engines.dynamoWrites(),
      // The receipt's SendMessage per job, and the event source mapping's ReceiveMessage and DeleteMessage per delivery invocation.
      sqsRequests: sends() + 2 * deliveries,
    };
  } finally {
    await engines.close();
  }
}

/** Synthesizes the app's stack with `count` accepted addresses. */
async function synthWith(count: number): Promise<{ ms: number; bytes: number | undefined; refusal: string | undefined; loadMs: number | undefined }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-accept-'));
  writeFileSync(join(dir, 'mailboxes.txt'), Array.from({ length: count }, (_, i) => `firstname.lastname${i}@example.com`).join('\n'));
  writeFileSync(join(dir, 'policy.yaml'), 'version: 1\nbounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }\nlists:\n  mailboxes: { file: mailboxes.txt }\naccept: ["@list:mailboxes"]\nrules: []\n');
  // What the receipt function does at a cold start: read and compile its policy.json (the synth's JSON, the list inlined) with its loader.
  let loadMs: number | undefined;
  try {
    writeFileSync(join(dir, 'policy.json'), JSON.stringify(loadPolicyFile(join(dir, 'policy.yaml')).document));
    const loading = performance.now();
    await loadPolicyFileLazily(join(dir, 'policy.json'));
    loadMs = performance.now() - loading;
  } catch {
    loadMs = undefined;
  }
  const started = performance.now();
  try {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'bench-accept-out-')) });
    const stack = new SesBouncerStack(app, 'Bench', { env: { account: '111122223333', region: 'eu-west-1' }, bouncer: { policy: join(dir, 'policy.yaml') } });
    const assembly = app.synth();
    return { ms: performance.now() - started, bytes: statSync(assembly.getStackArtifact(stack.artifactId).templateFullPath).size, refusal: undefined, loadMs };
  } catch (error) {
    if (!(error instanceof SynthPolicyError || error instanceof PolicyError)) throw error;
    return { ms: performance.now() - started, bytes: undefined, refusal: (error as Error).message.split('\n').slice(1).join(' ').trim(), loadMs };
  }
}

export const refusalBench: Bench = {
  name: 'refusal',
  async run({ quick }) {
    const withAccept = loadPolicyFile(ACCEPT_POLICY);
    const withoutAccept = loadPolicyFile(withoutAcceptPolicy());
    const attackSize = quick ? 200 : 10_000;
    const examples = corpus();
    const attack = dictionaryAttack(attackSize);
    const runs = {
      corpusWithout: await cost(withoutAccept, fresh(examples)),
      corpusWith: await cost(withAccept, fresh(examples)),
      attackWithout: await cost(withoutAccept, fresh(attack)),
      attackWith: await cost(withAccept, fresh(attack)),
    };
    const sizes = quick ? [1_000, 25_000] : [20_000, 100_000];
    const synths: Array<{ count: number } & Awaited<ReturnType<typeof synthWith>>> = [];
    for (const count of sizes) synths.push({ count, ...(await synthWith(count)) });
    const row = (label: string, c: Cost): string[] => [
      label,
      fmt.int(c.messages),
      fmt.int(c.refused),
      fmt.int(c.invocations),
      `${fmt.int(c.bounced)} / ${fmt.int(c.sendBounceCalls)} s`,
      `${fmt.int(c.dynamoReads)} / ${fmt.int(c.dynamoWrites)}`,
      fmt.int(c.sqsRequests),
    ];
    return {
      title: 'Refusal at SMTP time (accept)',
      method:
        `The accept example (\`examples/accept\`: its policy, and the same policy without \`accept\`, bouncing unknown mailboxes of the domain instead) over its ${examples.length} events, ` +
        `and a dictionary attack: ${fmt.int(attackSize)} messages, each to one random address at example.com, from SPF- and DKIM-authenticated senders (so every guard passes). ` +
        'With accept, SES refuses what accept leaves out before the function runs (as replay does); the rest goes through the receipt and delivery use-cases against dynalite ' +
        '(DynamoDB requests counted at the endpoint) and the local SES endpoint. SendBounce budget: one call takes one second of the account\'s 1/s. ' +
        `Synth: the app's stack (SesBouncerStack, unindented template) with accept listing ${sizes.map(fmt.int).join(' and ')} addresses (\`firstname.lastnameN@example.com\`), the receipt asset staged with its policy.json; the receipt function's cold-start load timed on that policy.json with its own loader.`,
      header: ['run', 'messages', 'refused at SMTP', 'Lambda invocations (receipt + delivery)', 'bounced recipients / SendBounce budget', 'DynamoDB reads / writes', 'SQS requests'],
      rows: [
        row('example corpus, without accept', runs.corpusWithout),
        row('example corpus, with accept', runs.corpusWith),
        row('dictionary attack, without accept', runs.attackWithout),
        row('dictionary attack, with accept', runs.attackWith),
      ],
      notes: [
        `Without accept, the attack spends ${fmt.int(runs.attackWithout.sendBounceCalls)} s (${(runs.attackWithout.sendBounceCalls / 3600).toFixed(1)} h) of SendBounce budget, during which every legitimate bounce waits behind it, and mails ${fmt.int(runs.attackWithout.bounced)} DSNs to senders who may be forged despite SPF/DKIM (a compromised or throwaway domain authenticates fine). With accept: ${fmt.int(runs.attackWith.invocations)} invocations, ${fmt.int(runs.attackWith.bounced)} bounces.`,
        ...synths.map((s) =>
          s.refusal === undefined
            ? `Synth with ${fmt.int(s.count)} accepted addresses: ${fmt.ms(s.ms)}, template ${fmt.kb(s.bytes!)} (CloudFormation takes at most 1 MB; ${Math.ceil(s.count / 100)} receipt rules of the 200 a rule set allows); reading and compiling that policy, as the receipt function does at a cold start, ${fmt.ms(s.loadMs!)}.`
            : `Synth with ${fmt.int(s.count)} accepted addresses: refused after ${fmt.ms(s.ms)}, naming the quota: "${s.refusal}"`,
        ),
      ],
    };
  },
};

await runAlone(refusalBench, import.meta.url);
