// `npm run bench`: runs every benchmark in one process, one after another, and rewrites
// BENCHMARKS.md with the command, the date and the figures. `--quick` (CI) only checks that the
// scripts still work and leaves BENCHMARKS.md alone.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { coldStartBench } from './coldstart.js';
import { decideBench } from './decide.js';
import { renderSection, type Bench } from './lib.js';
import { pipelineBench } from './pipeline.js';
import { refusalBench } from './refusal.js';

const BENCHES: readonly Bench[] = [coldStartBench, decideBench, pipelineBench, refusalBench];

const quick = process.argv.includes('--quick');
const sections: string[] = [];
for (const bench of BENCHES) {
  process.stderr.write(`bench: ${bench.name}…\n`);
  const section = await bench.run({ quick });
  sections.push(renderSection(section));
  process.stderr.write(`${renderSection(section)}\n`);
}

if (!quick) {
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node.js ${process.version}`;
  writeFileSync(
    'BENCHMARKS.md',
    `# Benchmarks

Reproduce with \`npm run bench\` (each script also runs alone: \`node --import tsx bench/NAME.ts\`).
Measured on ${new Date().toISOString().slice(0, 10)}, ${machine}. This machine is shared and noisy:
compare the figures of one run with each other (ratios, medians), not with another run's.

${sections.join('\n')}`,
  );
  process.stderr.write('bench: BENCHMARKS.md written\n');
}
