// Every string that reaches a SendBounce field or a log line passes through here: SES events
// are hostile input, and a CR or LF in a DSN field would be header injection (RFC 3464 §2.1).

// C0 controls, DEL, C1 controls and the Unicode line/paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Runs of control characters (global: for `replace`). */
export const CONTROL_RUNS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** An ISO 8601 date-time with a zone (`2026-11-24T09:20:00Z`, `…+01:00`): never read in the machine's time zone. */
export const ISO_DATE_TIME_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}

/** Control characters become one space, runs of spaces fold, the ends are trimmed, the length bounded. */
export function cleanText(value: string, maxLength: number): string {
  const folded = value.replace(CONTROL_RUNS, ' ').replace(/ {2,}/g, ' ').trim();
  return truncate(folded, maxLength);
}

/** For tokens (addresses, host names) where a space would change the meaning: control characters are removed. */
export function cleanToken(value: string, maxLength: number): string {
  return truncate(value.replace(CONTROL_RUNS, '').trim(), maxLength);
}

function truncate(value: string, maxLength: number): string {
  if (value.length <= maxLength) return value;
  // Do not cut a surrogate pair in half.
  const end = /[\ud800-\udbff]/.test(value.charAt(maxLength - 1)) ? maxLength - 1 : maxLength;
  return value.slice(0, end);
}
