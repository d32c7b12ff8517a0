// `npm run chaos`: many seeded random schedules (with hangs) and the named scenarios against
// the whole pipeline, a line each, then the totals. A failure prints the seed that replays it:
//   node --import tsx test/chaos/run.ts --seed <seed> --schedules 1
import { fileURLToPath } from 'node:url';
import { failures } from './invariants.js';
import { chaosSeed, createRng } from './rng.js';
import { NAMED, randomScenario, runScenario, type Scenario, type ScenarioOutcome } from './scenarios.js';
import { startWorld } from './world.js';

export interface ChaosOptions {
  readonly schedules: number;
  readonly firstSeed: number;
  /** Include hangs (each costs a call timeout: slow). */
  readonly hangs: boolean;
  readonly named: boolean;
  readonly progress?: (line: string) => void;
}

export interface ChaosSummary {
  readonly schedules: number;
  readonly faults: number;
  readonly kills: number;
  readonly receipts: number;
  readonly stops: number;
  readonly sendBounceRequests: number;
  readonly duplicates: number;
  readonly stranded: number;
  readonly unjustifiedUnknown: number;
  /** UNKNOWN after a delivery process died between its claim and its request (allowed; counted apart). */
  readonly unknownWithoutRequest: number;
  readonly unknown: number;
  readonly deadLetteredEarly: number;
  /** Scenario name (seed) and what failed, for each failing one. */
  readonly failed: readonly { readonly name: string; readonly problems: readonly string[] }[];
  readonly ms: number;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const started = Date.now();
  const scenarios: Scenario[] = [
    ...(options.named ? NAMED : []),
    ...Array.from({ length: options.schedules }, (_, i) => randomScenario(createRng(options.firstSeed + i), { hangs: options.hangs })),
  ];
  const totals = { faults: 0, kills: 0, receipts: 0, stops: 0, sendBounceRequests: 0, duplicates: 0, stranded: 0, unjustifiedUnknown: 0, unknownWithoutRequest: 0, unknown: 0, deadLetteredEarly: 0 };
  const failed: { name: string; problems: string[] }[] = [];
  for (const [index, scenario] of scenarios.entries()) {
    let world: Awaited<ReturnType<typeof startWorld>> | undefined;
    let outcome: ScenarioOutcome | undefined;
    let problems: string[];
    try {
      world = await startWorld();
      outcome = await runScenario(scenario, world);
      problems = [...failures(outcome.verdict), ...outcome.unmet];
    } catch (error) {
      problems = [`the scenario itself failed: ${(error as Error).stack ?? String(error)}`];
    } finally {
      await world?.close();
    }
    if (outcome && world) {
      const { verdict } = outcome;
      totals.faults += outcome.injected;
      totals.kills += world.deliveries.filter((run) => run.killed).length + world.receipts.filter((r) => !r.outcome.ok).length;
      totals.receipts += world.receipts.length;
      totals.stops += verdict.counts.stops;
      totals.sendBounceRequests += world.sesRequests.length;
      totals.duplicates += verdict.duplicates.length;
      totals.stranded += verdict.stranded.length;
      totals.unjustifiedUnknown += verdict.unjustifiedUnknown.length;
      totals.unknownWithoutRequest += verdict.unknownWithoutRequest.length;
      totals.unknown += verdict.counts.unknown;
      totals.deadLetteredEarly += verdict.deadLetteredEarly.length;
    }
    if (problems.length > 0) failed.push({ name: scenario.name, problems });
    options.progress?.(
      `[${index + 1}/${scenarios.length}] ${scenario.name}: ${problems.length === 0 ? 'ok' : `FAILED\n    ${problems.join('\n    ')}`}` +
        (outcome ? ` (${outcome.injected} faults, ${outcome.verdict.counts.stops} STOP, ${outcome.verdict.counts.accepted} sent, ${outcome.verdict.counts.unknown} unknown, ${outcome.ms} ms)` : ''),
    );
  }
  return { schedules: scenarios.length, ...totals, failed, ms: Date.now() - started };
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const firstSeed = argument('seed') === undefined ? chaosSeed() : Number(argument('seed'));
  const hangs = process.argv.includes('--hangs');
  const summary = await runChaos({
    schedules: Number(argument('schedules') ?? 100),
    firstSeed,
    hangs,
    named: !process.argv.includes('--no-named'),
    progress: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(
    `\n${summary.schedules} schedules in ${(summary.ms / 1000).toFixed(0)} s (seeds ${firstSeed}…): ${summary.faults} faults injected, ${summary.kills} processes killed, ` +
      `${summary.receipts} receipt invocations (${summary.stops} STOP_RULE_SET), ${summary.sendBounceRequests} SendBounce requests.\n` +
      `duplicates ${summary.duplicates}, stranded ${summary.stranded}, UNKNOWN without a real doubt ${summary.unjustifiedUnknown}, ` +
      `dead-lettered early ${summary.deadLetteredEarly}; UNKNOWN ${summary.unknown} (of which after a kill before any request: ${summary.unknownWithoutRequest}).\n`,
  );
  if (summary.failed.length > 0) {
    // The same seed draws the same schedule only with the same --hangs (it widens the faults drawn from).
    process.stdout.write(`\n${summary.failed.length} failed: ${summary.failed.map((f) => f.name).join(', ')}\nReplay one: node --import tsx test/chaos/run.ts --no-named --schedules 1${hangs ? ' --hangs' : ''} --seed <seed>\n`);
    process.exit(1);
  }
}
