// CloudFormation custom resource: activates an SES receipt rule set and, on delete, gives the
// account back the rule set that was active before. Bundled by lib/rule-set-activation.ts.
import {
  DescribeActiveReceiptRuleSetCommand,
  SESClient,
  SetActiveReceiptRuleSetCommand,
} from '@aws-sdk/client-ses';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';

const PREFIX = 'ses-active-rule-set';

export interface ActivationState {
  /** The rule set this resource activated. */
  readonly ruleSet: string;
  /** The rule set that was active before ('' when none was). */
  readonly previous: string;
}

// SES rule set names are letters, digits, '.', '_' and '-', so ':' separates safely. The state
// lives in the physical id because a Delete event carries that, not the Create's response data.
export function physicalId(state: ActivationState): string {
  return `${PREFIX}:${state.ruleSet}:${state.previous}`;
}

export function parsePhysicalId(id: string | undefined): ActivationState | undefined {
  const parts = id?.split(':');
  if (parts?.length !== 3 || parts[0] !== PREFIX || !parts[1]) return undefined;
  return { ruleSet: parts[1], previous: parts[2] ?? '' };
}

export interface RuleSetApi {
  active(): Promise<string>;
  /** Activates `name`, or deactivates every rule set when `name` is ''. */
  activate(name: string): Promise<void>;
}

export function sesRuleSetApi(client: SESClient): RuleSetApi {
  return {
    async active() {
      const output = await client.send(new DescribeActiveReceiptRuleSetCommand({}));
      return output.Metadata?.Name ?? '';
    },
    async activate(name) {
      await client.send(new SetActiveReceiptRuleSetCommand(name ? { RuleSetName: name } : {}));
    },
  };
}

/** Does the work of one event and returns the physical id to report. */
export async function onEvent(event: CloudFormationCustomResourceEvent, api: RuleSetApi): Promise<string> {
  const ruleSet = String(event.ResourceProperties.RuleSetName ?? '');
  if (event.RequestType === 'Delete') {
    const state = parsePhysicalId(event.PhysicalResourceId);
    // A failed Create reports a placeholder id: there is nothing to undo.
    if (!state) return event.PhysicalResourceId;
    // Only undo our own activation: someone may have activated another set since.
    if ((await api.active()) !== state.ruleSet) return event.PhysicalResourceId;
    const restore = state.previous === state.ruleSet ? '' : state.previous;
    try {
      await api.activate(restore);
    } catch (error) {
      // The previous set is gone: leave no set active rather than fail the stack's deletion.
      if ((error as Error).name !== 'RuleSetDoesNotExistException' && (error as Error).name !== 'RuleSetDoesNotExist') throw error;
      await api.activate('');
    }
    return event.PhysicalResourceId;
  }
  if (!ruleSet) throw new Error('RuleSetName is required');
  const before = event.RequestType === 'Update' ? parsePhysicalId(event.PhysicalResourceId) : undefined;
  const previous = before?.previous ?? (await api.active());
  await api.activate(ruleSet);
  return physicalId({ ruleSet, previous: previous === ruleSet ? '' : previous });
}

async function respond(
  event: CloudFormationCustomResourceEvent,
  status: 'SUCCESS' | 'FAILED',
  physicalResourceId: string,
  reason?: string,
): Promise<void> {
  const body = JSON.stringify({
    Status: status,
    Reason: (reason ?? status).slice(0, 1000),
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: {},
  });
  const response = await fetch(event.ResponseURL, { method: 'PUT', headers: { 'content-type': '' }, body });
  if (!response.ok) throw new Error(`CloudFormation response failed: HTTP ${response.status}`);
}

const client = new SESClient({});

export async function handler(event: CloudFormationCustomResourceEvent, context: Context): Promise<void> {
  console.log(JSON.stringify({ RequestType: event.RequestType, PhysicalResourceId: 'PhysicalResourceId' in event ? event.PhysicalResourceId : undefined, RuleSetName: event.ResourceProperties.RuleSetName }));
  try {
    const id = await onEvent(event, sesRuleSetApi(client));
    await respond(event, 'SUCCESS', id);
  } catch (error) {
    console.error(error);
    const id = 'PhysicalResourceId' in event ? event.PhysicalResourceId : `${PREFIX}-failed-${context.awsRequestId}`;
    await respond(event, 'FAILED', id, `${(error as Error).name}: ${(error as Error).message}`);
  }
}
