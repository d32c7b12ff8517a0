// The receipt use-case with an `accept` policy, against dynalite and the local SES endpoint: a
// recipient outside accept that reaches the function (SES did not refuse it) is neither bounced
// nor delivered, and is counted and logged so the misconfiguration is seen; several rules
// answer STOP_RULE in place of STOP_RULE_SET.
import type { LogPort } from '../../lambda/app/ports.js';
import { MetricName } from '../../lambda/app/telemetry.js';
import { policyWith } from '../support/policies.js';
import { recentEvent, receive, silentLogger, startPipeline, type Pipeline } from '../support/pipeline.js';

const policy = policyWith(`accept: ["alice@example.com", "keep@example.com"]
rules:
  - { name: keep, when: { recipient: "keep@example.com" }, then: deliver }
  - { name: unknown, then: bounce, bounceType: DoesNotExist }`);

let pipeline: Pipeline;
beforeAll(async () => {
  pipeline = await startPipeline(policy);
});
afterAll(() => pipeline.close());

function recordingLogger(): { logger: LogPort; warnings: { message: string; extra: unknown }[] } {
  const warnings: { message: string; extra: unknown }[] = [];
  const logger = { ...silentLogger, info: () => undefined, debug: () => undefined, error: () => undefined, warn: (message: string, extra: unknown) => warnings.push({ message, extra }) } as unknown as LogPort;
  return { logger, warnings };
}

describe('a recipient outside accept that reaches the function', () => {
  it('is neither bounced nor delivered: counted as Refused, logged with a warning, nothing queued', async () => {
    const { logger, warnings } = recordingLogger();
    const refusedBefore = pipeline.metrics.get(MetricName.Refused);
    const depth = pipeline.queue.depth;
    const event = recentEvent({ recipients: ['ghost@example.com', 'Other@Example.com'] });
    expect(await receive(event, pipeline.receiptDeps({ logger }))).toEqual({ disposition: 'STOP_RULE_SET' });
    expect(pipeline.metrics.get(MetricName.Refused) - refusedBefore).toBe(2);
    expect(pipeline.queue.depth).toBe(depth);
    expect(warnings).toEqual([
      { message: expect.stringMatching(/^SES passed recipients outside accept: another receipt rule/), extra: expect.objectContaining({ recipients: ['ghost@example.com', 'other@example.com'] }) },
    ]);
  });

  it('does not spoil the bounce of an accepted recipient of the same message', async () => {
    const before = pipeline.ses.accepted.length;
    const event = recentEvent({ recipients: ['ghost@example.com', 'alice@example.com'] });
    expect(await receive(event, pipeline.receiptDeps())).toEqual({ disposition: 'STOP_RULE_SET' });
    await pipeline.drain();
    expect(pipeline.ses.accepted.slice(before).flatMap((a) => a.request.BouncedRecipientInfoList.map((r) => r.Recipient))).toEqual(['alice@example.com']);
  });
});

describe('accept in dry-run', () => {
  it('logs what accept would refuse without counting Refused (the rules list its domains then) and continues', async () => {
    const dry = policyWith(`mode: dry-run\naccept: ["alice@example.com"]\nrules:\n  - { name: unknown, then: bounce, bounceType: DoesNotExist }`);
    const { logger, warnings } = recordingLogger();
    const before = pipeline.metrics.get(MetricName.Refused);
    const decisions: string[] = [];
    const deps = pipeline.receiptDeps({ policy: dry, logger, onDecision: (d) => decisions.push(...d.recipients.map((r) => `${r.address}:${r.action}`)) });
    expect(await receive(recentEvent({ recipients: ['ghost@example.com'] }), deps)).toEqual({ disposition: 'CONTINUE' });
    expect(decisions).toEqual(['ghost@example.com:refuse']);
    expect(pipeline.metrics.get(MetricName.Refused)).toBe(before);
    expect(warnings).toEqual([]);
  });
});

describe('a deployment of several rules (STOP_DISPOSITION=STOP_RULE)', () => {
  it('answers STOP_RULE when nothing is delivered, CONTINUE when something is', async () => {
    const deps = pipeline.receiptDeps({ stopDisposition: 'STOP_RULE' });
    expect(await receive(recentEvent({ recipients: ['alice@example.com'] }), deps)).toEqual({ disposition: 'STOP_RULE' });
    expect(await receive(recentEvent({ recipients: ['alice@example.com', 'keep@example.com'] }), deps)).toEqual({ disposition: 'CONTINUE' });
    await pipeline.drain();
  });

  it('still fails open into delivery (CONTINUE) when the bounce cannot be queued', async () => {
    const deps = pipeline.receiptDeps({ stopDisposition: 'STOP_RULE', queue: { enqueue: () => Promise.reject(new Error('SQS 500')) } });
    expect(await receive(recentEvent({ recipients: ['alice@example.com'] }), deps)).toEqual({ disposition: 'CONTINUE' });
  });
});
