// The activation custom resource's logic against an in-memory SES: activate, remember, restore.
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { onEvent, parsePhysicalId, physicalId, type RuleSetApi } from '../../lib/rule-set-activation.handler.js';

class FakeSes implements RuleSetApi {
  constructor(
    public activeSet: string,
    readonly existing = new Set<string>(['ses-bouncer', 'old', 'other']),
  ) {}
  async active() {
    return this.activeSet;
  }
  async activate(name: string) {
    if (name && !this.existing.has(name)) throw Object.assign(new Error(`Rule set does not exist: ${name}`), { name: 'RuleSetDoesNotExistException' });
    this.activeSet = name;
  }
}

const base = { ServiceToken: 'x', ResponseURL: 'https://example.invalid', StackId: 's', RequestId: 'r', LogicalResourceId: 'l', ResourceType: 'Custom::SesActiveReceiptRuleSet' };
const create = (name: string) => ({ ...base, RequestType: 'Create', ResourceProperties: { ServiceToken: 'x', RuleSetName: name } }) as CloudFormationCustomResourceEvent;
const update = (name: string, id: string) =>
  ({ ...base, RequestType: 'Update', PhysicalResourceId: id, ResourceProperties: { ServiceToken: 'x', RuleSetName: name }, OldResourceProperties: { ServiceToken: 'x' } }) as CloudFormationCustomResourceEvent;
const remove = (name: string, id: string) =>
  ({ ...base, RequestType: 'Delete', PhysicalResourceId: id, ResourceProperties: { ServiceToken: 'x', RuleSetName: name } }) as CloudFormationCustomResourceEvent;

test('physical id round trip', () => {
  expect(parsePhysicalId(physicalId({ ruleSet: 'a.b_c-d', previous: '' }))).toEqual({ ruleSet: 'a.b_c-d', previous: '' });
  expect(parsePhysicalId('something-else')).toBeUndefined();
});

test('create activates and remembers the previous set; delete restores it', async () => {
  const ses = new FakeSes('old');
  const id = await onEvent(create('ses-bouncer'), ses);
  expect(ses.activeSet).toBe('ses-bouncer');
  expect(parsePhysicalId(id)).toEqual({ ruleSet: 'ses-bouncer', previous: 'old' });
  await onEvent(remove('ses-bouncer', id), ses);
  expect(ses.activeSet).toBe('old');
});

test('no set active before: delete leaves none active', async () => {
  const ses = new FakeSes('');
  const id = await onEvent(create('ses-bouncer'), ses);
  await onEvent(remove('ses-bouncer', id), ses);
  expect(ses.activeSet).toBe('');
});

test('delete does nothing when another set was activated since', async () => {
  const ses = new FakeSes('old');
  const id = await onEvent(create('ses-bouncer'), ses);
  ses.activeSet = 'other';
  await onEvent(remove('ses-bouncer', id), ses);
  expect(ses.activeSet).toBe('other');
});

test('the previous set was deleted meanwhile: delete deactivates instead of failing', async () => {
  const ses = new FakeSes('old');
  const id = await onEvent(create('ses-bouncer'), ses);
  ses.existing.delete('old');
  await onEvent(remove('ses-bouncer', id), ses);
  expect(ses.activeSet).toBe('');
});

test('update to another set keeps the original previous set; the old resource delete is a no-op', async () => {
  const ses = new FakeSes('old');
  const first = await onEvent(create('ses-bouncer'), ses);
  const second = await onEvent(update('other', first), ses);
  expect(ses.activeSet).toBe('other');
  expect(parsePhysicalId(second)).toEqual({ ruleSet: 'other', previous: 'old' });
  await onEvent(remove('ses-bouncer', first), ses); // CloudFormation's cleanup of the replaced id
  expect(ses.activeSet).toBe('other');
  await onEvent(remove('other', second), ses);
  expect(ses.activeSet).toBe('old');
});

test('a failed create leaves nothing to undo', async () => {
  const ses = new FakeSes('old');
  await onEvent(remove('ses-bouncer', 'ses-active-rule-set-failed-123'), ses);
  expect(ses.activeSet).toBe('old');
});
