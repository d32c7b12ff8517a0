// `ses-bouncer serve-ses`: the local SES endpoint on its own, until SIGINT or SIGTERM.
import { SesBouncerError } from '../lambda/core/errors.js';
import { startSesEndpoint, type SesAnswer, type SesEndpoint } from './ses-endpoint.js';
import { printable, truncate } from './ses-protocol.js';

export interface ServeSesOptions {
  readonly port: number;
  readonly rate: number;
  readonly out: string;
}

export interface ServeSesIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Serves until SIGINT or SIGTERM, then closes and resolves. Accepted bounces are logged on
 * stdout, refused calls on stderr. Rejects with a one-line SesBouncerError when the port
 * cannot be bound or the output directory cannot be created.
 */
export async function serveSes(options: ServeSesOptions, io: ServeSesIo): Promise<void> {
  const endpoint = await start(options, io);
  io.stdout(`ses-bouncer local SES endpoint listening on ${endpoint.url} (SendBounce ≤ ${options.rate}/s, bounces written to ${options.out})`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (received: NodeJS.Signals) => {
      for (const name of STOP_SIGNALS) process.off(name, stop);
      resolve(received);
    };
    for (const name of STOP_SIGNALS) process.on(name, stop);
  });
  await endpoint.close();
  const { requests, accepted, throttled, invalid, faults } = endpoint.stats;
  io.stdout(`${signal}: stopped after ${requests} requests (${accepted} accepted, ${throttled} throttled, ${invalid} invalid, ${faults} faults)`);
}

async function start(options: ServeSesOptions, io: ServeSesIo): Promise<SesEndpoint> {
  try {
    return await startSesEndpoint({ port: options.port, ratePerSecond: options.rate, outDir: options.out, onAnswer: (answer) => logAnswer(answer, io) });
  } catch (error) {
    throw new SesBouncerError(startFailure(error as NodeJS.ErrnoException, options), { cause: error });
  }
}

function startFailure(error: NodeJS.ErrnoException, options: ServeSesOptions): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `port ${options.port} is already in use`;
    case 'EACCES':
      return error.syscall === 'listen' ? `no permission to listen on port ${options.port}` : `cannot create ${options.out}: permission denied`;
    default:
      return `cannot start the local SES endpoint: ${error.message}`;
  }
}

/** Recipients named in an accepted line; the rest are counted. */
const LOGGED_RECIPIENTS = 5;
/** No log line is longer, whatever the request held. */
const MAX_LOG_LINE = 2000;

/**
 * One bounded line per answer, control characters escaped: the action, ids and addresses come
 * from the client, and a line break in one would forge a log line of its own.
 */
function logAnswer(answer: SesAnswer, io: ServeSesIo): void {
  const { bounce, error, fault } = answer;
  if (bounce) {
    const addresses = bounce.request.BouncedRecipientInfoList.map((r) => r.Recipient);
    const more = addresses.length - LOGGED_RECIPIENTS;
    const recipients = addresses.slice(0, LOGGED_RECIPIENTS).join(', ') + (more > 0 ? ` and ${more} more` : '');
    const dropped = fault ? ' (scripted fault: connection dropped)' : '';
    io.stdout(logLine(`SendBounce ${bounce.request.OriginalMessageId} → ${recipients}: accepted as ${bounce.messageId}${bounce.emlPath ? `, wrote ${bounce.emlPath}` : ''}${dropped}`));
  } else if (error) {
    io.stderr(logLine(`${answer.action === undefined ? '(no action)' : truncate(answer.action)}: ${answer.httpStatus} ${error.code}: ${error.message}`));
  }
}

function logLine(text: string): string {
  return truncate(printable(text), MAX_LOG_LINE);
}
