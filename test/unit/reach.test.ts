import { parseAddressPattern } from '../../lambda/core/patterns.js';
import { reaches } from '../../lambda/core/reach.js';
import { parseRuleRecipient } from '../../lambda/core/ses-recipients.js';

// Which addresses SES passes to the function for a receipt rule recipient (SES Developer Guide,
// receipt rule recipient conditions), against each kind of policy pattern.
describe('a policy pattern reaches a receipt rule recipient', () => {
  it.each([
    // pattern, rule recipient, reaches?
    ['ghost@example.com', 'ghost@example.com', true],
    ['ghost+tag@example.com', 'ghost@example.com', true],
    ['ghost+*@example.com', 'ghost@example.com', true],
    ['ghost@example.com', 'other@example.com', false],
    ['ghost@example.com', 'example.com', true],
    ['ghost@example.com', '.example.com', false],
    ['ghost@sub.example.com', '.example.com', true],
    ['ghost@a.b.example.com', '.example.com', true],
    ['*@example.com', 'example.com', true],
    ['*@example.com', 'Example.COM', true],
    ['*@example.com', 'ghost@example.com', true],
    ['*@example.com', '.example.com', false],
    ['*@old.example.com', 'example.com', false],
    ['*@old.example.com', '.example.com', true],
    ['*@*.example.com', '.example.com', true],
    ['*@*.example.com', 'example.com', false],
    ['*@*.example.com', 'sub.example.com', true],
    ['*@*.example.com', 'ghost@sub.example.com', true],
    ['*@*.old.example.com', '.example.com', true],
    ['*@*.example.com', '.old.example.com', true],
    ['*@*.example.com', '.example.org', false],
    ['*@bücher.example', 'xn--bcher-kva.example', true],
  ])('%s → %s: %s', (pattern, recipient, expected) => {
    const parsed = parseAddressPattern(pattern);
    if (parsed === undefined || parsed.kind === 'list') throw new Error(`not a pattern: ${pattern}`);
    expect(reaches(parsed, parseRuleRecipient(recipient))).toBe(expected);
  });
});
