import { performance } from 'node:perf_hooks';

// Benchmarks talk to local engines only; keep the SDK's Node.js 20 notice out of their output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** A section of BENCHMARKS.md: a heading, a sentence on method, a table, notes. */
export interface BenchSection {
  readonly title: string;
  readonly method: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly notes?: readonly string[];
}

export interface Bench {
  readonly name: string;
  /** quick: fewer repetitions, for CI to keep the script working, not for the figures. */
  run(options: { quick: boolean }): Promise<BenchSection>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Milliseconds of each of `runs` calls, after one warm-up call. */
export function timeRuns(runs: number, fn: () => void): number[] {
  fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    fn();
    times.push(performance.now() - started);
  }
  return times;
}

export function renderSection(section: BenchSection): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [
    `## ${section.title}`,
    '',
    section.method,
    '',
    line(section.header),
    line(section.header.map(() => '---')),
    ...section.rows.map(line),
    ...(section.notes?.length ? ['', ...section.notes.map((note) => `- ${note}`)] : []),
    '',
  ].join('\n');
}

export const fmt = {
  ms: (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(0)} ms`,
  int: (value: number) => Math.round(value).toLocaleString('en-US'),
  ratio: (value: number) => `${value.toFixed(value < 10 ? 2 : 0)}×`,
  mb: (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`,
  kb: (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`,
};

/** Runs a bench on its own when its file is the entry point: `node --import tsx bench/x.ts [--quick]`. */
export async function runAlone(bench: Bench, moduleUrl: string): Promise<void> {
  if (process.argv[1] === undefined || !moduleUrl.endsWith(process.argv[1].replace(/^.*\/bench\//, '/bench/'))) return;
  const section = await bench.run({ quick: process.argv.includes('--quick') });
  process.stdout.write(renderSection(section));
}
