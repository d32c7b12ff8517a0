// The activation custom resource against a fake of SES that keeps real state (rule sets, the one
// active set, and SES's refusal to delete the active set): every path, through the handler as
// CloudFormation drives it.
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { handle, onEvent, parsePhysicalId, physicalId, type RuleSetApi } from '../../lib/rule-set-activation.handler.js';

/** SES's receipt rule sets, as far as activation can see them. */
class FakeSes implements RuleSetApi {
  constructor(
    public activeSet: string,
    readonly sets = new Set<string>(['ses-bouncer', 'old', 'other', 'mine']),
  ) {}
  async active() {
    return this.activeSet;
  }
  async activate(name: string) {
    if (name && !this.sets.has(name)) throw Object.assign(new Error(`Rule set does not exist: ${name}`), { name: 'RuleSetDoesNotExistException' });
    this.activeSet = name;
  }
  /** CloudFormation deleting a rule set: SES refuses while it is the active one. */
  deleteRuleSet(name: string) {
    if (this.activeSet === name) throw Object.assign(new Error(`Cannot delete active rule set: ${name}`), { name: 'CannotDeleteException' });
    this.sets.delete(name);
  }
}

/** SES that makes each activation but, once, loses its answer (a timeout after the request arrived). */
class LossySes extends FakeSes {
  #lost = false;
  override async activate(name: string) {
    await super.activate(name);
    if (!this.#lost) {
      this.#lost = true;
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    }
  }
}

const base = { ServiceToken: 'x', ResponseURL: 'https://example.invalid', StackId: 's', RequestId: 'r', LogicalResourceId: 'l', ResourceType: 'Custom::SesActiveReceiptRuleSet' };
const props = (name: string, displace = false) => ({ ServiceToken: 'x', RuleSetName: name, DisplaceActiveRuleSet: String(displace) });
const create = (name: string, displace = false) => ({ ...base, RequestType: 'Create', ResourceProperties: props(name, displace) }) as CloudFormationCustomResourceEvent;
const update = (name: string, id: string, displace = false) =>
  ({ ...base, RequestType: 'Update', PhysicalResourceId: id, ResourceProperties: props(name, displace), OldResourceProperties: { ServiceToken: 'x' } }) as CloudFormationCustomResourceEvent;
const remove = (name: string, id: string) => ({ ...base, RequestType: 'Delete', PhysicalResourceId: id, ResourceProperties: props(name) }) as CloudFormationCustomResourceEvent;

/** Runs the handler as Lambda would, collecting what it told CloudFormation. */
async function run(event: CloudFormationCustomResourceEvent, ses: FakeSes, respond: (e: unknown, body: string) => Promise<void> = async () => undefined) {
  const sent: { Status: string; Reason: string; PhysicalResourceId: string }[] = [];
  await handle(event, { awsRequestId: 'req' }, {
    api: ses,
    respond: async (e, body) => {
      await respond(e, body);
      sent.push(JSON.parse(body));
    },
    sleep: async () => undefined,
    log: () => undefined,
  });
  return sent[0]!;
}

test('the physical id carries the state a Delete needs', () => {
  for (const state of [
    { ruleSet: 'a.b_c-d', previous: '', activated: true },
    { ruleSet: 'x', previous: 'y', activated: true },
    { ruleSet: 'x', previous: 'x', activated: false },
  ]) {
    expect(parsePhysicalId(physicalId(state))).toEqual(state);
  }
  expect(parsePhysicalId('something-else')).toBeUndefined();
  expect(parsePhysicalId('ses-active-rule-set:x:y')).toBeUndefined(); // the old three-part form: nothing to undo
});

