// Fault schedules for the whole pipeline (world.ts): one named scenario for each way the
// delivery promise was seen to break, and seeded random schedules mixing every fault, kill,
// duplicate and overlap. Each ends by stopping the faults and draining the queue, so that the
// invariants can be judged.
import type { FaultChooser, Fault, FaultRequestInfo } from './fault-proxy.js';
import { judge, type Verdict } from './invariants.js';
import type { Rng } from './rng.js';
import type { World } from './world.js';

export interface Scenario {
  readonly name: string;
  /** What it reproduces, and what must hold. */
  readonly description: string;
  run(world: World): Promise<void>;
  /**
   * What else must hold, beyond the invariants, so that the scenario cannot pass by doing
   * nothing (no STOP answered, nothing sent): the problems found, none when it holds.
   */
  expect?(world: World, verdict: Verdict): Promise<string[]> | string[];
}

/** Problems when a count is not what the scenario must produce. */
function counts(verdict: Verdict, wanted: Partial<Verdict['counts']>): string[] {
  return Object.entries(wanted)
    .filter(([key, value]) => verdict.counts[key as keyof Verdict['counts']] !== value)
    .map(([key, value]) => `${key}: expected ${value}, got ${verdict.counts[key as keyof Verdict['counts']]}`);
}

/** Problems when a ledger record is not in `state`. */
async function states(world: World, state: string): Promise<string[]> {
  return [...(await world.ledger())].filter(([, item]) => item.state !== state).map(([key, item]) => `${key}: ${item.state}, expected ${state}`);
}

/** Lets a delivery delay and every visibility timeout pass. */
function later(world: World): void {
  world.advance((world.timing.deliveryDelaySeconds + world.timing.visibilityTimeoutSeconds) * 1000 + 1000);
}

/** The first time each distinct write reaches DynamoDB, its answer is lost; the SDK's retry of the same request goes through. */
function loseFirstAnswerOfEachWrite(): FaultChooser {
  const seen = new Set<string>();
  return ({ operation, body }: FaultRequestInfo): Fault => {
    if (!['PutItem', 'UpdateItem', 'DeleteItem'].includes(operation) || seen.has(body)) return 'pass';
    seen.add(body);
    return 'dropAnswer';
  };
}

