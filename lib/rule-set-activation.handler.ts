// CloudFormation custom resource: makes an SES receipt rule set the active one, safely (README
// "Deploying"). SES has one active rule set per account and region; activating one stops every
// rule of the set that was active. So: never displace another active set unless told to; on
// delete, restore the previous set only if ours is still the active one; never switch receiving
// off because nothing was active before; and undo our own change if CloudFormation cannot be
// told about it. Bundled by lib/rule-set-activation.ts.
import { SesBouncerError } from '../lambda/core/errors.js';
import { DescribeActiveReceiptRuleSetCommand, SESClient, SetActiveReceiptRuleSetCommand } from '@aws-sdk/client-ses';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';

const PREFIX = 'ses-active-rule-set';

export interface ActivationState {
  /** The rule set this resource is about. */
  readonly ruleSet: string;
  /** The rule set that was active before ('' when none was). */
  readonly previous: string;
  /** Whether this resource activated it (false: it was active already, there is nothing to undo). */
  readonly activated: boolean;
}

// SES rule set names are letters, digits, '.', '_' and '-', so ':' separates safely. The state
// lives in the physical id because a Delete event carries that, not the Create's response data.
export function physicalId(state: ActivationState): string {
  return `${PREFIX}:${state.ruleSet}:${state.previous}:${state.activated ? 'activated' : 'was-active'}`;
}

export function parsePhysicalId(id: string | undefined): ActivationState | undefined {
  const parts = id?.split(':');
  if (parts?.length !== 4 || parts[0] !== PREFIX || !parts[1] || !['activated', 'was-active'].includes(parts[3]!)) return undefined;
  return { ruleSet: parts[1], previous: parts[2] ?? '', activated: parts[3] === 'activated' };
}

/** The two SES calls this resource makes. */
export interface RuleSetApi {
  /** The active rule set's name, '' when none is active. */
  active(): Promise<string>;
  /** Activates `name`, or deactivates every rule set when `name` is ''. */
  activate(name: string): Promise<void>;
}

