import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadPolicyOrReport, runCheck } from './check.js';
import { runDecide } from './decide.js';
import { SesBouncerError } from '../lambda/core/errors.js';
import { ISO_DATE_TIME_WITH_ZONE } from '../lambda/core/text.js';
import { ExitCode, UsageError, type CliIo } from './io.js';

/** replay's defaults: the examples of a checkout (`npm start`). */
const REPLAY_EXAMPLES = { policy: 'examples/policy.yaml', events: 'examples/events' } as const;

const USAGE = `ses-bouncer — bounce unwanted inbound mail on Amazon SES, safely.

Usage:
  ses-bouncer check [--recipients R,R...] POLICY
      Validate a policy file (YAML or JSON). Exit 0 with a summary, or exit 2 with one
      "path: message" line per problem. With accept, also say what it compiles to (receipt
      rule recipients and rules, at SES's quotas). With the receipt rule's recipients
      (addresses, domains, .subdomains; or those accept compiles to), also warn about rules
      that name addresses SES would never pass to the function.
  ses-bouncer decide --policy POLICY [--now ISO] EVENT.json...
      Decide SES receipt events offline (no AWS, no network): one JSON line per record.
      --now fixes the clock for the 24 h bounce window. Exit 1 if a record or file could
      not be decided (it prints {"error": ...} in its place), 2 for an invalid policy.
  ses-bouncer replay [--policy examples/policy.yaml] [--rate 1] [--out out/bounces] [EVENT_OR_DIR...]
      Run the whole pipeline on this machine, no AWS account: dynalite, the local SES
      endpoint and an in-process FIFO queue around the real handlers. Events default to
      examples/events; their timestamps are shifted together so the newest is a minute old.
      (The defaults are a checkout's examples: elsewhere, name a policy and events.)
      Prints a table of decisions and bounces; the DSNs are written as .eml files to --out.
      With accept, SES's refusal is played first: a recipient outside it shows as refused
      (550 5.1.1, no DSN), and a message with none left never reaches the function.
  ses-bouncer serve-ses [--port 4579] [--rate 1] [--out out/bounces]
      Run a local SES endpoint (SendBounce, SES Query protocol) for testing without AWS.
  ses-bouncer --help
      This text.

Exit codes: 0 success, 1 some input could not be processed, 2 usage error or invalid policy.`;

type Command = (args: string[], io: CliIo) => Promise<ExitCode> | ExitCode;

const COMMANDS: Record<string, Command> = {
  check: (args, io) => {
    const { values, positionals } = parse(args, { recipients: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('check takes exactly one policy file');
    const recipients = values.recipients?.split(',').map((r) => r.trim()).filter((r) => r !== '');
    if (recipients !== undefined && recipients.length === 0) throw new UsageError('--recipients needs at least one address, domain or .subdomain');
    return runCheck(positionals[0]!, io, recipients);
  },
  decide: (args, io) => {
    const { values, positionals } = parse(args, { policy: { type: 'string' }, now: { type: 'string' } });
    if (values.policy === undefined) throw new UsageError('decide needs --policy POLICY');
    if (positionals.length === 0) throw new UsageError('decide needs at least one EVENT.json');
    const now = values.now === undefined ? new Date() : parseNow(values.now);
    const policy = loadPolicyOrReport(values.policy, io.stderr);
    if (policy === undefined) return ExitCode.Usage;
    return runDecide(policy, positionals, now, io);
  },
  replay: async (args, io) => {
    const { values, positionals } = parse(args, { policy: { type: 'string' }, rate: { type: 'string' }, out: { type: 'string' } });
    const rate = positiveNumber('--rate', values.rate ?? '1', false);
    // The repository's examples, where a checkout has them; an installed package does not ship them.
    for (const [given, fallback, what] of [[values.policy, REPLAY_EXAMPLES.policy, '--policy POLICY'], [positionals[0], REPLAY_EXAMPLES.events, 'EVENT_OR_DIR']] as const) {
      if (given === undefined && !existsSync(fallback)) throw new UsageError(`replay needs ${what}: its default, ${fallback}, is an example of a checkout of ses-bouncer and is not here`);
    }
    const policy = loadPolicyOrReport(values.policy ?? REPLAY_EXAMPLES.policy, io.stderr);
    if (policy === undefined) return ExitCode.Usage;
    const { runReplay } = await import('./replay.js');
    return runReplay({ policy, paths: positionals.length > 0 ? positionals : [REPLAY_EXAMPLES.events], rate, out: values.out ?? 'out/bounces' }, io);
  },
  'serve-ses': async (args, io) => {
    const { values, positionals } = parse(args, { port: { type: 'string' }, rate: { type: 'string' }, out: { type: 'string' } });
    if (positionals.length > 0) throw new UsageError(`serve-ses takes no arguments, got "${positionals[0]}"`);
    const port = positiveNumber('--port', values.port ?? '4579', true);
    const rate = positiveNumber('--rate', values.rate ?? '1', false);
    const { serveSes } = await import('../local/serve-ses.js');
    await serveSes({ port, rate, out: values.out ?? 'out/bounces' }, io);
    return ExitCode.Ok;
  },
};

/** Runs the CLI; returns the exit code. Only a bug escapes as an exception. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(USAGE);
    return ExitCode.Ok;
  }
  const command = COMMANDS[name];
  try {
    if (command === undefined) throw new UsageError(`unknown command "${name}"`);
    if (args.includes('--help') || args.includes('-h')) {
      io.stdout(USAGE);
      return ExitCode.Ok;
    }
    return await command(args, io);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.stderr(`ses-bouncer: ${(error as Error).message}`);
      io.stderr('Run "ses-bouncer --help" for usage.');
      return ExitCode.Usage;
    }
    if (error instanceof SesBouncerError) {
      // A problem with the user's environment or input (a port in use, an unreadable file): one line.
      io.stderr(`ses-bouncer: ${error.message}`);
      return ExitCode.Failed;
    }
    throw error;
  }
}

function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(args: string[], options: T) {
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/** ISO 8601 with a zone (`2026-11-24T09:20:00Z`, `…+01:00`), so the answer never depends on the machine's time zone. */
function parseNow(value: string): Date {
  const time = Date.parse(value);
  if (!ISO_DATE_TIME_WITH_ZONE.test(value) || Number.isNaN(time)) throw new UsageError(`--now: "${value}" is not an ISO 8601 date-time with a zone (e.g. 2026-11-24T09:20:00Z)`);
  return new Date(time);
}


function positiveNumber(flag: string, value: string, integer: boolean): number {
  const number = Number(value);
  const valid = value.trim() !== '' && Number.isFinite(number) && (integer ? Number.isInteger(number) && number >= 0 && number < 65536 : number > 0);
  if (!valid) throw new UsageError(`${flag}: "${value}" is not a ${integer ? 'port number' : 'positive number'}`);
  return number;
}
