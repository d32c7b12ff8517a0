// The rule-set audit: what in the active rule set keeps SES from refusing what accept leaves out.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESClient } from '@aws-sdk/client-ses';
import { auditRuleSet } from '../../lambda/app/audit.js';
import { loadAuditConfig } from '../../lambda/app/config.js';
import type { LogPort } from '../../lambda/app/ports.js';
import { MemoryMetrics, MetricName } from '../../lambda/app/telemetry.js';
import { SesRuleSetReader } from '../../lambda/aws/rule-set.js';
import { auditActiveRuleSet, type ActiveRule } from '../../lambda/core/rule-set-audit.js';
import { policyWith } from '../support/policies.js';

const accept = policyWith('accept: ["alice@example.com", "*@*.lab.example.com", "*@example.org"]\nrules: []').accept!;
const expected = { ruleSetName: 'inbound', ruleNames: ['ses-bouncer', 'ses-bouncer-2'] };
const own: ActiveRule[] = [
  { name: 'ses-bouncer', enabled: true, recipients: ['alice@example.com', 'example.org'] },
  { name: 'ses-bouncer-2', enabled: true, recipients: ['.lab.example.com'] },
];
const audit = (rules: ActiveRule[], name = 'inbound') => auditActiveRuleSet({ name, rules }, expected, accept).map((f) => `${f.rule}: ${f.problem}`);

describe('auditing the active rule set', () => {
  it('finds nothing when only the bouncer and rules within accept list anything', () => {
    expect(audit([...own, { name: 'archive', enabled: true, recipients: ['alice@example.com', 'x@gpu.lab.example.com', '.deep.lab.example.com', 'example.org'] }])).toEqual([]);
  });

  it('finds another rule that lists a whole domain, or a subdomain tree, accept does not take', () => {
    expect(audit([{ name: 'catch-all', enabled: true, recipients: ['example.com', '.example.org', 'bob@example.com'] }, ...own])).toEqual([
      'catch-all: lists example.com, .example.org, bob@example.com, which takes addresses accept leaves out: SES accepts them instead of refusing them',
    ]);
  });

  it('finds a rule without recipients (it takes every verified domain), and ignores disabled rules', () => {
    expect(audit([...own, { name: 'everything', enabled: true, recipients: [] }, { name: 'old', enabled: false, recipients: ['example.com'] }])).toEqual([
      'everything: lists no recipient, so it takes every verified domain: SES refuses nothing',
    ]);
  });

  it("finds the bouncer's rules missing or disabled, and a rule set that is not the bouncer's or none at all", () => {
    expect(audit([{ ...own[0]!, enabled: false }])).toEqual(['ses-bouncer: disabled: SES refuses the addresses it lists', 'ses-bouncer-2: missing from the active rule set: SES refuses the addresses it should list']);
    expect(audit(own, 'default-rule-set')).toEqual(["null: the active rule set is default-rule-set, not inbound: SES does not run the bouncer's rules"]);
    expect(auditActiveRuleSet(undefined, expected, accept)).toEqual([{ rule: null, problem: 'no receipt rule set is active: SES receives no mail in this region' }]);
  });
});

describe('the scheduled audit', () => {
  function recording(): { logger: LogPort; warnings: string[] } {
    const warnings: string[] = [];
    const logger = { info: () => undefined, debug: () => undefined, error: () => undefined, warn: (message: string) => warnings.push(message) } as unknown as LogPort;
    return { logger, warnings };
  }

  it('logs each finding and counts them as AcceptBypassed', async () => {
    const metrics = new MemoryMetrics();
    const { logger, warnings } = recording();
    const reader = { active: async () => ({ name: 'inbound', rules: [...own, { name: 'catch-all', enabled: true, recipients: [] }] }) };
    const result = await auditRuleSet({ reader, accept, expected, logger, metrics });
    expect(result.findings).toHaveLength(1);
    expect(warnings).toEqual(['SES does not refuse what accept leaves out: rule catch-all lists no recipient, so it takes every verified domain: SES refuses nothing']);
    expect(metrics.get(MetricName.AcceptBypassed)).toBe(1);
  });

  it('lets a failed read fail the invocation (its own alarm), never passing it as clean', async () => {
    const metrics = new MemoryMetrics();
    const reader = { active: async () => Promise.reject(new Error('Throttling')) };
    await expect(auditRuleSet({ reader, accept, expected, logger: recording().logger, metrics })).rejects.toThrow('Throttling');
    expect(metrics.counts.size).toBe(0);
  });

  it('reads its settings from the environment, the policy bundled beside it by default', () => {
    expect(loadAuditConfig({ RULE_SET_NAME: 'inbound', RULE_NAMES: 'ses-bouncer,ses-bouncer-2', LAMBDA_TASK_ROOT: '/var/task' })).toEqual({
      ruleSetName: 'inbound',
      ruleNames: ['ses-bouncer', 'ses-bouncer-2'],
      policyFile: '/var/task/policy.json',
    });
    expect(() => loadAuditConfig({ RULE_SET_NAME: 'inbound', RULE_NAMES: 'ok,bad name' })).toThrow(/RULE_NAMES: not a comma-separated list of SES rule names/);
  });
});

describe('reading the active rule set from SES (the real client, SES Query protocol answers)', () => {
  let server: Server;
  let answer = '';
  let url = '';
  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'text/xml' });
        response.end(answer);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const client = () => new SESClient({ endpoint: url, region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const wrap = (result: string) =>
    `<DescribeActiveReceiptRuleSetResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><DescribeActiveReceiptRuleSetResult>${result}</DescribeActiveReceiptRuleSetResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeActiveReceiptRuleSetResponse>`;

  it('maps the rules, a rule without Enabled being disabled (SES: default false)', async () => {
    answer = wrap(
      '<Metadata><Name>inbound</Name><CreatedTimestamp>2026-11-30T10:00:00Z</CreatedTimestamp></Metadata><Rules>' +
        '<member><Name>archive</Name><Enabled>true</Enabled><Recipients><member>example.com</member><member>.example.com</member></Recipients><Actions/></member>' +
        '<member><Name>old</Name><Actions/></member></Rules>',
    );
    expect(await new SesRuleSetReader(client()).active(AbortSignal.timeout(5_000))).toEqual({
      name: 'inbound',
      rules: [
        { name: 'archive', enabled: true, recipients: ['example.com', '.example.com'] },
        { name: 'old', enabled: false, recipients: [] },
      ],
    });
  });

  it('reads no Metadata as no active rule set', async () => {
    answer = wrap('');
    expect(await new SesRuleSetReader(client()).active(AbortSignal.timeout(5_000))).toBeUndefined();
  });
});