export const NAMED: readonly Scenario[] = [
  {
    name: 'sent-twice',
    description: 'SES accepts a SendBounce and its 200 answer is cut off mid-body: sent once, recorded SENT',
    async run(world) {
      world.setFaults({ ses: (info) => (info.operation === 'SendBounce' && world.sesRequests.length === 0 ? 'cutBody' : 'pass') });
      await world.receive(world.event(['ghost@example.com']));
      later(world);
      await world.poll();
      await world.drain();
    },
    expect: async (world, verdict) => [...counts(verdict, { stops: 1, accepted: 1 }), ...(await states(world, 'SENT'))],
  },
  {
    name: 'lost-write-answers',
    description: 'every DynamoDB write reaches DynamoDB and its first answer is lost (the SDK retries it): nothing stranded, nothing given up',
    async run(world) {
      world.setFaults({ dynamodb: loseFirstAnswerOfEachWrite() });
      const event = world.event(['ghost@example.com', 'phantom@example.com']);
      await world.receive(event);
      await world.receive(event, 1); // SES invokes again
      later(world);
      await world.poll();
      later(world);
      await world.poll();
      await world.drain();
    },
    expect: async (world, verdict) => [...counts(verdict, { stops: 2, accepted: 1 }), ...(await states(world, 'SENT'))],
  },
  {
    name: 'hung-queue',
    description: 'SQS accepts the receipt function\'s connections and never answers: it still answers SES in time (CONTINUE), and SES\'s next invocation bounces',
    async run(world) {
      let hung = true;
      world.setFaults({ sqs: (info) => (hung && info.operation === 'SendMessage' ? 'hang' : 'pass') });
      const event = world.event(['ghost@example.com']);
      await world.receive(event);
      hung = false;
      await world.receive(event);
      later(world);
      await world.drain();
    },
    expect: async (world, verdict) => {
      const [first] = world.receipts;
      const outcome = first?.outcome;
      const answered = outcome?.ok ? (outcome.result as { disposition?: string }).disposition : `no answer (${outcome?.reason ?? 'not invoked'})`;
      return [
        ...(answered === 'CONTINUE' ? [] : [`the receipt behind the hung queue answered ${answered}, expected CONTINUE in time`]),
        ...counts(verdict, { stops: 1, accepted: 1 }),
      ];
    },
  },
  {
    name: 'phantom-receive',
    description: 'SQS counts a receive that no invocation ever saw (a throttled or failed-init function): the bounce is sent, not given up',
    async run(world) {
      await world.receive(world.event(['ghost@example.com']));
      later(world);
      await world.poll({ phantom: true });
      later(world);
      await world.drain();
    },
    expect: async (world, verdict) => [...counts(verdict, { stops: 1, accepted: 1, unknown: 0 }), ...(await states(world, 'SENT'))],
  },
  {
    name: 'throttling-episode',
    description: 'SES throttles every SendBounce for 30 minutes: the jobs wait, none is dead-lettered for its neighbour, all are sent after',
    async run(world) {
      for (const name of ['a', 'b', 'c']) await world.receive(world.event([`${name}@example.com`]));
      world.setFaults({ ses: () => 'throttle' });
      later(world);
      const episodeEnds = world.clock.now() + 30 * 60_000;
      while (world.clock.now() < episodeEnds) {
        await world.poll();
        world.advance(world.timing.visibilityTimeoutSeconds * 1000);
      }
      await world.drain();
    },
    expect: async (world, verdict) => [...counts(verdict, { stops: 3, accepted: 3, deadLettered: 0 }), ...(await states(world, 'SENT'))],
  },
  {
    name: 'killed-mid-send',
    description: 'the delivery process dies right after its SendBounce left: UNKNOWN, never sent again',
    async run(world) {
      world.setFaults({
        ses: (info) => {
          if (info.operation === 'SendBounce' && world.sesRequests.length === 0) setImmediate(() => world.killDelivery(0));
          return 'pass';
        },
      });
      await world.receive(world.event(['ghost@example.com']));
      later(world);
      await world.poll().catch(() => undefined);
      await world.drain();
    },
    expect: async (world, verdict) => [...counts(verdict, { stops: 1, accepted: 1, unknown: 1 })],
  },
  {
    name: 'ledger-down-after-send',
    description: 'DynamoDB fails every write once SES has accepted the bounce: the outcome travels with the job and is recorded SENT later, not UNKNOWN',
    async run(world) {
      world.setFaults({
        dynamodb: (info) => (world.ses.accepted.length > 0 && ['UpdateItem', 'PutItem'].includes(info.operation) ? 'error500' : 'pass'),
      });
      await world.receive(world.event(['ghost@example.com']));
      later(world);
      await world.poll();
      world.setFaults({});
      await world.drain();
    },
    expect: async (world, verdict) => [...counts(verdict, { stops: 1, accepted: 1, unknown: 0 }), ...(await states(world, 'SENT'))],
  },
  {
    name: 'overlapping-deliveries',
    description: 'a job is redelivered while its first invocation still runs (visibility expired): one send',
    async run(world) {
      // A slow SES answer keeps the first invocation busy while the job becomes visible again.
      world.setFaults({ ses: (info) => (info.operation === 'SendBounce' && world.sesRequests.length === 1 ? 'hangAfterForward' : 'pass') });
      await world.receive(world.event(['ghost@example.com', 'phantom@example.com']));
      later(world);
      const first = world.poll({ which: 0 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      world.advance(world.timing.visibilityTimeoutSeconds * 1000 + 1000);
      await world.poll({ which: 1 });
      await first;
      await world.drain();
    },
    expect: (_world, verdict) => counts(verdict, { stops: 1, accepted: 1 }),
  },
];

const QUICK_FAULTS: readonly Fault[] = ['dropRequest', 'dropAnswer', 'cutBody', 'error500', 'throttle'];
const SLOW_FAULTS: readonly Fault[] = ['hang', 'hangAfterForward', 'stallBody'];

export interface RandomOptions {
  /** Include faults that cost the full call timeout (hang, stallBody): seconds each. */
  readonly hangs: boolean;
}

/** A seeded random schedule: messages, duplicate and concurrent receipts, polls (some phantom, some killed), random faults everywhere; then healing. */
export function randomScenario(rng: Rng, options: RandomOptions): Scenario {
  return {
    name: `random seed ${rng.seed}`,
    description: 'random faults, kills, duplicates and overlaps',
    async run(world) {
      const p = 0.1 + rng.next() * 0.3;
      const faults = [...QUICK_FAULTS, ...(options.hangs ? SLOW_FAULTS : [])];
      const chooser: FaultChooser = () => (rng.chance(p) ? rng.pick(faults) : 'pass');
      world.setFaults({ dynamodb: chooser, sqs: chooser, ses: chooser });
      const messages = 2 + rng.int(4);
      const pool = ['a', 'b', 'c', 'd', 'e'];
      for (let m = 0; m < messages; m++) {
        const recipients = rng.shuffle(pool).slice(0, 1 + rng.int(3)).map((name) => `${name}@example.com`);
        const event = world.event(recipients);
        const kill = () => (rng.chance(0.15) ? rng.int(300) : undefined);
        if (rng.chance(0.25)) {
          // SES invokes twice at once (two containers).
          await Promise.all([world.receive(event, 0, kill()), world.receive(event, 1, kill())]);
        } else {
          await world.receive(event, 0, kill());
          if (rng.chance(0.2)) await world.receive(event, 1, kill());
        }
        if (rng.chance(0.5)) await pollSomehow(world, rng);
      }
      for (let i = 2 + rng.int(3); i > 0; i--) await pollSomehow(world, rng);
      await world.drain();
    },
  };
}

async function pollSomehow(world: World, rng: Rng): Promise<void> {
  later(world);
  if (rng.chance(0.15)) {
    // The same jobs in two invocations at once: the visibility timeout passes while the first runs.
    const first = world.poll({ which: 0 }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, rng.int(200)));
    world.advance(world.timing.visibilityTimeoutSeconds * 1000 + 1000);
    await Promise.all([first, world.poll({ which: 1 }).catch(() => undefined)]);
    return;
  }
  await world
    .poll({ which: rng.int(2) as 0 | 1, phantom: rng.chance(0.15), ...(rng.chance(0.2) ? { killAfterMs: rng.int(400) } : {}) })
    .catch(() => undefined);
}

export interface ScenarioOutcome {
  readonly scenario: Scenario;
  readonly verdict: Verdict;
  /** The scenario's own expectations that failed. */
  readonly unmet: readonly string[];
  readonly injected: number;
  readonly ms: number;
}

export async function runScenario(scenario: Scenario, world: World): Promise<ScenarioOutcome> {
  const started = Date.now();
  await scenario.run(world);
  const verdict = await judge(world);
  const unmet = (await scenario.expect?.(world, verdict)) ?? [];
  return { scenario, verdict, unmet, injected: world.injected.dynamodb + world.injected.sqs + world.injected.ses, ms: Date.now() - started };
}
