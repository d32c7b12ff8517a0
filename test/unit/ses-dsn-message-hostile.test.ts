// The DSN renderer against original headers no mail server would write: its cost stays linear.
import fc from 'fast-check';
import { renderDsnMessage } from '../../local/dsn-message.js';
import { minimalSendBounce } from '../support/send-bounce.js';

const REQUEST = minimalSendBounce();

function originalHeadersPart(value: string): string {
  const raw = renderDsnMessage(REQUEST, { messageId: 'id', date: new Date(0), originalHeaders: [{ name: 'Subject', value }] });
  const start = raw.indexOf('Content-Type: text/rfc822-headers');
  return raw.slice(raw.indexOf('\r\n\r\n', start) + 4, raw.lastIndexOf('\r\n--'));
}

describe('renderDsnMessage on hostile original headers', () => {
  it('renders a header value of a million spaces in linear time (the line-break pattern backtracked quadratically: 40,000 spaces took 2 s)', () => {
    const started = performance.now();
    originalHeadersPart(`${' '.repeat(1_000_000)}x`);
    renderDsnMessage(REQUEST, { messageId: 'id', date: new Date(0), originalHeaders: [{ name: 'Message-ID', value: `${' '.repeat(1_000_000)}<a@b>` }] });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('turns each run of whitespace holding a line break into one space, as before', () => {
    expect(originalHeadersPart('a \t\r\n \n  b\r\nc')).toBe('Subject: a b c\r\n');
  });

  it('neutralises line breaks exactly as the former pattern did, for any value', () => {
    const former = (value: string) => value.replace(/\s*[\r\n]+\s*/g, ' ').replace(/\p{Cc}/gu, ' ').trim();
    fc.assert(
      // At most 40 characters: one line, never folded, so the part holds the neutralised value as it is.
      fc.property(fc.array(fc.constantFrom('a', 'b', ' ', '\t', '\r', '\n', '\u00a0', '\u2028', '\u0000', 'é'), { maxLength: 40 }).map((chars) => chars.join('')), (value) => {
        expect(originalHeadersPart(value)).toBe(`Subject: ${former(value)}\r\n`);
      }),
    );
  });
});