test('nothing active: Create activates; Delete leaves it active rather than switch receiving off', async () => {
  const ses = new FakeSes('');
  const created = await run(create('ses-bouncer'), ses);
  expect(created.Status).toBe('SUCCESS');
  expect(ses.activeSet).toBe('ses-bouncer');
  expect(await run(remove('ses-bouncer', created.PhysicalResourceId), ses)).toMatchObject({ Status: 'SUCCESS' });
  expect(ses.activeSet).toBe('ses-bouncer');
  // So CloudFormation cannot then delete the set: the operator decides about receiving.
  expect(() => ses.deleteRuleSet('ses-bouncer')).toThrow(/Cannot delete active rule set/);
});

test('another set active: Create refuses, names it and the way out, and changes nothing', async () => {
  const ses = new FakeSes('old');
  const created = await run(create('ses-bouncer'), ses);
  expect(created.Status).toBe('FAILED');
  expect(created.Reason).toMatch(/ActivationRefused: rule set old is the account's active one; activating ses-bouncer would stop every rule of old from running\. .*displaceActiveRuleSet/);
  expect(ses.activeSet).toBe('old');
  // CloudFormation's rollback deletes the failed resource: nothing to undo.
  expect(await run(remove('ses-bouncer', created.PhysicalResourceId), ses)).toMatchObject({ Status: 'SUCCESS' });
  expect(ses.activeSet).toBe('old');
});

test('another set active and displaceActiveRuleSet: Create activates; Delete restores it while ours is still active', async () => {
  const ses = new FakeSes('old');
  const created = await run(create('ses-bouncer', true), ses);
  expect(created.Status).toBe('SUCCESS');
  expect(ses.activeSet).toBe('ses-bouncer');
  expect(parsePhysicalId(created.PhysicalResourceId)).toEqual({ ruleSet: 'ses-bouncer', previous: 'old', activated: true });
  await run(remove('ses-bouncer', created.PhysicalResourceId), ses);
  expect(ses.activeSet).toBe('old');
  ses.deleteRuleSet('ses-bouncer');
});

test('someone activated another set since: Delete leaves it alone', async () => {
  const ses = new FakeSes('old');
  const created = await run(create('ses-bouncer', true), ses);
  await ses.activate('other');
  await run(remove('ses-bouncer', created.PhysicalResourceId), ses);
  expect(ses.activeSet).toBe('other');
});

test('an existing set that is already active: Create and Delete change nothing (no previous recorded as none)', async () => {
  const ses = new FakeSes('mine');
  const created = await run(create('mine'), ses);
  expect(created.Status).toBe('SUCCESS');
  expect(parsePhysicalId(created.PhysicalResourceId)).toEqual({ ruleSet: 'mine', previous: 'mine', activated: false });
  await run(remove('mine', created.PhysicalResourceId), ses);
  expect(ses.activeSet).toBe('mine');
});

test('the set active before has been deleted since: Delete keeps ours active rather than switch receiving off', async () => {
  const ses = new FakeSes('old');
  const created = await run(create('ses-bouncer', true), ses);
  ses.sets.delete('old');
  expect(await run(remove('ses-bouncer', created.PhysicalResourceId), ses)).toMatchObject({ Status: 'SUCCESS' });
  expect(ses.activeSet).toBe('ses-bouncer');
});

test('a rename (Update): the new set becomes active, the set to restore stays the one before ours', async () => {
  const ses = new FakeSes('old');
  const created = await run(create('ses-bouncer', true), ses);
  // Our own set is active, so renaming needs no displacing: it is ours.
  const updated = await run(update('other', created.PhysicalResourceId), ses);
  expect(updated.Status).toBe('SUCCESS');
  expect(ses.activeSet).toBe('other');
  expect(parsePhysicalId(updated.PhysicalResourceId)).toEqual({ ruleSet: 'other', previous: 'old', activated: true });
  // CloudFormation then deletes the old physical resource: ours is not the active one any more, nothing happens.
  await run(remove('ses-bouncer', created.PhysicalResourceId), ses);
  expect(ses.activeSet).toBe('other');
  await run(remove('other', updated.PhysicalResourceId), ses);
  expect(ses.activeSet).toBe('old');
});

test("renaming away from a set that was active before the stack (existingRuleSet) displaces it only when told to: it is the user's", async () => {
  const ses = new FakeSes('old');
  const created = await run(create('old'), ses);
  expect(parsePhysicalId(created.PhysicalResourceId)).toEqual({ ruleSet: 'old', previous: 'old', activated: false });
  const refused = await run(update('ses-bouncer', created.PhysicalResourceId), ses);
  expect(refused.Status).toBe('FAILED');
  expect(refused.Reason).toContain('rule set old is the account');
  expect(ses.activeSet).toBe('old');
  const displaced = await run(update('ses-bouncer', created.PhysicalResourceId, true), ses);
  expect(displaced.Status).toBe('SUCCESS');
  expect(parsePhysicalId(displaced.PhysicalResourceId)).toEqual({ ruleSet: 'ses-bouncer', previous: 'old', activated: true });
});

test('SES makes the change but its answer is lost: the previous set is put back, the event fails, and the rollback finds nothing to undo', async () => {
  const ses = new LossySes('old');
  const failed = await run(create('ses-bouncer', true), ses);
  expect(failed.Status).toBe('FAILED');
  expect(ses.activeSet).toBe('old');
  // CloudFormation rolls the failed Create back with a Delete of its placeholder id.
  expect((await run(remove('ses-bouncer', failed.PhysicalResourceId), ses)).Status).toBe('SUCCESS');
  expect(ses.activeSet).toBe('old');
  ses.deleteRuleSet('ses-bouncer');
});

test('an Update whose activation answer is lost puts the set before it back, so the rollback Update keeps what was recorded', async () => {
  const ses = new FakeSes('old');
  const created = await run(create('ses-bouncer', true), ses);
  const lossy = new LossySes('ses-bouncer', ses.sets);
  const failed = await run(update('other', created.PhysicalResourceId), lossy);
  expect(failed.Status).toBe('FAILED');
  expect(lossy.activeSet).toBe('ses-bouncer');
  const rolledBack = await run(update('ses-bouncer', created.PhysicalResourceId), lossy);
  expect(rolledBack.PhysicalResourceId).toBe(created.PhysicalResourceId);
  await run(remove('ses-bouncer', created.PhysicalResourceId), lossy);
  expect(lossy.activeSet).toBe('old');
});

test('an Update that changes nothing keeps the recorded state', async () => {
  const ses = new FakeSes('old');
  const created = await run(create('ses-bouncer', true), ses);
  const updated = await run(update('ses-bouncer', created.PhysicalResourceId, true), ses);
  expect(updated.PhysicalResourceId).toBe(created.PhysicalResourceId);
});

test('CloudFormation cannot be told: the activation is undone, so no unrecorded change is left behind', async () => {
  const ses = new FakeSes('old');
  let calls = 0;
  const unreachable = async () => {
    calls += 1;
    throw new Error('connect ETIMEDOUT');
  };
  await expect(run(create('ses-bouncer', true), ses, unreachable)).rejects.toThrow('ETIMEDOUT');
  expect(calls).toBe(4);
  expect(ses.activeSet).toBe('old');
});

test('CloudFormation answers on a retry: the activation stands', async () => {
  const ses = new FakeSes('');
  let calls = 0;
  const flaky = async () => {
    calls += 1;
    if (calls < 3) throw new Error('HTTP 503');
  };
  expect(await run(create('ses-bouncer'), ses, flaky)).toMatchObject({ Status: 'SUCCESS' });
  expect(ses.activeSet).toBe('ses-bouncer');
});

test('onEvent alone: a refusal is the typed error the handler reports without a stack trace', async () => {
  await expect(onEvent(create('ses-bouncer'), new FakeSes('old'))).rejects.toMatchObject({ name: 'ActivationRefused' });
});
