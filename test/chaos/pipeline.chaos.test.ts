// The delivery promise under faults, end to end through the deployed handlers (quick mode:
// the named scenarios and a few random schedules; `npm run chaos` runs many more, with hangs).
// A failing random schedule is named by its seed; replay it alone (without hangs, as here):
// `node --import tsx test/chaos/run.ts --no-named --schedules 1 --seed <seed>`.
import { failures } from './invariants.js';
import { createRng } from './rng.js';
import { NAMED, randomScenario, runScenario, type Scenario } from './scenarios.js';
import { startWorld } from './world.js';

const RANDOM_SCHEDULES = Number(process.env['CHAOS_QUICK_SCHEDULES'] ?? 4);
const FIRST_SEED = Number(process.env['CHAOS_SEED'] ?? 20261130);

async function check(scenario: Scenario): Promise<void> {
  const world = await startWorld();
  try {
    const outcome = await runScenario(scenario, world);
    expect({ scenario: scenario.name, failures: [...failures(outcome.verdict), ...outcome.unmet] }).toEqual({ scenario: scenario.name, failures: [] });
  } finally {
    await world.close();
  }
}

describe('the delivery promise under faults', () => {
  for (const scenario of NAMED) {
    test(`${scenario.name}: ${scenario.description}`, () => check(scenario), 120_000);
  }
  for (let i = 0; i < RANDOM_SCHEDULES; i++) {
    const seed = FIRST_SEED + i;
    test(`random schedule, seed ${seed}`, () => check(randomScenario(createRng(seed), { hangs: false })), 120_000);
  }
});
