import { parseAddress } from '../../lambda/core/address.js';
import { decide } from '../../lambda/core/decide.js';
import { MAX_ACCEPTED_RECIPIENTS, SES_RECEIVING_QUOTAS, splitIntoRules } from '../../lambda/core/ses-recipients.js';
import { record, SOON_AFTER } from '../support/events.js';
import { issuesWith, policyWith } from '../support/policies.js';

const BOUNCE_UNKNOWN = 'rules:\n  - { name: unknown, then: bounce, bounceType: DoesNotExist }';

function ruleRecipients(accept: string, extra = ''): readonly string[] {
  return policyWith(`accept: ${accept}\n${extra}\n${BOUNCE_UNKNOWN}`).accept!.ruleRecipients;
}

describe('accept: what SES receipt rules list', () => {
  it('compiles exact addresses, *@domain and *@*.domain to user@domain, domain and .domain, in the policy order', () => {
    expect(ruleRecipients('["alice@example.com", "*@example.org", "*@*.eng.example.net"]')).toEqual(['alice@example.com', 'example.org', '.eng.example.net']);
  });

  it('lists each recipient once, in its canonical form: lowercased, no trailing dot, A-labels', () => {
    expect(ruleRecipients('["Alice@Example.COM", "alice@example.com.", "*@Bücher.Example", "*@*.xn--bcher-kva.example", "*@*.BÜCHER.example."]')).toEqual([
      'alice@example.com',
      'xn--bcher-kva.example',
      '.xn--bcher-kva.example',
    ]);
  });

  it('leaves out what a domain-wide pattern already takes, wherever it stands, and nothing else', () => {
    expect(
      ruleRecipients('["bob@example.com", "*@example.com", "dev@ops.eng.example.com", "*@eng.example.com", "*@*.eng.example.com", "*@*.example.com", "*@example.org", "x@sub.example.org"]'),
    ).toEqual(['example.com', '.example.com', 'example.org', 'x@sub.example.org']);
    // `.example.com` is its subdomains only: the domain itself stays listed.
    expect(ruleRecipients('["*@*.example.com", "*@example.com", "a@example.com"]')).toEqual(['.example.com', 'example.com']);
  });

  it('expands lists, inline and from files, in place', () => {
    const accept = policyWith(`lists:\n  team: ["b@example.com", "a@example.com"]\n  more: { file: more.txt }\naccept: ["z@example.com", "@list:team", "@list:more"]\n${BOUNCE_UNKNOWN}`, {
      'more.txt': '# staff\nc@example.com\n\n*@*.lab.example.com\n',
    }).accept!;
    expect(accept.ruleRecipients).toEqual(['z@example.com', 'b@example.com', 'a@example.com', 'c@example.com', '.lab.example.com']);
    expect(accept.counts).toEqual({ addresses: 4, domains: 0, subdomains: 1, redundant: 0 });
  });

  it('takes an accepted address with any tag, in any case, as SES does; nothing else', () => {
    const accept = policyWith(`accept: ["alice@example.com", "*@example.org", "*@*.example.net"]\n${BOUNCE_UNKNOWN}`).accept!;
    const takes = (address: string) => accept.accepts(parseAddress(address));
    for (const address of ['alice@example.com', 'ALICE+News@Example.Com', 'alice+@example.com', 'anyone@example.org', 'x@a.b.example.net', '<Alice@example.com.>']) {
      expect([address, takes(address)]).toEqual([address, true]);
    }
    for (const address of ['bob@example.com', 'alice.x@example.com', 'alice@sub.example.com', 'x@sub.example.org', 'x@example.net', 'x@notexample.net', 'example.org', '']) {
      expect([address, takes(address)]).toEqual([address, false]);
    }
  });

  it('in dry-run, lists the domains of what it accepts: SES refuses nothing', () => {
    const accept = policyWith(`mode: dry-run\naccept: ["alice@example.com", "bob@example.com", "x@eng.example.com", "*@*.example.com", "*@example.org", "y@sub.example.net"]\n${BOUNCE_UNKNOWN}`).accept!;
    expect(accept.dryRunRecipients).toEqual(['example.com', '.example.com', 'example.org', 'sub.example.net']);
  });

  it('cuts the recipients into rules of at most 100, in order', () => {
    const recipients = Array.from({ length: 250 }, (_, i) => `u${i}@example.com`);
    const rules = splitIntoRules(recipients);
    expect(rules.map((rule) => rule.length)).toEqual([100, 100, 50]);
    expect(rules.flat()).toEqual(recipients);
    expect(SES_RECEIVING_QUOTAS).toEqual({ recipientsPerRule: 100, rulesPerRuleSet: 200, actionsPerRule: 10 });
  });
});

