// The delivery promise (docs/delivery.md), judged from outside after a scenario: what SES
// accepted (its own log), what the receipt function answered SES, what reached the network,
// and where the ledger ended.
import type { World } from './world.js';

/** Where a bounce may end; anything else after the faults stopped and the queue drained is stranded. */
const FINAL = new Set(['SENT', 'REJECTED', 'EXPIRED', 'UNKNOWN']);
/** Faults after which the function saw no clean answer to a SendBounce it sent. */
const NO_CLEAN_ANSWER = new Set(['dropRequest', 'dropAnswer', 'stallBody', 'hang', 'hangAfterForward']);
/** The delivery function's own attempts before it dead-letters a job (lambda/app/deliver.ts). */
const OWN_ATTEMPTS = 5;

export interface Verdict {
  /** (message, recipient) pairs SES accepted more than once: promise 1. */
  readonly duplicates: string[];
  /** Recipients of a message answered STOP_RULE_SET that did not reach a final state: promise 2. */
  readonly stranded: string[];
  /** UNKNOWN with no SendBounce for it that went unanswered and no delivery process that died holding it: promise 3. */
  readonly unjustifiedUnknown: string[];
  /** A SENDING record's process was killed before it sent: UNKNOWN with no request at all (allowed, reported). */
  readonly unknownWithoutRequest: string[];
  /** Jobs in the dead-letter queue whose own attempts were not spent: promise 5. */
  readonly deadLetteredEarly: string[];
  readonly counts: { readonly stops: number; readonly accepted: number; readonly unknown: number; readonly deadLettered: number };
}

export function failures(verdict: Verdict): string[] {
  return [
    ...verdict.duplicates.map((key) => `sent twice: ${key}`),
    ...verdict.stranded.map((key) => `stranded: ${key}`),
    ...verdict.unjustifiedUnknown.map((key) => `UNKNOWN without a real doubt: ${key}`),
    ...verdict.deadLetteredEarly.map((key) => `dead-lettered before its own attempts were spent: ${key}`),
  ];
}

export async function judge(world: World): Promise<Verdict> {
  await Promise.all([world.proxies.dynamodb, world.proxies.sqs, ...world.proxies.ses].map((proxy) => proxy.settled()));
  const accepted = new Map<string, number>();
  for (const bounce of world.ses.accepted) {
    for (const info of bounce.request.BouncedRecipientInfoList) {
      const key = `${bounce.request.OriginalMessageId} ${info.Recipient.toLowerCase()}`;
      accepted.set(key, (accepted.get(key) ?? 0) + 1);
    }
  }
  const ledger = await world.ledger();
  const deadLetters = world.deadLetters();

  const stopped = new Set<string>();
  for (const answer of world.receipts) {
    if (!answer.outcome.ok || (answer.outcome.result as { disposition?: string } | undefined)?.disposition !== 'STOP_RULE_SET') continue;
    for (const recipient of answer.recipients) stopped.add(`${answer.messageId} ${recipient.trim().toLowerCase()}`);
  }
  const stranded = [...stopped].filter((key) => {
    const item = ledger.get(key);
    if (item !== undefined && FINAL.has(item.state)) return false;
    // Parked after its own attempts: allowed, and checked below.
    const messageId = key.split(' ')[0]!;
    return !(deadLetters.includes(messageId) && item !== undefined && item.attempts >= OWN_ATTEMPTS);
  });

  const unjustifiedUnknown: string[] = [];
  const unknownWithoutRequest: string[] = [];
  for (const [key, item] of ledger) {
    if (item.state !== 'UNKNOWN') continue;
    const [messageId, recipient] = key.split(' ') as [string, string];
    const requests = world.sesRequests.filter((request) => request.messageId === messageId && request.recipients.includes(recipient));
    if (requests.some((request) => NO_CLEAN_ANSWER.has(request.fault) || request.killedInFlight)) continue;
    const diedHoldingIt = world.deliveries.some((run) => run.killed && run.messageIds.includes(messageId));
    if (requests.length === 0 && diedHoldingIt) unknownWithoutRequest.push(key);
    else unjustifiedUnknown.push(key);
  }

  const deadLetteredEarly = deadLetters.filter((messageId) => {
    const items = [...ledger].filter(([key]) => key.startsWith(`${messageId} `)).map(([, item]) => item);
    return !items.some((item) => item.attempts >= OWN_ATTEMPTS);
  });

  return {
    duplicates: [...accepted].filter(([, count]) => count > 1).map(([key, count]) => `${key} (${count}×)`),
    stranded,
    unjustifiedUnknown,
    unknownWithoutRequest,
    deadLetteredEarly,
    counts: {
      stops: world.receipts.filter((r) => r.outcome.ok && (r.outcome.result as { disposition?: string })?.disposition === 'STOP_RULE_SET').length,
      accepted: world.ses.accepted.length,
      unknown: [...ledger.values()].filter((item) => item.state === 'UNKNOWN').length,
      deadLettered: deadLetters.length,
    },
  };
}
