// What SES accepts while CloudFormation moves from one accept list to the next. The rules are
// chained (each After the one before), so CloudFormation updates rule 1, then rule 2, …, creates
// new rules last and deletes rules no longer needed in its clean-up, after everything else
// (CloudFormation User Guide, "Update behaviors of stack resources"). An address that stays in
// accept must stay listed by some rule at every step, or SES refuses it (550 5.1.1) meanwhile.
import { splitIntoRules } from '../../lambda/core/ses-recipients.js';

/** Addresses kept by both lists that some intermediate state lists in no rule. */
function refusedWhileUpdating(before: readonly string[], after: readonly string[]): string[] {
  const old = splitIntoRules(before);
  const next = splitIntoRules(after);
  const kept = after.filter((address) => before.includes(address));
  const gaps = new Set<string>();
  const rules = old.map((rule) => [...rule]);
  const check = () => {
    const listed = new Set(rules.flat());
    for (const address of kept) if (!listed.has(address)) gaps.add(address);
  };
  for (let index = 0; index < next.length; index++) {
    rules[index] = [...next[index]!]; // update (or create) rule index+1
    check();
  }
  rules.length = next.length; // clean-up: rules no longer needed are deleted last
  check();
  return [...gaps];
}

const mailboxes = (count: number, from = 0) => Array.from({ length: count }, (_, i) => `user${String(from + i).padStart(5, '0')}@example.com`);

describe('changing accept across several rules', () => {
  it('appending addresses never leaves one that stays unlisted', () => {
    expect(refusedWhileUpdating(mailboxes(250), mailboxes(420))).toEqual([]);
  });

  it('removing addresses anywhere never leaves one that stays unlisted (each moves to the rule updated before its old one)', () => {
    const before = mailboxes(350);
    const after = before.filter((_, i) => i !== 3 && i !== 150 && i !== 299);
    expect(refusedWhileUpdating(before, after)).toEqual([]);
    expect(refusedWhileUpdating(before, before.slice(120))).toEqual([]);
  });

  it('inserting an address before others moves one address a rule forward, unlisted until its new rule is updated (README "Several rules")', () => {
    const before = mailboxes(250, 1);
    const after = [mailboxes(1)[0]!, ...before];
    expect(refusedWhileUpdating(before, after)).toEqual([before[99], before[199]]);
  });
});