function sesRuleSetApi(client: SESClient): RuleSetApi {
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

/** A refusal the stack's events should show as it is: no stack trace, the way out named. */
export class ActivationRefused extends SesBouncerError {
  override readonly name = 'ActivationRefused';
}

/** What one event did: the physical id to report, and how to undo it if the report cannot be made. */
export interface Outcome {
  readonly physicalResourceId: string;
  readonly undo?: () => Promise<void>;
}

/** Does the work of one event. `log` gets one line per decision. */
export async function onEvent(event: CloudFormationCustomResourceEvent, api: RuleSetApi, log: (line: string) => void = () => undefined): Promise<Outcome> {
  const ruleSet = String(event.ResourceProperties['RuleSetName'] ?? '');
  const displace = String(event.ResourceProperties['DisplaceActiveRuleSet'] ?? 'false') === 'true';
  if (event.RequestType === 'Delete') {
    await onDelete(parsePhysicalId(event.PhysicalResourceId), api, log);
    return { physicalResourceId: event.PhysicalResourceId };
  }
  if (!ruleSet) throw new ActivationRefused('RuleSetName is required');
  const before = event.RequestType === 'Update' ? parsePhysicalId(event.PhysicalResourceId) : undefined;
  const active = await api.active();
  if (active === ruleSet) {
    // Already active: keep what an earlier activation of ours knew, or record that nothing needs undoing.
    const state = before?.ruleSet === ruleSet ? before : { ruleSet, previous: ruleSet, activated: false };
    log(`rule set ${ruleSet} is the active one already: nothing to change`);
    return { physicalResourceId: physicalId(state) };
  }
  // If the active set is one we activated before (a rename), the set to restore later is still the one before it.
  const previous = before?.activated && before.ruleSet === active ? before.previous : active;
  // The deployment's own set, under its old name, is no one else's to protect: only if this
  // resource activated it. A set that was active before the stack (existingRuleSet) is the user's.
  const ours = before?.activated === true && before.ruleSet === active;
  if (active !== '' && !displace && !ours) {
    throw new ActivationRefused(
      `rule set ${active} is the account's active one; activating ${ruleSet} would stop every rule of ${active} from running. ` +
        `Add the rule to ${active} instead (existingRuleSet), or set displaceActiveRuleSet to activate ${ruleSet} anyway.`,
    );
  }
  try {
    await api.activate(ruleSet);
  } catch (error) {
    // SES may have made the change and lost the answer: put back what was active, so that a
    // failed event leaves nothing unrecorded (the FAILED answer carries no state to undo it by).
    await restore(api, active, log);
    throw error;
  }
  log(`activated rule set ${ruleSet}${active ? `, displacing ${active}` : ' (none was active)'}`);
  return {
    physicalResourceId: physicalId({ ruleSet, previous, activated: true }),
    undo: () => restore(api, active, log),
  };
}

/** Makes `name` the active set again ('' : none), saying so; a failure is logged and thrown, for the stack's events. */
async function restore(api: RuleSetApi, name: string, log: (line: string) => void): Promise<void> {
  try {
    await api.activate(name);
    log(`undone: rule set ${name || '(none)'} is active again`);
  } catch (error) {
    log(`could not make ${name || '(none)'} the active rule set again (${(error as Error).message}): check the account's active rule set`);
    throw error;
  }
}

async function onDelete(state: ActivationState | undefined, api: RuleSetApi, log: (line: string) => void): Promise<void> {
  // A failed Create reports a placeholder id: there is nothing to undo.
  if (!state) return;
  if (!state.activated) return log(`rule set ${state.ruleSet} was active before this stack: left as it is`);
  const active = await api.active();
  if (active !== state.ruleSet) return log(`rule set ${active || '(none)'} is active now, not ${state.ruleSet}: left as it is`);
  if (state.previous === '') {
    // Receiving was off before, but this set has carried the domain's mail since: switching it
    // off is for an operator to decide (the rule set cannot be deleted while it is active).
    return log(`no rule set was active before ${state.ruleSet}: it stays active; deactivate it yourself to stop receiving`);
  }
  try {
    await api.activate(state.previous);
    log(`restored rule set ${state.previous}`);
  } catch (error) {
    if ((error as Error).name !== 'RuleSetDoesNotExistException' && (error as Error).name !== 'RuleSetDoesNotExist') throw error;
    log(`the rule set active before, ${state.previous}, no longer exists: ${state.ruleSet} stays active`);
  }
}

/** Sends CloudFormation the result (the pre-signed S3 URL of the event), a few times before giving up. */
export type Respond = (event: CloudFormationCustomResourceEvent, body: string) => Promise<void>;

const putResponse: Respond = async (event, body) => {
  const response = await fetch(event.ResponseURL, { method: 'PUT', headers: { 'content-type': '' }, body, signal: AbortSignal.timeout(RESPONSE_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`CloudFormation response failed: HTTP ${response.status}`);
};

const RESPONSE_ATTEMPTS = 4;
const RESPONSE_TIMEOUT_MS = 10_000;
/** The SES client's bounds: attempts a call, and each attempt's connection and request timeouts. */
const SES_CALL = { maxAttempts: 3, connectionTimeoutMs: 2_000, requestTimeoutMs: 10_000 } as const;
/** SES calls an event makes at most: read the active set, activate, put the previous back. */
const SES_CALLS_PER_EVENT = 3;

/**
 * The longest one event can take, every call timing out to its last attempt (plus a second a
 * call for the SDK's backoff): the function's timeout must exceed it, or Lambda could stop it
 * between an activation and its answer or its undo (lib/rule-set-activation.ts).
 */
export const WORST_CASE_MS =
  SES_CALLS_PER_EVENT * (SES_CALL.maxAttempts * (SES_CALL.connectionTimeoutMs + SES_CALL.requestTimeoutMs) + 1_000) +
  RESPONSE_ATTEMPTS * RESPONSE_TIMEOUT_MS +
  Array.from({ length: RESPONSE_ATTEMPTS - 1 }, (_, i) => responseBackoffMs(i + 1)).reduce((a, b) => a + b, 0);

/** The wait after a failed answer to CloudFormation: 1 s, 2 s, 4 s. */
function responseBackoffMs(failedAttempt: number): number {
  return 1000 * 2 ** (failedAttempt - 1);
}

export interface HandlerDeps {
  readonly api: RuleSetApi;
  readonly respond?: Respond;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (line: string) => void;
}

export async function handle(event: CloudFormationCustomResourceEvent, context: Pick<Context, 'awsRequestId'>, deps: HandlerDeps): Promise<void> {
  const log = deps.log ?? ((line: string) => console.log(line));
  const sleep = deps.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const respond = deps.respond ?? putResponse;
  const body = (status: 'SUCCESS' | 'FAILED', physicalResourceId: string, reason?: string) =>
    JSON.stringify({
      Status: status,
      Reason: (reason ?? status).slice(0, 1000),
      PhysicalResourceId: physicalResourceId,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      Data: {},
    });
  let result: { body: string; undo?: () => Promise<void> };
  try {
    const outcome = await onEvent(event, deps.api, log);
    result = { body: body('SUCCESS', outcome.physicalResourceId), ...(outcome.undo && { undo: outcome.undo }) };
  } catch (error) {
    if (!(error instanceof ActivationRefused)) console.error(error);
    const id = 'PhysicalResourceId' in event ? event.PhysicalResourceId : `${PREFIX}-failed-${context.awsRequestId}`;
    result = { body: body('FAILED', id, `${(error as Error).name}: ${(error as Error).message}`) };
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await respond(event, result.body);
      return;
    } catch (error) {
      if (attempt < RESPONSE_ATTEMPTS) {
        await sleep(responseBackoffMs(attempt));
        continue;
      }
      // CloudFormation never learns of the activation, and the physical id recording the set to
      // restore is lost with the response: undo the change rather than leave it unrecorded.
      log(`cannot reach CloudFormation (${(error as Error).message}); undoing this change`);
      await result.undo?.();
      throw error;
    }
  }
}

const client = new SESClient({
  maxAttempts: SES_CALL.maxAttempts,
  requestHandler: { connectionTimeout: SES_CALL.connectionTimeoutMs, requestTimeout: SES_CALL.requestTimeoutMs, throwOnRequestTimeout: true },
});

export async function handler(event: CloudFormationCustomResourceEvent, context: Context): Promise<void> {
  const ruleSetName: unknown = event.ResourceProperties['RuleSetName'];
  console.log(JSON.stringify({ RequestType: event.RequestType, PhysicalResourceId: 'PhysicalResourceId' in event ? event.PhysicalResourceId : undefined, RuleSetName: ruleSetName }));
  await handle(event, context, { api: sesRuleSetApi(client) });
}
