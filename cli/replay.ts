import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { CONTROL_RUNS } from '../lambda/core/text.js';
import { ExitCode, type CliIo } from './io.js';
import { expandPaths } from './decide.js';
import type { CompiledPolicy } from '../lambda/app/policy-loader.js';
import type { ReplayEvent, ReplayReport, ReplayRow } from '../local/pipeline.js';

export interface ReplayCommand {
  readonly policy: CompiledPolicy;
  readonly paths: readonly string[];
  readonly rate: number;
  readonly out: string;
}

/** `ses-bouncer replay`: the local pipeline over event files, then a table of what happened. */
export async function runReplay(command: ReplayCommand, io: CliIo): Promise<ExitCode> {
  const { events, unreadable } = readEvents(command.paths);
  for (const problem of unreadable) io.stderr(`ses-bouncer: ${problem}`);
  if (events.length === 0) {
    io.stderr('ses-bouncer: no event to replay');
    return ExitCode.Failed;
  }
  const { replay } = await import('../local/pipeline.js');
  io.stderr(`replaying ${events.length} event${events.length === 1 ? '' : 's'} through the local pipeline (dynalite, local SES at ${command.rate}/s, in-process FIFO queue)…`);
  const report = await replay({ policy: command.policy, events, rate: command.rate, outDir: command.out, progress: io.stderr });
  for (const line of renderTable(report.rows)) io.stdout(line);
  for (const { source, error } of report.invalid) io.stderr(`ses-bouncer: ${source}: ${error} (delivered untouched)`);
  io.stdout('');
  io.stdout(summary(report, command.out));
  return unreadable.length > 0 || report.invalid.length > 0 ? ExitCode.Failed : ExitCode.Ok;
}

function readEvents(paths: readonly string[]): { events: ReplayEvent[]; unreadable: string[] } {
  const events: ReplayEvent[] = [];
  const unreadable: string[] = [];
  for (const file of expandPaths(paths)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      unreadable.push(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      continue;
    }
    try {
      events.push({ source: basename(file), payload: JSON.parse(text) });
    } catch (error) {
      unreadable.push(`${file}: not valid JSON: ${(error as Error).message}`);
    }
  }
  return { events, unreadable };
}

const COLUMNS = ['EVENT', 'RECIPIENT', 'ACTION', 'RULE / GUARD', 'BOUNCE', 'DSN'] as const;
const MAX_CELL = 48;

function renderTable(rows: readonly ReplayRow[]): string[] {
  const cells = rows.map((row) => [row.source.replace(/\.json$/, ''), row.recipient, row.action, row.ruleOrGuard, row.bounce ?? '-', row.dsnPath ?? '-'].map(fit));
  const widths = COLUMNS.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)));
  const line = (values: readonly string[]) => values.map((value, column) => value.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(COLUMNS), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)];
}

/** One table cell: control characters shown as spaces (event content is hostile), long values shortened. */
function fit(value: string): string {
  const clean = value.replace(CONTROL_RUNS, ' ');
  return clean.length > MAX_CELL && !clean.includes('/') ? `${clean.slice(0, MAX_CELL - 1)}…` : clean;
}

function summary(report: ReplayReport, out: string): string {
  const count = (predicate: (row: ReplayRow) => boolean) => report.rows.filter(predicate).length;
  const bounced = count((row) => row.bounce !== undefined);
  const sent = count((row) => row.bounce === 'SENT');
  const refused = count((row) => row.action === 'refuse');
  const parts = [
    `${report.rows.length} recipients`,
    ...(refused > 0 ? [`${refused} refused at SMTP (550 5.1.1, no DSN)`] : []),
    `${count((row) => row.action === 'deliver')} delivered`,
    `${count((row) => row.action === 'drop')} dropped (${count((row) => row.action === 'drop' && row.guard !== undefined)} by a guard)`,
    `${bounced} bounced (${sent} sent in ${report.sesStats.accepted} SendBounce call${report.sesStats.accepted === 1 ? '' : 's'}, ${report.sesStats.throttled} throttled)`,
  ];
  return `${parts.join(', ')}. DSNs written to ${out}/.`;
}