describe('accept: what SES cannot express is an error naming accept[i] and why', () => {
  const cases: [string, RegExp][] = [
    ['user+tag@example.com', /^accept\[0\]: a tagged address: SES lists user@example.com, which takes every tag of it/],
    ['user+*@example.com', /^accept\[0\]: SES receipt rules cannot tell tags apart: list user@example.com/],
    ['/^.*@example\\.com$/', /^accept\[0\]: a regular expression: SES receipt rules list exact addresses and domains only/],
    ['(alice|bob)@example.com', /^accept\[0\]: a regular expression/],
    ['jo*@example.com', /^accept\[0\]: SES receipt rules cannot match part of a local part/],
    ['alice@*.example.com', /^accept\[0\]: a user at every subdomain/],
    ['*@mail*.example.com', /^accept\[0\]: SES receipt rules take a whole domain \(\*@domain\) or all its subdomains/],
    ['example.com', /^accept\[0\]: not an address pattern: .* \(for the domain, \*@example\.com\)$/],
    ['ünï@example.com', /^accept\[0\]: a non-ASCII local part: SES does not support SMTPUTF8/],
    [`${'a'.repeat(65)}@example.com`, /^accept\[0\]: a local part longer than 64 octets/],
    ['alice@', /^accept\[0\]: not an address pattern SES receipt rules can express/],
    ['*@com', /^accept\[0\]: com is a top-level domain: list the domains themselves$/],
    ['*@*.com', /^accept\[0\]: com is a top-level domain/],
    ['user@1.2.3.4', /^accept\[0\]: 1\.2\.3\.4 is not a domain name \(an IP address\?\)/],
    ['user@[1.2.3.4]', /^accept\[0\]: an address literal \(\[1\.2\.3\.4\]\): SES receipt rules take domain names$/],
    ['.user@example.com', /^accept\[0\]: not a valid local part: a dot at either end or two in a row/],
    ['a..b@example.com', /^accept\[0\]: not a valid local part/],
    ['user.@example.com', /^accept\[0\]: not a valid local part/],
    ['+news@example.com', /^accept\[0\]: a local part that starts with '\+'/],
  ];
  it.each(cases)('%s', (pattern, message) => {
    const issues = issuesWith(`accept: [${JSON.stringify(pattern)}]\n${BOUNCE_UNKNOWN}`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(message);
  });

  it('checks each entry of a list that accept names, saying where it came from', () => {
    const issues = issuesWith(`lists:\n  team: ["ok@example.com", "bob+x@example.com"]\n  file: { file: team.txt }\naccept: ["a@example.com", "@list:team", "@list:file", "@list:none"]\n${BOUNCE_UNKNOWN}`, {
      'team.txt': 'ok2@example.com\ncarol+*@example.com\n',
    });
    expect(issues).toEqual([
      'accept[1]: bob+x@example.com (lists.team[1]): a tagged address: SES lists bob@example.com, which takes every tag of it; accept that instead',
      'accept[2]: carol+*@example.com (team.txt line 2): SES receipt rules cannot tell tags apart: list carol@example.com, which takes it with every tag (and untagged)',
      'accept[3]: unknown list "none"',
    ]);
  });

  it('lets a rule use tagged patterns of a list that accept does not name', () => {
    expect(() => policyWith(`lists:\n  tags: ["bob+x@example.com"]\naccept: ["*@example.com"]\nrules:\n  - { when: { recipient: "@list:tags" }, then: drop }`)).not.toThrow();
  });

  it('reports at most 20 bad entries of one list, then how many more', () => {
    const lines = Array.from({ length: 25 }, (_, i) => `u${i}+x@example.com`).join('\n');
    const issues = issuesWith(`lists:\n  big: { file: big.txt }\naccept: ["@list:big"]\n${BOUNCE_UNKNOWN}`, { 'big.txt': lines });
    expect(issues).toHaveLength(21);
    expect(issues[20]).toBe('accept[0]: and 5 more entries of list "big" that SES receipt rules cannot list');
  });

  it('refuses an empty accept: SES would refuse every address', () => {
    expect(issuesWith(`accept: []\n${BOUNCE_UNKNOWN}`)).toEqual(['accept: at least one pattern: remove accept to take every address of the receipt rule']);
  });

  it('refuses an accept whose lists are empty: it would compile to no receipt rule at all', () => {
    const issues = issuesWith(`lists:\n  none: { file: none.txt }\n  empty: []\naccept: ["@list:none", "@list:empty"]\n${BOUNCE_UNKNOWN}`, { 'none.txt': '# nobody yet\n\n' });
    expect(issues).toEqual(['accept: compiles to no recipient (its lists are empty): SES would refuse every address']);
  });

  it(`fits ${MAX_ACCEPTED_RECIPIENTS} recipients in one rule set, and refuses one more naming the quota`, () => {
    const file = (count: number) => ({ 'many.txt': Array.from({ length: count }, (_, i) => `user${i}@example.com`).join('\n') });
    const body = `lists:\n  many: { file: many.txt }\naccept: ["@list:many"]\n${BOUNCE_UNKNOWN}`;
    expect(policyWith(body, file(MAX_ACCEPTED_RECIPIENTS)).accept!.rulesNeeded).toBe(200);
    expect(issuesWith(body, file(MAX_ACCEPTED_RECIPIENTS + 1))).toEqual([
      "accept: compiles to 20001 receipt rule recipients, 201 receipt rules: over SES's quota of 200 rules per rule set at 100 recipients each (20000 recipients; SES service quotas). Accept whole domains (*@domain) where you can",
    ]);
  });
});

describe('accept: decisions', () => {
  const policy = policyWith(`accept: ["alice@example.com", "*@*.eng.example.com"]
rules:
  - { name: keep, when: { recipient: "keep@example.com" }, then: deliver }
  - { name: everyone, then: bounce, bounceType: DoesNotExist }`);

  it('reports a recipient outside accept as refuse, rule null, status 5.1.1, before any rule or guard', () => {
    const decision = decide(record({ recipients: ['nobody@example.com', 'Alice+X@example.com', 'keep@example.com', 'not an address'] }), policy, SOON_AFTER);
    expect(decision.recipients).toEqual([
      { address: 'nobody@example.com', action: 'refuse', rule: null, status: '5.1.1' },
      { address: 'alice+x@example.com', action: 'bounce', rule: 'everyone', bounceType: 'DoesNotExist', status: '5.1.1' },
      // A rule that would deliver it never sees it.
      { address: 'keep@example.com', action: 'refuse', rule: null, status: '5.1.1' },
      { address: 'not an address', action: 'refuse', rule: null, status: '5.1.1' },
    ]);
  });

  it('never lists a refused recipient in the SendBounce', () => {
    const decision = decide(record({ recipients: ['nobody@example.com', 'x@lab.eng.example.com'] }), policy, SOON_AFTER);
    expect(decision.sendBounce!.BouncedRecipientInfoList.map((r) => r.Recipient)).toEqual(['x@lab.eng.example.com']);
    expect(decide(record({ recipients: ['nobody@example.com'] }), policy, SOON_AFTER).sendBounce).toBeNull();
  });

  it('counts a refused recipient as not delivered', () => {
    expect(decide(record({ recipients: ['nobody@example.com'] }), policy, SOON_AFTER).disposition).toBe('STOP_RULE_SET');
    const delivering = policyWith('accept: ["a@example.com"]\nrules: []\ndefault: deliver');
    expect(decide(record({ recipients: ['nobody@example.com', 'a@example.com'] }), delivering, SOON_AFTER).disposition).toBe('CONTINUE');
  });

  it('refuses nothing without accept', () => {
    const decision = decide(record({ recipients: ['nobody@example.com'] }), policyWith(BOUNCE_UNKNOWN), SOON_AFTER);
    expect(decision.recipients.map((r) => r.action)).toEqual(['bounce']);
  });

  it('in dry-run, shows the refusal and still answers CONTINUE', () => {
    const dry = policyWith(`mode: dry-run\naccept: ["a@example.com"]\n${BOUNCE_UNKNOWN}`);
    const decision = decide(record({ recipients: ['b@example.com'] }), dry, SOON_AFTER);
    expect(decision).toMatchObject({ disposition: 'CONTINUE', dryRun: true, recipients: [{ action: 'refuse', rule: null, status: '5.1.1' }] });
  });
});
