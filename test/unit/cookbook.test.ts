// The README's policy cookbook: every example is a valid policy that decides as the text says.
import { readFileSync } from 'node:fs';
import { decide } from '../../lambda/core/decide.js';
import { parsePolicy, type CompiledPolicy } from '../../lambda/app/policy-loader.js';
import { record, SOON_AFTER, type RecordOptions } from '../support/events.js';

const readme = readFileSync('README.md', 'utf8');

function example(name: string): CompiledPolicy {
  const match = new RegExp(`<!-- cookbook:${name} -->\\s*\`\`\`yaml\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!match) throw new Error(`README has no cookbook example "${name}"`);
  return parsePolicy(match[1]!, { fileName: `README cookbook ${name}` });
}

function decision(name: string, options: RecordOptions) {
  return decide(record(options), example(name), SOON_AFTER);
}

describe('the README policy cookbook', () => {
  it('has exactly the documented examples', () => {
    expect([...readme.matchAll(/<!-- cookbook:([\w-]+) -->/g)].map((m) => m[1])).toEqual([
      'unknown-recipients',
      'refuse-at-smtp',
      'retired-domain',
      'blocked-senders',
      'full-mailbox',
      'dry-run',
    ]);
  });

  it('unknown recipients: mailboxes (and their tags) are delivered, the rest of the domain bounces 550 5.1.1', () => {
    const result = decision('unknown-recipients', { recipients: ['alice+news@example.com', 'ci@build.eng.example.com', 'ghost@example.com', 'x@other.example'] });
    expect(result.recipients.map((r) => `${r.action}:${r.rule}`)).toEqual(['deliver:mailboxes', 'deliver:mailboxes', 'bounce:unknown-mailbox', 'deliver:null']);
    expect(result.sendBounce!.BouncedRecipientInfoList[0]!.RecipientDsnFields.DiagnosticCode).toMatch(/^smtp; 550 5\.1\.1 /);
  });

  it('refuse unknown mailboxes at SMTP time: outside accept is refused (550 5.1.1, no SendBounce), mailboxes and their tags delivered', () => {
    const result = decision('refuse-at-smtp', { recipients: ['alice+news@example.com', 'ci@build.eng.example.com', 'ghost@example.com', 'x@other.example'] });
    expect(result.recipients.map((r) => `${r.action}:${r.rule}`)).toEqual(['deliver:null', 'deliver:null', 'refuse:null', 'refuse:null']);
    expect(result.recipients[2]).toMatchObject({ status: '5.1.1' });
    expect(result.sendBounce).toBeNull();
    expect(example('refuse-at-smtp').accept!.ruleRecipients).toEqual(['alice@example.com', 'bob@example.com', '.eng.example.com']);
  });

  it('a retired domain: the domain and its subdomains bounce with the explanation', () => {
    const result = decision('retired-domain', { recipients: ['dave@old.example.com', 'eve@eu.old.example.com', 'frank@example.com'] });
    expect(result.recipients.map((r) => r.action)).toEqual(['bounce', 'bounce', 'deliver']);
    expect(result.sendBounce!.Explanation).toBe('old.example.com was retired; please write to the same name at example.com.');
  });

  it('blocked senders: 550 5.7.1 with the diagnostic, and never to a sender SPF/DKIM cannot vouch for', () => {
    const blocked = decision('blocked-senders', { source: 'promo@mx1.spam.example' });
    expect(blocked.sendBounce!.BouncedRecipientInfoList[0]!.RecipientDsnFields.DiagnosticCode).toBe('smtp; 550 5.7.1 Sender blocked by example.com policy');
    const forged = decision('blocked-senders', { source: 'promo@mx1.spam.example', verdicts: { spf: 'FAIL', dkim: 'FAIL' } });
    expect(forged.recipients[0]).toMatchObject({ action: 'drop', guard: 'unauthenticated-sender' });
    expect(decision('blocked-senders', {}).recipients[0]!.action).toBe('deliver');
  });

  it('a full mailbox: a transient 452 4.2.2, still with Action failed', () => {
    const fields = decision('full-mailbox', { recipients: ['archive@example.com'] }).sendBounce!.BouncedRecipientInfoList[0]!.RecipientDsnFields;
    expect(fields).toMatchObject({ Action: 'failed', Status: '4.2.2', DiagnosticCode: 'smtp; 452 4.2.2 Mailbox full' });
  });

  it('dry-run: decides the bounce, marks it dryRun, and always continues', () => {
    const result = decision('dry-run', { recipients: ['ghost@example.com'] });
    expect(result).toMatchObject({ dryRun: true, disposition: 'CONTINUE', recipients: [{ action: 'bounce' }] });
  });
});
